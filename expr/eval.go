package expr

import (
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBudget is the evaluation step budget used when Env.Budget is 0.
const DefaultBudget = 100000

// MaxValueSize is the largest string (or total size of a multi-valued value)
// a function may produce, in bytes. Producing more is an evaluation error.
const MaxValueSize = 1 << 20

// maxValues caps the number of values a function may produce.
const maxValues = 1 << 16

// Env is the environment an expression is evaluated in. The zero Env is
// usable: every attribute is null, the clock is the system clock in UTC,
// randomness comes from crypto/rand and no unique-value candidate is taken.
type Env struct {
	// Attr looks up a source attribute by its case-sensitive name. A nil
	// Attr makes every attribute null.
	Attr func(name string) Value
	// Now returns the current time; nil means time.Now().UTC(). It is
	// called at most once per evaluation.
	Now func() time.Time
	// Rand is the randomness source for Guid and RandomString; nil means
	// crypto/rand.
	Rand io.Reader
	// DefaultDomain is returned by DefaultDomain().
	DefaultDomain string
	// IsTaken reports whether a SelectUniqueValue candidate already exists
	// in the target. Nil means nothing is taken.
	IsTaken func(candidate string) (bool, error)
	// Budget is the maximum number of evaluation steps; 0 means
	// DefaultBudget. Each node costs one step and each produced or read
	// value costs one more step per 256 bytes; regular expressions cost
	// in proportion to input length times pattern length.
	Budget int
}

// Result is the outcome of evaluating an expression.
type Result struct {
	// Value is the computed value.
	Value Value
	// Ignore is set when IgnoreFlowIfNullOrEmpty found a null or empty
	// value: the target attribute must be dropped from the export.
	Ignore bool
	// Redacted is set when Redact() was used: logs must show "[Redact]"
	// instead of the value, while the value itself still flows.
	Redacted bool
}

// EvalError is a runtime error, positioned at the node that failed. Err,
// when set, is the underlying cause (for example an error returned by
// Env.IsTaken, or ErrNoUniqueValue).
type EvalError struct {
	Pos Pos
	Msg string
	Err error
}

// Error formats the error as expr:line:col: message.
func (e *EvalError) Error() string {
	return fmt.Sprintf("expr:%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Unwrap returns the underlying cause, if any.
func (e *EvalError) Unwrap() error { return e.Err }

// UserError is the error raised by the expression function Error("msg").
// Its message was written by the administrator and is safe to show.
type UserError struct {
	Msg string
}

// Error returns the administrator's message.
func (e *UserError) Error() string { return e.Msg }

// Eval parses and evaluates src in env. Parse errors are returned as *Error.
func Eval(src string, env *Env) (Result, error) {
	e, err := Parse(src)
	if err != nil {
		return Result{}, err
	}
	return e.Eval(env)
}

// Eval evaluates the expression in env (which may be nil). Runtime failures
// are *EvalError, Error("msg") yields *UserError.
func (e *Expr) Eval(env *Env) (Result, error) {
	if env == nil {
		env = &zeroEnv
	}
	// Fast path: a plain attribute mapping.
	if a, ok := e.Root.(*Attr); ok {
		if env.Attr == nil {
			return Result{}, nil
		}
		return Result{Value: env.Attr(a.Name)}, nil
	}
	st := statePool.Get().(*state)
	st.env = env
	st.budget = env.Budget
	if st.budget <= 0 {
		st.budget = DefaultBudget
	}
	v, err := st.eval(e.Root)
	res := Result{Value: v, Ignore: st.ignore, Redacted: st.redacted}
	st.release()
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

var zeroEnv Env

var statePool = sync.Pool{New: func() any { return &state{stack: make([]Value, 0, 32)} }}

// state is the per-evaluation machine state. It is pooled so that
// evaluation does not allocate in the common case.
type state struct {
	env        *Env
	steps      int
	budget     int
	stack      []Value // argument values of the calls being evaluated
	maxStack   int
	emptyAttrs int // attributes read so far that were null or ""
	ignore     bool
	redacted   bool
	now        time.Time
	haveNow    bool
}

func (st *state) release() {
	clear(st.stack[:st.maxStack])
	*st = state{stack: st.stack[:0]}
	statePool.Put(st)
}

func (st *state) errorf(n Node, format string, args ...any) error {
	return &EvalError{Pos: n.Pos(), Msg: fmt.Sprintf(format, args...)}
}

// charge adds the cost of handling nbytes of data to the step count.
func (st *state) charge(n Node, nbytes int) error {
	st.steps += nbytes >> 8
	if st.steps > st.budget {
		return st.errorf(n, "evaluation budget of %d steps exceeded", st.budget)
	}
	return nil
}

// produced checks the size of a value a function built and charges for it.
func (st *state) produced(n Node, size int) error {
	if size > MaxValueSize {
		return st.errorf(n, "%s: result is larger than %d bytes", funcName(n), MaxValueSize)
	}
	return st.charge(n, size)
}

func funcName(n Node) string {
	switch n := n.(type) {
	case *Call:
		return n.Name
	case *Binary:
		return "operator " + n.Op
	}
	return "expression"
}

func (st *state) getNow() time.Time {
	if !st.haveNow {
		if st.env.Now != nil {
			st.now = st.env.Now().UTC()
		} else {
			st.now = time.Now().UTC()
		}
		st.haveNow = true
	}
	return st.now
}

func (st *state) rand() io.Reader {
	if st.env.Rand != nil {
		return st.env.Rand
	}
	return rand.Reader
}

// eval evaluates one node.
func (st *state) eval(n Node) (Value, error) {
	st.steps++
	if st.steps > st.budget {
		return Value{}, st.errorf(n, "evaluation budget of %d steps exceeded", st.budget)
	}
	switch n := n.(type) {
	case *Attr:
		return st.attr(n)
	case *String:
		return Value{kind: kindStr, s: n.Value}, nil
	case *Number:
		return Value{kind: kindStr, s: n.decimal()}, nil
	case *Ident:
		return Value{kind: kindStr, s: n.Name}, nil
	case *Empty:
		return Value{}, nil
	case *Call:
		return st.call(n)
	case *Binary:
		return st.binary(n)
	case nil:
		return Value{}, &EvalError{Msg: "nil node"}
	}
	return Value{}, st.errorf(n, "unknown node type %T", n)
}

func (st *state) attr(n *Attr) (Value, error) {
	if st.env.Attr == nil {
		st.emptyAttrs++
		return Value{}, nil
	}
	v := st.env.Attr(n.Name)
	switch v.kind {
	case kindNull:
		st.emptyAttrs++
	case kindStr:
		if v.s == "" {
			st.emptyAttrs++
		}
		if len(v.s) >= 256 {
			return v, st.charge(n, len(v.s))
		}
	case kindMulti:
		if v.vs[0] == "" {
			st.emptyAttrs++
		}
		return v, st.charge(n, v.size()+len(v.vs)*16)
	}
	return v, nil
}

func (st *state) call(c *Call) (Value, error) {
	fn := c.fn
	if fn == nil { // a tree built by hand rather than by Parse
		if fn = lookupFunc(c.Name); fn == nil {
			return Value{}, st.errorf(c, "unknown function %q", c.Name)
		}
	}
	if len(c.Args) < fn.min || (fn.max >= 0 && len(c.Args) > fn.max) {
		return Value{}, st.errorf(c, "%s: wrong number of arguments (want %s, got %d)", fn.name, fn.arity(), len(c.Args))
	}
	if fn.lazy != nil {
		return fn.lazy(st, c)
	}
	base := len(st.stack)
	for _, a := range c.Args {
		v, err := st.eval(a)
		if err != nil {
			st.stack = st.stack[:base]
			return Value{}, err
		}
		st.stack = append(st.stack, v)
	}
	if len(st.stack) > st.maxStack {
		st.maxStack = len(st.stack)
	}
	top := len(st.stack)
	v, err := fn.eager(st, c, st.stack[base:top:top])
	st.stack = st.stack[:base]
	return v, err
}

func (st *state) binary(x *Binary) (Value, error) {
	l, err := st.eval(x.Left)
	if err != nil {
		return Value{}, err
	}
	r, err := st.eval(x.Right)
	if err != nil {
		return Value{}, err
	}
	if x.Op == "&" {
		ls, rs := l.String(), r.String()
		if err := st.produced(x, len(ls)+len(rs)); err != nil {
			return Value{}, err
		}
		return Str(ls + rs), nil
	}
	if l.kind == kindNull || r.kind == kindNull {
		return valFalse, nil
	}
	c := compareValues(l.String(), r.String())
	switch x.Op {
	case "=":
		return boolValue(c == 0), nil
	case "<>":
		return boolValue(c != 0), nil
	case "<":
		return boolValue(c < 0), nil
	case ">":
		return boolValue(c > 0), nil
	case "<=":
		return boolValue(c <= 0), nil
	case ">=":
		return boolValue(c >= 0), nil
	}
	return Value{}, st.errorf(x, "unknown operator %q", x.Op)
}

// compareValues compares two operands: numerically if both are numbers,
// as booleans (case-insensitively) if both are True/False, otherwise as
// case-sensitive ordinal strings.
func compareValues(a, b string) int {
	if x, ok := parseNumber(a); ok {
		if y, ok := parseNumber(b); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if x, ok := parseBool(a); ok {
		if y, ok := parseBool(b); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

// parseNumber parses a decimal or &H hex number, allowing surrounding
// spaces and a fraction.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if i, err := parseInteger(s); err == nil {
		return float64(i), true
	}
	c := s[0]
	if !(c == '-' || c == '+' || c == '.' || isDigit(rune(c))) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e300 || f < -1e300 {
		return 0, false
	}
	return f, true
}

// parseInteger parses a decimal or &H hex integer, allowing surrounding
// spaces and an integral fraction such as "3.0".
func parseInteger(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '&' && (s[1] == 'H' || s[1] == 'h') {
		return strconv.ParseInt(s[2:], 16, 64)
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return i, nil
	}
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) && f < 9e18 && f > -9e18 {
		return int64(f), nil
	}
	return 0, err
}

// parseBool recognizes "True" and "False" in any case.
func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// truthy is the boolean reading of a value used by IIF and CBool: "True"
// (any case) or a non-zero number is true; anything else is false.
func truthy(v Value) bool {
	s := strings.TrimSpace(v.String())
	if b, ok := parseBool(s); ok {
		return b
	}
	if f, ok := parseNumber(s); ok {
		return f != 0
	}
	return false
}

// arg returns args[i], or null when the argument was not given.
func arg(args []Value, i int) Value {
	if i < len(args) {
		return args[i]
	}
	return Value{}
}

// given reports whether argument i was written and evaluated to non-null.
func given(args []Value, i int) bool { return i < len(args) && args[i].kind != kindNull }

// intArg reads argument i as an integer; null or non-integer is an error.
func (st *state) intArg(c *Call, args []Value, i int) (int64, error) {
	name := c.Name
	pname := fmt.Sprintf("argument %d", i+1)
	if c.fn != nil && i < len(c.fn.params) {
		pname = c.fn.params[i].Name
	}
	v := arg(args, i)
	at := Node(c)
	if i < len(c.Args) {
		at = c.Args[i]
	}
	if v.kind == kindNull {
		return 0, st.errorf(at, "%s: %s is null, want an integer", name, pname)
	}
	n, err := parseInteger(v.String())
	if err != nil {
		return 0, st.errorf(at, "%s: %s must be an integer, got %s", name, pname, quote(clip(v.String(), 40)))
	}
	return n, nil
}

// clip shortens s for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

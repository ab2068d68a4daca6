package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest expression source accepted, in characters.
const MaxLength = 10000

// MaxDepth is how deeply calls, parentheses and operators may nest.
const MaxDepth = 100

// Error is a syntax error found by Parse, with the position it was found at.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats the error as expr:line:col: message.
func (e *Error) Error() string {
	return fmt.Sprintf("expr:%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// parser is a recursive-descent parser over the lexer's tokens.
type parser struct {
	lex    *lexer
	tok    token // current token
	depth  int
	attrs  []string
	seen   map[string]struct{}
	suv    []*Call // SelectUniqueValue calls seen
	failed *Error
}

// Parse parses expression source. It checks function names, argument
// counts and constant regular expressions, and returns an *Error on failure.
//
// Grammar:
//
//	expr    = concat [ cmpop concat ]          cmpop: = <> < > <= >=
//	concat  = operand { "&" operand }
//	operand = call | ident | "[" name "]" | string | number | "(" expr ")"
//	call    = name "(" [ arg { "," arg } ] ")"  (an arg may be empty)
func Parse(src string) (*Expr, error) {
	return parse(src, MaxLength)
}

// parse parses src, rejecting sources longer than maxLen characters.
// Canonical printing (String) adds spaces and escapes, so a printed
// expression may exceed MaxLength; tests reparse those with a larger limit.
func parse(src string, maxLen int) (e *Expr, err error) {
	if n := utf8.RuneCountInString(src); n > maxLen {
		l := newLexer(src)
		off := 0
		for i := 0; i < maxLen; i++ {
			_, w := utf8.DecodeRuneInString(src[off:])
			off += w
		}
		return nil, &Error{Pos: l.posAt(off), Msg: fmt.Sprintf("expression is longer than %d characters (%d)", maxLen, n)}
	}
	p := &parser{lex: newLexer(src)}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			e, err = nil, pe
		}
	}()
	p.advance()
	if p.tok.kind == tokEOF {
		p.failf(p.tok.pos, "empty expression")
	}
	root := p.parseExpr()
	if p.tok.kind != tokEOF {
		p.unexpected("after expression")
	}
	for _, c := range p.suv {
		if Node(c) != root {
			p.failf(c.At, "SelectUniqueValue must be the whole expression; it cannot be nested")
		}
	}
	return &Expr{Root: root, attrs: p.attrs}, nil
}

// failf aborts parsing with a positioned error.
func (p *parser) failf(pos Pos, format string, args ...any) {
	panic(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) advance() {
	p.tok = p.lex.nextToken()
	if p.tok.kind == tokError {
		p.failf(p.tok.pos, "%s", p.tok.val)
	}
}

func (p *parser) unexpected(context string) {
	p.failf(p.tok.pos, "unexpected %s %s", p.tok.describe(), context)
}

func (p *parser) enter(pos Pos) {
	p.depth++
	if p.depth > MaxDepth {
		p.failf(pos, "expression nested deeper than %d levels", MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// parseExpr parses a concatenation optionally compared with another.
func (p *parser) parseExpr() Node {
	left := p.parseConcat()
	if p.tok.kind != tokCompare {
		return left
	}
	op := p.tok
	p.advance()
	right := p.parseConcat()
	if p.tok.kind == tokCompare {
		p.failf(p.tok.pos, "unexpected %q: comparisons cannot be chained (nest IIF calls instead)", p.tok.val)
	}
	return &Binary{At: op.pos, Op: op.val, Left: left, Right: right}
}

// parseConcat parses operands joined by &.
func (p *parser) parseConcat() Node {
	left := p.parseOperand()
	depth := p.depth
	for p.tok.kind == tokConcat {
		op := p.tok
		p.enter(op.pos)
		p.advance()
		right := p.parseOperand()
		left = &Binary{At: op.pos, Op: "&", Left: left, Right: right}
	}
	p.depth = depth
	return left
}

func (p *parser) parseOperand() Node {
	t := p.tok
	p.enter(t.pos)
	defer p.leave()
	switch t.kind {
	case tokAttr:
		p.advance()
		if _, ok := p.seen[t.val]; !ok {
			if p.seen == nil {
				p.seen = map[string]struct{}{}
			}
			p.seen[t.val] = struct{}{}
			p.attrs = append(p.attrs, t.val)
		}
		return &Attr{At: t.pos, Name: t.val}
	case tokString:
		p.advance()
		return &String{At: t.pos, Value: t.val}
	case tokNumber:
		p.advance()
		v, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			p.failf(t.pos, "number %s out of range", t.val)
		}
		return &Number{At: t.pos, Text: t.val, Value: v, str: strconv.FormatInt(v, 10)}
	case tokHex:
		p.advance()
		v, err := strconv.ParseInt(t.val[2:], 16, 64)
		if err != nil {
			p.failf(t.pos, "number %s out of range", t.val)
		}
		return &Number{At: t.pos, Text: t.val, Value: v, str: strconv.FormatInt(v, 10)}
	case tokIdent:
		p.advance()
		if p.tok.kind == tokLParen {
			return p.parseCall(t)
		}
		if name, ok := enumWords[strings.ToLower(t.val)]; ok {
			return &Ident{At: t.pos, Name: name}
		}
		if fn := lookupFunc(t.val); fn != nil {
			p.failf(t.pos, "function %s must be called with parentheses: %s()", fn.name, fn.name)
		}
		p.failf(t.pos, "unknown identifier %q (attribute references need brackets: [%s])", t.val, t.val)
	case tokLParen:
		p.advance()
		inner := p.parseExpr()
		if p.tok.kind != tokRParen {
			p.unexpected(`(expected ")")`)
		}
		p.advance()
		return inner
	case tokEOF:
		p.failf(t.pos, "unexpected end of expression")
	}
	p.unexpected("(expected a function call, [attribute], \"string\" or number)")
	return nil
}

// parseCall parses the argument list of a call; the current token is '('.
func (p *parser) parseCall(name token) Node {
	fn := lookupFunc(name.val)
	if fn == nil {
		p.failf(name.pos, "unknown function %q", name.val)
	}
	c := &Call{At: name.pos, Name: fn.name, fn: fn}
	p.advance() // (
	if p.tok.kind == tokRParen {
		p.advance()
		p.check(c)
		return c
	}
	for {
		switch p.tok.kind {
		case tokComma, tokRParen:
			c.Args = append(c.Args, &Empty{At: p.tok.pos})
		default:
			c.Args = append(c.Args, p.parseExpr())
		}
		switch p.tok.kind {
		case tokComma:
			p.advance()
			continue
		case tokRParen:
			p.advance()
			p.check(c)
			return c
		case tokEOF:
			p.failf(p.tok.pos, "unexpected end of expression: missing \")\" to close %s(", c.Name)
		default:
			p.unexpected(`in argument list (expected "," or ")")`)
		}
	}
}

// check validates a call against the function table.
func (p *parser) check(c *Call) {
	fn := c.fn
	n := len(c.Args)
	if n < fn.min {
		p.failf(c.At, "%s: too few arguments (want %s, got %d)", fn.name, fn.arity(), n)
	}
	if fn.max >= 0 && n > fn.max {
		p.failf(c.Args[fn.max].Pos(), "%s: too many arguments (want %s, got %d)", fn.name, fn.arity(), n)
	}
	for i, a := range c.Args {
		if _, ok := a.(*Empty); !ok || i >= len(fn.params) {
			continue
		}
		if pr := fn.params[i]; pr.Required && !pr.AllowMultipleOccurrences {
			p.failf(a.Pos(), "%s: argument %d (%s) is required", fn.name, i+1, pr.Name)
		}
	}
	// A constant that can never be an integer fails every evaluation
	// that reaches it: say so now, where the schema is written.
	for i, a := range c.Args {
		if i >= len(fn.params) || fn.params[i].Type != tInteger || fn.params[i].AllowMultipleOccurrences {
			continue
		}
		text, constant := "", false
		switch a := a.(type) {
		case *String:
			text, constant = a.Value, true
		case *Ident:
			text, constant = a.Name, true
		}
		if _, err := parseInteger(text); constant && err != nil {
			p.failf(a.Pos(), "%s: %s must be an integer, got %s", fn.name, fn.params[i].Name, quote(clip(text, 40)))
		}
	}
	if fn.check != nil {
		if err := fn.check(c); err != nil {
			panic(err)
		}
	}
	if fn.name == "SelectUniqueValue" {
		p.suv = append(p.suv, c)
	}
}

// enumWords maps the lower-cased bare words the language accepts to their
// canonical spelling.
var enumWords = map[string]string{
	"vbtextcompare":   "vbTextCompare",
	"vbbinarycompare": "vbBinaryCompare",
	"utf8":            "UTF8",
	"unicode":         "Unicode",
	"ascii":           "ASCII",
	"true":            "True",
	"false":           "False",
	"ignorecase":      "IgnoreCase",
	"casesensitive":   "CaseSensitive",
}

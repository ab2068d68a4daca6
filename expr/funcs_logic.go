package expr

import (
	"errors"
	"strconv"
)

// ErrNoUniqueValue is wrapped by the *EvalError SelectUniqueValue returns
// when every candidate is already taken (the entry should be escrowed).
var ErrNoUniqueValue = errors.New("no unique value: every candidate is taken")

// IIF(condition, valueIfTrue, valueIfFalse). The condition is false when
// any attribute read while evaluating it is null or empty (documented
// limitation of the service); only the chosen branch is evaluated.
func fnIIF(st *state, c *Call) (Value, error) {
	before := st.emptyAttrs
	cond, err := st.eval(c.Args[0])
	if err != nil {
		return Value{}, err
	}
	if st.emptyAttrs == before && cond.kind != kindNull && truthy(cond) {
		return st.eval(c.Args[1])
	}
	return st.eval(c.Args[2])
}

// Switch(source, defaultValue, key1, value1, ...): case-sensitive exact
// match; a null source or key compares as "". Only the chosen value is
// evaluated; a missing default yields null.
func fnSwitch(st *state, c *Call) (Value, error) {
	src, err := st.eval(c.Args[0])
	if err != nil {
		return Value{}, err
	}
	s := src.String()
	for i := 2; i+1 < len(c.Args); i += 2 {
		k, err := st.eval(c.Args[i])
		if err != nil {
			return Value{}, err
		}
		if k.String() == s {
			return st.eval(c.Args[i+1])
		}
	}
	return st.eval(c.Args[1])
}

// Coalesce(source1, ..., defaultValue): the first argument that is not
// null, evaluated left to right (a multi-valued source is returned whole).
func fnCoalesce(st *state, c *Call) (Value, error) {
	for _, a := range c.Args {
		v, err := st.eval(a)
		if err != nil || v.kind != kindNull {
			return v, err
		}
	}
	return Value{}, nil
}

// SelectUniqueValue(rule1, rule2, ...): the first non-empty candidate for
// which Env.IsTaken reports false. Rules are evaluated lazily.
func fnSelectUniqueValue(st *state, c *Call) (Value, error) {
	for _, a := range c.Args {
		v, err := st.eval(a)
		if err != nil {
			return Value{}, err
		}
		if v.isNullOrEmpty() {
			continue
		}
		cand := v.String()
		if st.env.IsTaken == nil {
			return Str(cand), nil
		}
		taken, err := st.env.IsTaken(cand)
		if err != nil {
			return Value{}, &EvalError{Pos: a.Pos(), Msg: "SelectUniqueValue: checking " + quote(clip(cand, 60)) + ": " + err.Error(), Err: err}
		}
		if !taken {
			return Str(cand), nil
		}
	}
	return Value{}, &EvalError{Pos: c.At, Msg: "SelectUniqueValue: every candidate value is already taken", Err: ErrNoUniqueValue}
}

func fnIsNull(_ *state, _ *Call, args []Value) (Value, error) {
	return boolValue(args[0].kind == kindNull), nil
}

func fnIsNullOrEmpty(_ *state, _ *Call, args []Value) (Value, error) {
	return boolValue(args[0].isNullOrEmpty()), nil
}

func fnIsPresent(_ *state, _ *Call, args []Value) (Value, error) {
	return boolValue(!args[0].isNullOrEmpty()), nil
}

// IsString is True for a single (non-null) string; null and multi-valued
// values are not strings.
func fnIsString(_ *state, _ *Call, args []Value) (Value, error) {
	return boolValue(args[0].kind == kindStr), nil
}

// Not returns "False" for "True" (any case) and "True" for anything else,
// null included, as documented.
func fnNot(_ *state, _ *Call, args []Value) (Value, error) {
	b, ok := parseBool(args[0].String())
	return boolValue(!(ok && b)), nil
}

// CBool: "True" for True or a non-zero number, else "False"; null → null.
func fnCBool(_ *state, _ *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	return boolValue(truthy(args[0])), nil
}

// CStr (and CRef): the first value as a string; null → null.
func fnCStr(_ *state, _ *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	return Str(args[0].String()), nil
}

func fnIgnoreFlowIfNullOrEmpty(st *state, _ *Call, args []Value) (Value, error) {
	if args[0].isNullOrEmpty() {
		st.ignore = true
	}
	return args[0], nil
}

func fnRedact(st *state, _ *Call, args []Value) (Value, error) {
	st.redacted = true
	return args[0], nil
}

func fnError(_ *state, _ *Call, args []Value) (Value, error) {
	return Value{}, &UserError{Msg: args[0].String()}
}

// DefaultDomain returns Env.DefaultDomain, or null when it is not set.
func fnDefaultDomain(st *state, _ *Call, _ []Value) (Value, error) {
	if st.env.DefaultDomain == "" {
		return Value{}, nil
	}
	return Str(st.env.DefaultDomain), nil
}

// BitAnd(value1, value2): bitwise AND of two integers (decimal or &H).
func fnBitAnd(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull || args[1].kind == kindNull {
		return Value{}, nil
	}
	a, err := st.intArg(c, args, 0)
	if err != nil {
		return Value{}, err
	}
	b, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	return Str(strconv.FormatInt(a&b, 10)), nil
}

package expr

import "strings"

type valueKind uint8

const (
	kindNull valueKind = iota
	kindStr
	kindMulti
)

// Value is what attributes hold and expressions produce: null, a single
// string, or a multi-valued list of strings. Booleans travel as "True" and
// "False", numbers as decimal strings and dates as "M/d/yyyy h:mm:ss tt"
// (UTC). The zero Value is null.
type Value struct {
	kind valueKind
	s    string
	vs   []string
}

// Null returns the null value (an absent attribute).
func Null() Value { return Value{} }

// Str returns a single-valued string value.
func Str(s string) Value { return Value{kind: kindStr, s: s} }

// Multi returns a multi-valued value. An empty or nil slice yields null.
// The slice is not copied; callers must not modify it afterwards.
func Multi(vs []string) Value {
	if len(vs) == 0 {
		return Value{}
	}
	return Value{kind: kindMulti, vs: vs}
}

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.kind == kindNull }

// IsMulti reports whether v is multi-valued.
func (v Value) IsMulti() bool { return v.kind == kindMulti }

// Strings returns every value of v: nil for null, one element for a single
// string. The result is a fresh slice.
func (v Value) Strings() []string {
	switch v.kind {
	case kindStr:
		return []string{v.s}
	case kindMulti:
		return append([]string(nil), v.vs...)
	}
	return nil
}

// String returns the first value of v, or "" for null.
func (v Value) String() string {
	switch v.kind {
	case kindStr:
		return v.s
	case kindMulti:
		return v.vs[0]
	}
	return ""
}

// Len returns the number of values: 0 for null, 1 for a single string.
func (v Value) Len() int {
	switch v.kind {
	case kindStr:
		return 1
	case kindMulti:
		return len(v.vs)
	}
	return 0
}

// GoString renders v for debugging and test failure messages.
func (v Value) GoString() string {
	switch v.kind {
	case kindStr:
		return "Str(" + quote(v.s) + ")"
	case kindMulti:
		q := make([]string, len(v.vs))
		for i, s := range v.vs {
			q[i] = quote(s)
		}
		return "Multi([" + strings.Join(q, ", ") + "])"
	}
	return "Null()"
}

// Equal reports whether v and w hold the same kind and the same values.
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case kindStr:
		return v.s == w.s
	case kindMulti:
		if len(v.vs) != len(w.vs) {
			return false
		}
		for i := range v.vs {
			if v.vs[i] != w.vs[i] {
				return false
			}
		}
	}
	return true
}

// isNullOrEmpty reports whether v is null or its first value is "".
func (v Value) isNullOrEmpty() bool {
	return v.kind == kindNull || v.String() == ""
}

// size is the total byte length of v's values.
func (v Value) size() int {
	switch v.kind {
	case kindStr:
		return len(v.s)
	case kindMulti:
		n := 0
		for _, s := range v.vs {
			n += len(s)
		}
		return n
	}
	return 0
}

var (
	valTrue  = Str("True")
	valFalse = Str("False")
)

func boolValue(b bool) Value {
	if b {
		return valTrue
	}
	return valFalse
}

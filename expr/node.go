package expr

import (
	"regexp"
	"strconv"
	"strings"
)

// Pos is a 1-based line and column (counted in characters) in expression source.
type Pos struct {
	Line, Col int
}

// Node is an element of the syntax tree: *Call, *Attr, *String, *Number,
// *Ident, *Empty or *Binary (the set is closed). Pos is the node's source
// position (for a Binary, its operator's); String prints the node as
// canonical expression source.
type Node interface {
	Pos() Pos
	String() string
	writeTo(b *strings.Builder)
}

// Expr is a parsed expression. It is immutable and safe for concurrent use
// by multiple goroutines.
type Expr struct {
	// Root is the top node of the syntax tree.
	Root  Node
	attrs []string
}

// String returns the canonical source of the expression: canonical
// function and enum names, ", " between arguments, spaces around
// operators, only the parentheses the grammar needs, \ and \" escapes.
// Parsing it again yields an equal tree. (The canonical form can be longer
// than the source it was parsed from, and so in rare cases exceed MaxLength.)
func (e *Expr) String() string {
	if e == nil || e.Root == nil {
		return ""
	}
	return e.Root.String()
}

// Attributes returns every attribute referenced by the expression, in order
// of first appearance, without duplicates.
func (e *Expr) Attributes() []string {
	if e.attrs == nil && e.Root != nil {
		return collectAttrs(e.Root)
	}
	return append([]string(nil), e.attrs...)
}

func collectAttrs(root Node) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *Attr:
			if !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n.Name)
			}
		case *Call:
			for _, a := range n.Args {
				walk(a)
			}
		case *Binary:
			walk(n.Left)
			walk(n.Right)
		}
	}
	walk(root)
	return out
}

// Call is a function call such as Join(" ", [givenName], [surname]).
type Call struct {
	At Pos // position of the function name
	// Name is the canonical spelling of the function name (e.g. "Join"
	// whatever the case in the source).
	Name string
	Args []Node

	fn     *funcDef       // resolved at parse time
	re     *regexp.Regexp // pre-compiled constant regex (Replace)
	reSize int            // its estimated program size
}

// Pos returns the position of the function name.
func (c *Call) Pos() Pos { return c.At }

// String returns the call as canonical source.
func (c *Call) String() string { return nodeString(c) }

func (c *Call) writeTo(b *strings.Builder) {
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.writeTo(b)
	}
	b.WriteByte(')')
}

// Attr is a reference to a source attribute, written [name].
type Attr struct {
	At   Pos // position of the '['
	Name string
}

// Pos returns the position of the opening bracket.
func (a *Attr) Pos() Pos { return a.At }

// String returns the reference as canonical source.
func (a *Attr) String() string { return "[" + a.Name + "]" }

func (a *Attr) writeTo(b *strings.Builder) {
	b.WriteByte('[')
	b.WriteString(a.Name)
	b.WriteByte(']')
}

// String is a string constant; Value is the decoded text.
type String struct {
	At    Pos // position of the opening quote
	Value string
}

// Pos returns the position of the opening quote.
func (s *String) Pos() Pos { return s.At }

// String returns the constant as canonical source, escaping \ and ".
func (s *String) String() string { return quote(s.Value) }

func (s *String) writeTo(b *strings.Builder) { writeQuoted(b, s.Value) }

// Number is an integer constant, decimal (possibly negative) or hexadecimal
// (&HF7). Text is the source text; Value the number.
type Number struct {
	At    Pos // position of the first character
	Text  string
	Value int64

	str string // decimal rendering, cached at parse time
}

// Pos returns the position of the first character of the number.
func (n *Number) Pos() Pos { return n.At }

// String returns the number as canonical source: decimal, or &H followed by
// upper-case hex digits for hex literals.
func (n *Number) String() string { return nodeString(n) }

func (n *Number) writeTo(b *strings.Builder) {
	if isHexText(n.Text) && n.Value >= 0 {
		b.WriteString("&H")
		b.WriteString(strings.ToUpper(strconv.FormatInt(n.Value, 16)))
		return
	}
	b.WriteString(strconv.FormatInt(n.Value, 10))
}

func isHexText(s string) bool { return len(s) > 1 && s[0] == '&' }

// decimal returns the value as a decimal string.
func (n *Number) decimal() string {
	if n.str != "" {
		return n.str
	}
	return strconv.FormatInt(n.Value, 10)
}

// Ident is a bare enumeration word such as vbTextCompare or UTF8. Name is
// the canonical spelling.
type Ident struct {
	At   Pos // position of the word
	Name string
}

// Pos returns the position of the word.
func (i *Ident) Pos() Pos { return i.At }

// String returns the word.
func (i *Ident) String() string { return i.Name }

func (i *Ident) writeTo(b *strings.Builder) { b.WriteString(i.Name) }

// Empty is a skipped positional argument, as in Replace([mail], "x", , , "", , ).
// It evaluates to null.
type Empty struct {
	At Pos // position of the ',' or ')' that ends the gap
}

// Pos returns the position of the token after the gap (',' or ')').
func (e *Empty) Pos() Pos { return e.At }

// String returns the empty string.
func (e *Empty) String() string { return "" }

func (e *Empty) writeTo(*strings.Builder) {}

// Binary is a comparison (=, <>, <, >, <=, >=) or a concatenation (&).
type Binary struct {
	At          Pos // position of the operator
	Op          string
	Left, Right Node
}

// Pos returns the position of the operator.
func (x *Binary) Pos() Pos { return x.At }

// String returns the operation as canonical source, parenthesizing operands
// where the grammar needs it.
func (x *Binary) String() string { return nodeString(x) }

func (x *Binary) writeTo(b *strings.Builder) {
	p := precedence(x.Op)
	writeOperand(b, x.Left, p, false)
	b.WriteByte(' ')
	b.WriteString(x.Op)
	b.WriteByte(' ')
	writeOperand(b, x.Right, p, true)
}

// precedence: & binds tighter than comparisons.
func precedence(op string) int {
	if op == "&" {
		return 2
	}
	return 1
}

// writeOperand writes an operand of a binary operator with precedence p.
// Concatenation is left-associative and comparisons do not chain, so a
// binary operand needs parentheses if it binds more loosely, or equally on
// the right side (or on either side for comparisons).
func writeOperand(b *strings.Builder, n Node, p int, right bool) {
	if c, ok := n.(*Binary); ok {
		cp := precedence(c.Op)
		if cp < p || (cp == p && (right || p == 1)) {
			b.WriteByte('(')
			c.writeTo(b)
			b.WriteByte(')')
			return
		}
	}
	if _, ok := n.(*Empty); ok {
		// An empty operand cannot be written; print an empty string constant.
		b.WriteString(`""`)
		return
	}
	n.writeTo(b)
}

func nodeString(n Node) string {
	var b strings.Builder
	n.writeTo(&b)
	return b.String()
}

func quote(s string) string {
	var b strings.Builder
	writeQuoted(&b, s)
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
}

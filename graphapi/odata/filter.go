package odata

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxFilterDepth caps parenthesis nesting in $filter.
const maxFilterDepth = 32

// The $filter grammar accepted:
//
//	filter := clause { "and" clause }
//	clause := "(" filter ")" | prop "eq" literal | "startswith(" prop "," string ")"
//	literal := 'string' ('' inside doubles a quote) | true | false | null
//
// Property names and keywords are case-insensitive; string comparison is
// too, as in Entra ID.
//
// Fields made with WithFilter accept the comparison grammar instead, parsed
// into Query.Where:
//
//	filter := conj { "or" conj }
//	conj := clause { "and" clause }
//	clause := "(" filter ")" | prop op literal | ("startswith"|"contains") "(" prop "," string ")"
//	op := eq | ne | gt | ge | lt | le
//	literal := 'string' | true | false | null | a date-time (2026-01-02T03:04:05Z)
//
// where prop may be a path (sourceIdentity/id).

type tokenType int

const (
	tokEOF tokenType = iota
	tokIdent
	tokString
	tokNumber
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	typ tokenType
	val string // identifier, unquoted string, or the raw text
	pos int    // byte offset in the $filter value
}

func lexFilter(src string, paths bool) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, unsupported("the string starting at position %d has no closing quote (double a quote inside a string: 'O''Neil')", i)
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			toks = append(toks, token{tokString, b.String(), i})
			i = j + 1
		case guidAt(src[i:]):
			toks = append(toks, token{tokString, src[i : i+36], i})
			i += 36
		case isIdentStart(c):
			j := i
			for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9' || paths && src[j] == '/') {
				j++
			}
			toks = append(toks, token{tokIdent, src[i:j], i})
			i = j
		case c >= '0' && c <= '9' || c == '-':
			j := i + 1
			for j < len(src) && strings.IndexByte("0123456789.eE+-:TZ", src[j]) >= 0 {
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j], i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, unsupported("unexpected character '%c' at position %d", r, i)
		}
	}
	return append(toks, token{tokEOF, "", len(src)}), nil
}

// guidLiteral matches an unquoted GUID, which OData allows for Edm.Guid
// properties (resourceId eq 8d3e...); it is compared as a string.
var guidLiteral = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

func guidAt(s string) bool {
	if !guidLiteral.MatchString(s) {
		return false
	}
	return len(s) == 36 || !isIdentStart(s[36]) && (s[36] < '0' || s[36] > '9') && s[36] != '-'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

type filterParser struct {
	toks []token
	i    int
	f    Fields
	out  []Cond
	// rich: the comparison grammar, building Expr values.
	rich bool
}

// unsupported is the "Unsupported query." error of the grammar in use.
func (p *filterParser) unsupported(format string, args ...any) *Error {
	if p.rich {
		return unsupportedRich(format, args...)
	}
	return unsupported(format, args...)
}

// parseFilter parses a $filter value into clauses that must all hold.
func parseFilter(src string, f Fields) ([]Cond, error) {
	if strings.TrimSpace(src) == "" {
		return nil, badRequest("The $filter value is empty; give an expression such as displayName eq 'x'.")
	}
	toks, err := lexFilter(src, false)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, f: f}
	if _, err := p.and(0); err != nil {
		return nil, err
	}
	if t := p.peek(); t.typ != tokEOF {
		return nil, unsupported("'%s' at position %d is not supported", describe(t), t.pos)
	}
	return p.out, nil
}

// parseWhere parses a $filter value in the comparison grammar against the
// filterable properties f.
func parseWhere(src string, f Fields) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, badRequest("The $filter value is empty; give an expression such as jobId eq 'x'.")
	}
	toks, err := lexFilter(src, true)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == "Request_UnsupportedQuery" {
			e.Message = strings.Replace(e.Message, supportedSimple, supportedRich, 1)
		}
		return nil, err
	}
	p := &filterParser{toks: toks, f: f, rich: true}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.typ != tokEOF {
		return nil, p.unsupported("'%s' at position %d is not supported", describe(t), t.pos)
	}
	return e, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }

func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.typ != tokEOF {
		p.i++
	}
	return t
}

func describe(t token) string {
	switch t.typ {
	case tokEOF:
		return "the end of the expression"
	case tokString:
		return "'" + strings.ReplaceAll(t.val, "'", "''") + "'"
	}
	return t.val
}

// or parses a disjunction (the comparison grammar only).
func (p *filterParser) or(depth int) (*Expr, error) {
	return p.chain(depth, "or", p.and)
}

func (p *filterParser) and(depth int) (*Expr, error) {
	return p.chain(depth, "and", p.clause)
}

// chain parses operand { op operand }, flattened into one Expr.
func (p *filterParser) chain(depth int, op string, operand func(int) (*Expr, error)) (*Expr, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	e := &Expr{Op: op, Args: []Expr{*first}}
	for {
		t := p.peek()
		if t.typ != tokIdent || !strings.EqualFold(t.val, op) {
			break
		}
		p.next()
		x, err := operand(depth)
		if err != nil {
			return nil, err
		}
		e.Args = append(e.Args, *x)
	}
	if len(e.Args) == 1 {
		return first, nil
	}
	return e, nil
}

func (p *filterParser) clause(depth int) (*Expr, error) {
	t := p.next()
	switch {
	case t.typ == tokLParen:
		if depth >= maxFilterDepth {
			return nil, p.unsupported("parentheses nest deeper than %d", maxFilterDepth)
		}
		inner := p.and
		if p.rich {
			inner = p.or
		}
		e, err := inner(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.typ != tokRParen {
			return nil, p.unsupported("expected ')' at position %d but found %s", c.pos, describe(c))
		}
		return e, nil
	case t.typ != tokIdent:
		return nil, p.unsupported("expected a property name at position %d but found %s", t.pos, describe(t))
	case p.peek().typ == tokLParen:
		if !strings.EqualFold(t.val, "startswith") && !(p.rich && strings.EqualFold(t.val, "contains")) {
			return nil, p.unsupported("the function '%s' is not supported", t.val)
		}
		return p.startsWith(t)
	case strings.EqualFold(t.val, "not"):
		return nil, p.unsupported("'not' is not supported")
	}
	prop, k, err := p.property(t)
	if err != nil {
		return nil, err
	}
	op := p.next()
	if op.typ == tokEOF {
		what := "eq"
		if p.rich {
			what = "an operator"
		}
		return nil, p.unsupported("'%s' must be followed by %s and a value, but the expression ends", t.val, what)
	}
	opName := strings.ToLower(op.val)
	if op.typ != tokIdent || !(opName == "eq" || p.rich && slices.Contains(compareOps, opName)) {
		return nil, p.unsupported("the operator %s after '%s' is not supported", quoteTok(op), t.val)
	}
	v := p.next()
	var val any
	switch {
	case v.typ == tokEOF:
		return nil, p.unsupported("'%s %s' must be followed by a value, but the expression ends", t.val, opName)
	case k == KindDateTime && (v.typ == tokNumber || v.typ == tokString):
		tm, ok := parseDateTime(v.val)
		if !ok {
			return nil, badRequest("Invalid $filter: '%s' is Edm.DateTimeOffset; compare it with a date-time such as 2026-01-02T03:04:05Z, not %s.", prop, quoteTok(v))
		}
		val = tm
	case v.typ == tokString:
		val = v.val
	case v.typ == tokIdent && strings.EqualFold(v.val, "true"):
		val = true
	case v.typ == tokIdent && strings.EqualFold(v.val, "false"):
		val = false
	case v.typ == tokIdent && strings.EqualFold(v.val, "null"):
		val = nil
	default:
		return nil, p.unsupported("the value %s at position %d is not supported", quoteTok(v), v.pos)
	}
	switch {
	case k == KindString && val != nil:
		if _, ok := val.(string); !ok {
			return nil, badRequest("Invalid $filter: '%s' is Edm.String; compare it with a quoted string, e.g. %s eq 'text'.", prop, prop)
		}
	case k == KindBool && val != nil:
		if _, ok := val.(bool); !ok {
			return nil, badRequest("Invalid $filter: '%s' is Edm.Boolean; compare it with true or false (no quotes).", prop)
		}
	case k == KindDateTime:
		if _, ok := val.(time.Time); !ok {
			return nil, badRequest("Invalid $filter: '%s' is Edm.DateTimeOffset; compare it with a date-time such as 2026-01-02T03:04:05Z.", prop)
		}
	case k == KindStrings || k == KindObject:
		return nil, p.unsupported("filtering on '%s' (%s) is not supported", prop, k.EDM())
	}
	p.out = append(p.out, Cond{Prop: prop, Val: val})
	return &Expr{Op: opName, Prop: prop, Val: val}, nil
}

// compareOps are the comparison grammar's operators.
var compareOps = []string{"eq", "ne", "gt", "ge", "lt", "le"}

// parseDateTime reads an Edm.DateTimeOffset literal, or a date (midnight UTC).
func parseDateTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func quoteTok(t token) string {
	if t.typ == tokEOF || t.typ == tokString {
		return describe(t)
	}
	return "'" + t.val + "'"
}

func (p *filterParser) property(t token) (string, Kind, error) {
	if t.typ != tokIdent {
		return "", 0, p.unsupported("expected a property name at position %d but found %s", t.pos, describe(t))
	}
	switch strings.ToLower(t.val) {
	case "and", "or", "eq", "ne", "true", "false", "null":
		return "", 0, p.unsupported("'%s' at position %d is not supported here", t.val, t.pos)
	}
	prop, k, ok := p.f.Lookup(t.val)
	if !ok {
		return "", 0, p.f.noSuchProperty(t.val)
	}
	return prop, k, nil
}

// startsWith parses startswith(prop,'prefix') or contains(prop,'part');
// fn is the name token.
func (p *filterParser) startsWith(fn token) (*Expr, error) {
	name := strings.ToLower(fn.val)
	p.next() // (
	prop, k, err := p.property(p.next())
	if err != nil {
		return nil, err
	}
	if k != KindString && k != KindAny {
		return nil, p.unsupported("%s on '%s' (%s) is not supported; it needs a string property", name, prop, k.EDM())
	}
	if c := p.next(); c.typ != tokComma {
		return nil, p.unsupported("expected ',' at position %d in %s but found %s", c.pos, name, describe(c))
	}
	v := p.next()
	if v.typ != tokString {
		what := "prefix"
		if name == "contains" {
			what = "to look for"
		}
		return nil, p.unsupported("%s needs a quoted string %s; found %s at position %d", name, what, describe(v), v.pos)
	}
	if c := p.next(); c.typ != tokRParen {
		return nil, p.unsupported("expected ')' at position %d to close %s but found %s", c.pos, name, describe(c))
	}
	p.out = append(p.out, Cond{Prop: prop, Prefix: true, Val: v.val})
	return &Expr{Op: name, Prop: prop, Val: v.val}, nil
}

package scimserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"provisiond/connector/scim/scimjson"
)

// maxFilterDepth bounds nesting of parentheses, "not" and value filters.
const maxFilterDepth = 32

// Filter is a parsed RFC 7644 §3.4.2.2 filter.
type Filter interface {
	// Match reports whether the resource (or multi-valued element) matches.
	Match(resource map[string]any) bool
	// String prints the filter in canonical form.
	String() string
}

// AttrPath is an attribute path: [schema ":"] attr ["[" filter "]"] ["." sub].
type AttrPath struct {
	Schema string
	Attr   string
	Filter Filter // a value filter on a multi-valued attribute, or nil
	Sub    string
}

// String prints the path in canonical form.
func (p AttrPath) String() string {
	var b strings.Builder
	if p.Schema != "" {
		b.WriteString(p.Schema + ":")
	}
	b.WriteString(p.Attr)
	if p.Filter != nil {
		b.WriteString("[" + p.Filter.String() + "]")
	}
	if p.Sub != "" {
		b.WriteString("." + p.Sub)
	}
	return b.String()
}

type logicalExpr struct {
	and  bool
	l, r Filter
}

type notExpr struct{ x Filter }

type compareExpr struct {
	path  AttrPath
	op    string // eq ne co sw ew gt ge lt le
	value any    // string, bool, json.Number or nil
}

type presentExpr struct{ path AttrPath }

// valuePathExpr is `emails[type eq "work"]` used as a condition: some
// element of the attribute matches.
type valuePathExpr struct{ path AttrPath }

func (e logicalExpr) Match(r map[string]any) bool {
	if e.and {
		return e.l.Match(r) && e.r.Match(r)
	}
	return e.l.Match(r) || e.r.Match(r)
}

// String prints the minimum of parentheses that parses back to the same
// tree: and binds tighter than or, both associate to the left.
func (e logicalExpr) String() string {
	op := " or "
	if e.and {
		op = " and "
	}
	wrap := func(f Filter, right bool) string {
		if c, ok := f.(logicalExpr); ok && (right && c.and == e.and || e.and && !c.and) {
			return "(" + f.String() + ")"
		}
		return f.String()
	}
	return wrap(e.l, false) + op + wrap(e.r, true)
}

func (e notExpr) Match(r map[string]any) bool { return !e.x.Match(r) }
func (e notExpr) String() string              { return "not (" + e.x.String() + ")" }

func (e presentExpr) Match(r map[string]any) bool {
	for _, v := range resolve(r, e.path) {
		if s, ok := v.(string); !ok || s != "" {
			return true
		}
	}
	return false
}
func (e presentExpr) String() string { return e.path.String() + " pr" }

func (e valuePathExpr) Match(r map[string]any) bool {
	return len(elements(r, e.path)) > 0
}
func (e valuePathExpr) String() string { return e.path.String() }

func (e compareExpr) String() string {
	v := "null"
	switch x := e.value.(type) {
	case string:
		v = quote(x)
	case bool:
		v = strconv.FormatBool(x)
	case json.Number:
		v = x.String()
	}
	return e.path.String() + " " + e.op + " " + v
}

// quote writes s as a JSON string literal that escapes only what it must
// (invalid UTF-8 becomes U+FFFD first), so printing is stable.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (e compareExpr) Match(r map[string]any) bool {
	vals := resolve(r, e.path)
	if e.op == "ne" {
		return !compareExpr{e.path, "eq", e.value}.Match(r)
	}
	if e.value == nil {
		return e.op == "eq" && len(vals) == 0
	}
	exact := caseExact(e.path)
	for _, v := range vals {
		if compareValue(v, e.op, e.value, exact) {
			return true
		}
	}
	return false
}

// caseExact reports whether string comparisons on the path are
// case-sensitive: ids and externalId (RFC 7643 caseExact=true), member
// references; everything else, userName included, is not.
func caseExact(p AttrPath) bool {
	name := p.Attr
	if p.Sub != "" {
		if strings.EqualFold(p.Sub, "value") && (strings.EqualFold(p.Attr, "members") || strings.EqualFold(p.Attr, "groups")) {
			return true
		}
		name = p.Sub
	}
	return strings.EqualFold(name, "id") || strings.EqualFold(name, "externalId")
}

func compareValue(actual any, op string, want any, exact bool) bool {
	switch w := want.(type) {
	case bool:
		switch a := actual.(type) {
		case bool:
			return op == "eq" && a == w
		case string:
			return op == "eq" && strings.EqualFold(a, strconv.FormatBool(w))
		}
		return false
	case json.Number:
		a, ok := toFloat(actual)
		wf, err := w.Float64()
		if !ok || err != nil {
			return compareValue(actual, op, w.String(), exact)
		}
		return ordered(op, cmpFloat(a, wf))
	case string:
		var a string
		switch x := actual.(type) {
		case string:
			a = x
		case bool:
			a = strconv.FormatBool(x)
		case json.Number:
			a = x.String()
		default:
			return false
		}
		if !exact {
			a, w = strings.ToLower(a), strings.ToLower(w)
		}
		switch op {
		case "co":
			return strings.Contains(a, w)
		case "sw":
			return strings.HasPrefix(a, w)
		case "ew":
			return strings.HasSuffix(a, w)
		}
		return ordered(op, strings.Compare(a, w))
	}
	return false
}

func ordered(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// container returns the object holding the path's attribute: the resource
// or, for an extension schema, the extension object.
func container(r map[string]any, p AttrPath) map[string]any {
	if p.Schema == "" || isCoreSchema(p.Schema) {
		return r
	}
	ext, _ := scimjson.Lookup(r, p.Schema)
	m, _ := ext.(map[string]any)
	return m
}

func isCoreSchema(urn string) bool {
	return strings.EqualFold(urn, scimjson.UserSchema) || strings.EqualFold(urn, scimjson.GroupSchema)
}

// elements returns the values of the path's attribute (without Sub) that
// its value filter selects; a single-valued attribute is one element.
func elements(r map[string]any, p AttrPath) []any {
	c := container(r, p)
	if c == nil {
		return nil
	}
	v, ok := scimjson.Lookup(c, p.Attr)
	if !ok || v == nil {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		arr = []any{v}
	}
	if p.Filter == nil {
		return arr
	}
	var out []any
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && p.Filter.Match(m) {
			out = append(out, e)
		}
	}
	return out
}

// resolve returns the scalar values at the path. A multi-valued complex
// attribute named without a sub-attribute yields its elements' "value".
func resolve(r map[string]any, p AttrPath) []any {
	var out []any
	for _, e := range elements(r, p) {
		m, isMap := e.(map[string]any)
		switch {
		case !isMap:
			out = append(out, e)
		case p.Sub != "":
			if v, ok := scimjson.Lookup(m, p.Sub); ok {
				out = appendScalars(out, v)
			}
		default:
			if v, ok := scimjson.Lookup(m, "value"); ok {
				out = appendScalars(out, v)
			}
		}
	}
	return out
}

func appendScalars(out []any, v any) []any {
	switch x := v.(type) {
	case nil, map[string]any:
		return out
	case []any:
		for _, e := range x {
			out = appendScalars(out, e)
		}
		return out
	}
	return append(out, v)
}

// ParseFilter parses a SCIM filter: attrExp (`pr`, eq ne co sw ew gt ge lt
// le), `and`, `or`, `not (…)`, parentheses and value paths
// (`emails[type eq "work"]`, also followed by `.value` as Entra writes
// them). Operators and attribute names are case-insensitive; values may be
// quoted strings, true, false, null, numbers or (Entra-legacy) bare words.
func ParseFilter(s string) (Filter, error) {
	p := &parser{src: s}
	p.next()
	f, err := p.parseOr(0)
	if err == nil {
		err = p.err
	}
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %q", p.tok.text)
	}
	return f, nil
}

// ParsePath parses a PATCH path: an attribute path with an optional value
// filter and sub-attribute, e.g. `members[value eq "x"]`.
func ParsePath(s string) (AttrPath, error) {
	p := &parser{src: s}
	p.next()
	if p.tok.kind != tokWord {
		return AttrPath{}, p.errorf("expected an attribute path")
	}
	ap, err := p.parsePath(0)
	if err == nil {
		err = p.err
	}
	if err != nil {
		return AttrPath{}, err
	}
	if p.tok.kind != tokEOF {
		return AttrPath{}, p.errorf("unexpected %q", p.tok.text)
	}
	return ap, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind tokKind
	text string // a word, or a string literal's decoded value
	pos  int
}

type parser struct {
	src string
	pos int
	tok token
	err error
}

func (p *parser) errorf(format string, args ...any) error {
	if p.err != nil { // a lexical error explains more than what follows it
		return p.err
	}
	return fmt.Errorf("filter %q: at %d: %s", p.src, p.tok.pos, fmt.Sprintf(format, args...))
}

// next scans the next token into p.tok; lexical errors end in p.err.
func (p *parser) next() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	if k := strings.IndexByte("()[]", p.src[p.pos]); k >= 0 {
		p.pos++
		p.tok = token{kind: []tokKind{tokLParen, tokRParen, tokLBracket, tokRBracket}[k], text: p.src[start:p.pos], pos: start}
		return
	}
	if p.src[p.pos] == '"' {
		end := p.pos + 1
		for end < len(p.src) && p.src[end] != '"' {
			if p.src[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.src) {
			p.err = fmt.Errorf("filter %q: at %d: unterminated string", p.src, start)
			p.tok = token{kind: tokEOF, pos: start}
			p.pos = len(p.src)
			return
		}
		lit := p.src[start : end+1]
		var s string
		if err := json.Unmarshal([]byte(lit), &s); err != nil {
			s = unescapeLoose(lit[1 : len(lit)-1])
		}
		p.pos = end + 1
		p.tok = token{kind: tokString, text: s, pos: start}
		return
	}
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n()[]\"", rune(p.src[p.pos])) {
		p.pos++
	}
	p.tok = token{kind: tokWord, text: p.src[start:p.pos], pos: start}
}

// unescapeLoose removes backslashes before any character, for literals that
// are not valid JSON strings (e.g. `"a\b"` written by hand).
func unescapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p *parser) keyword(w string) bool {
	return p.tok.kind == tokWord && strings.EqualFold(p.tok.text, w)
}

func (p *parser) parseOr(depth int) (Filter, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		p.next()
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = logicalExpr{and: false, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd(depth int) (Filter, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		p.next()
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = logicalExpr{and: true, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary(depth int) (Filter, error) {
	if p.err != nil {
		return nil, p.err
	}
	if depth > maxFilterDepth {
		return nil, p.errorf("nested too deeply")
	}
	switch {
	case p.tok.kind == tokLParen:
		p.next()
		f, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf("expected )")
		}
		p.next()
		return f, nil
	case p.keyword("not"):
		p.next()
		if p.tok.kind != tokLParen {
			return nil, p.errorf("expected ( after not")
		}
		f, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notExpr{f}, nil
	case p.tok.kind != tokWord:
		return nil, p.errorf("expected an attribute path")
	}
	path, err := p.parsePath(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokWord || p.keyword("and") || p.keyword("or") {
		if path.Filter != nil && path.Sub == "" {
			return valuePathExpr{path}, nil
		}
		return nil, p.errorf("expected an operator after %s", path)
	}
	op := strings.ToLower(p.tok.text)
	switch op {
	case "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, p.errorf("unknown operator %q", p.tok.text)
	}
	p.next()
	if op == "pr" {
		return presentExpr{path}, nil
	}
	var value any
	switch p.tok.kind {
	case tokString:
		value = p.tok.text
	case tokWord:
		value = literal(p.tok.text)
	default:
		return nil, p.errorf("expected a value after %s", op)
	}
	p.next()
	return compareExpr{path: path, op: op, value: value}, nil
}

// literal reads an unquoted value: true, false, null, a number, or (as old
// Entra filters send) a bare string, "0001" among them.
func literal(w string) any {
	switch strings.ToLower(w) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if w != "" && (w[0] == '-' || w[0] >= '0' && w[0] <= '9') && json.Valid([]byte(w)) {
		return json.Number(w) // a JSON number, as the filter grammar's compValue
	}
	return w
}

// parsePath parses the attribute path starting at the current word.
func (p *parser) parsePath(depth int) (AttrPath, error) {
	word := p.tok.text
	var ap AttrPath
	if len(word) > 4 && strings.EqualFold(word[:4], "urn:") {
		i := strings.LastIndexByte(word, ':')
		ap.Schema, word = word[:i], word[i+1:]
	}
	attr, sub, _ := strings.Cut(word, ".")
	if !validName(attr) || strings.Contains(word, ".") && !validName(sub) || ap.Schema == "urn" {
		return AttrPath{}, p.errorf("invalid attribute path %q", p.tok.text)
	}
	ap.Attr, ap.Sub = attr, sub
	end := p.pos
	p.next()
	if p.tok.kind != tokLBracket || p.tok.pos != end {
		return ap, nil
	}
	if ap.Sub != "" {
		return AttrPath{}, p.errorf("value filter after a sub-attribute")
	}
	if depth >= maxFilterDepth {
		return AttrPath{}, p.errorf("nested too deeply")
	}
	p.next()
	f, err := p.parseOr(depth + 1)
	if err != nil {
		return AttrPath{}, err
	}
	if p.tok.kind != tokRBracket {
		return AttrPath{}, p.errorf("expected ]")
	}
	ap.Filter = f
	end = p.pos
	p.next()
	if p.tok.kind == tokWord && p.tok.pos == end && strings.HasPrefix(p.tok.text, ".") {
		if !validName(p.tok.text[1:]) {
			return AttrPath{}, p.errorf("invalid sub-attribute %q", p.tok.text)
		}
		ap.Sub = p.tok.text[1:]
		p.next()
	}
	return ap, nil
}

// validName reports whether s is an ATTRNAME (RFC 7644 §3.10), "$ref" too.
func validName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

package graphapi

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file implements the OData query options of collection routes:
// $top, $select, $filter (eq and startswith joined by and), $count and
// @odata.nextLink paging with an opaque $skiptoken (keyset by id).
//
//	q, err := parseQuery(r, userFields)  // 400 on any bad option
//	p, err := q.list(fetchFromStore)     // or q.apply(itemsInMemory)
//	return writeCollection(w, r, "users", q, p)

const (
	defaultPageSize = 100
	maxPageSize     = 999
	maxFilterDepth  = 32
)

// kind is the JSON type of a Graph property, for decoding and $filter.
type kind int

const (
	kindString  kind = iota // Edm.String
	kindBool                // Edm.Boolean
	kindStrings             // Collection(Edm.String)
	kindObject              // complex, or a collection of complex values
	kindAny                 // directory extension: any scalar or collection of scalars
)

func (k kind) edm() string {
	switch k {
	case kindString:
		return "Edm.String"
	case kindBool:
		return "Edm.Boolean"
	case kindStrings:
		return "Collection(Edm.String)"
	}
	return "a complex type"
}

// extensionName matches directory extension properties:
// extension_{appId without dashes}_{name}.
var extensionName = regexp.MustCompile(`^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$`)

// fields lists the properties of one entity type that $select and $filter
// may name. Names are matched case-insensitively, as Graph does.
type fields struct {
	typeName   string // e.g. "microsoft.graph.user", for messages
	kinds      map[string]kind
	lower      map[string]string
	extensions bool // extension_<appid>_<name> properties are allowed
}

func newFields(typeName string, kinds map[string]kind, extensions bool) fields {
	f := fields{typeName: typeName, kinds: kinds, lower: map[string]string{}, extensions: extensions}
	for name := range kinds {
		f.lower[strings.ToLower(name)] = name
	}
	return f
}

// union merges the properties of several types (a members or owners
// collection holds users, groups and service principals).
func union(typeName string, fs ...fields) fields {
	kinds := map[string]kind{}
	ext := false
	for _, f := range fs {
		for n, k := range f.kinds {
			if old, ok := kinds[n]; ok && old != k {
				k = kindObject
			}
			kinds[n] = k
		}
		ext = ext || f.extensions
	}
	return newFields(typeName, kinds, ext)
}

// lookup returns the canonical spelling and kind of a property name.
func (f fields) lookup(name string) (string, kind, bool) {
	if c, ok := f.lower[strings.ToLower(name)]; ok {
		return c, f.kinds[c], true
	}
	if f.extensions && extensionName.MatchString(name) {
		return name, kindAny, true
	}
	return "", 0, false
}

func (f fields) noSuchProperty(name string) *Error {
	return errorf(http.StatusBadRequest, "Request_BadRequest",
		"Could not find a property named '%s' on type '%s'.", name, f.typeName)
}

// query is a parsed set of OData query options.
type query struct {
	top    int      // page size; 0 means defaultPageSize
	after  string   // from $skiptoken: continue after this id
	sel    []string // canonical property names; nil means every property
	filter []cond   // all must hold
	count  bool
}

// cond is one $filter clause.
type cond struct {
	prop   string
	prefix bool // startswith(prop, val) rather than prop eq val
	val    any  // string, bool or nil
}

// page is one page of a collection.
type page struct {
	items []map[string]any
	count int    // matches in the whole collection, when q.count
	next  string // $skiptoken of the next page; "" on the last page
}

// parseQuery parses the query options of a collection request against the
// properties f of its items. Options without a '$' are ignored.
func parseQuery(r *http.Request, f fields) (query, error) {
	return parseOptions(r.URL.RawQuery, f, true)
}

// parseSelect parses the query options of a single-entity request, where
// only $select is meaningful.
func parseSelect(r *http.Request, f fields) (query, error) {
	return parseOptions(r.URL.RawQuery, f, false)
}

func parseOptions(raw string, f fields, collection bool) (query, error) {
	var q query
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, badRequest("The query string is malformed: %v.", err)
	}
	seen := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(vals)) {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		name := strings.ToLower(key)
		if seen[name] || len(vals[key]) > 1 {
			return q, badRequest("Query option '%s' was specified more than once; give it once.", key)
		}
		seen[name] = true
		v := vals[key][0]
		switch {
		case name == "$select":
			if q.sel, err = parseSelectList(v, f); err != nil {
				return q, err
			}
		case !collection && (name == "$top" || name == "$filter" || name == "$count" || name == "$skiptoken"):
			return q, badRequest("Query option '%s' is not allowed on a single entity; only $select is.", key)
		case name == "$top":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > maxPageSize {
				return q, errorf(http.StatusBadRequest, "Request_BadRequest",
					"Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, maxPageSize)
			}
			q.top = n
		case name == "$filter":
			if q.filter, err = parseFilter(v, f); err != nil {
				return q, err
			}
		case name == "$count":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				q.count = true
			case "false":
			default:
				return q, badRequest("Invalid value '%s' for $count; use true or false.", v)
			}
		case name == "$skiptoken":
			if q.after, err = decodeSkipToken(v); err != nil {
				return q, err
			}
		case name == "$orderby" || name == "$expand" || name == "$search" || name == "$skip" || name == "$format":
			return q, badRequest("Query option '%s' is not supported by this service; supported are $select, $filter, $top, $count and $skiptoken.", key)
		default:
			return q, badRequest("Query option '%s' is not supported; supported are $select, $filter, $top, $count and $skiptoken.", key)
		}
	}
	return q, nil
}

func parseSelectList(v string, f fields) ([]string, error) {
	sel := []string{}
	for part := range strings.SplitSeq(v, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, badRequest("Invalid $select '%s': property names must be separated by single commas.", v)
		}
		c, _, ok := f.lookup(name)
		if !ok {
			e := f.noSuchProperty(name)
			e.Message = "Parsing OData Select and Expand failed: " + e.Message
			return nil, e
		}
		if !slices.Contains(sel, c) {
			sel = append(sel, c)
		}
	}
	return sel, nil
}

// skipTokenPrefix versions the otherwise opaque $skiptoken.
const skipTokenPrefix = "k1:"

func encodeSkipToken(afterID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(skipTokenPrefix + afterID))
}

func decodeSkipToken(v string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	id, ok := strings.CutPrefix(string(b), skipTokenPrefix)
	if err != nil || !ok || id == "" || !utf8.ValidString(id) {
		return "", badRequest("The $skiptoken value is not valid; follow the @odata.nextLink of the previous page unchanged.")
	}
	return id, nil
}

// size is the page size.
func (q query) size() int {
	if q.top > 0 {
		return q.top
	}
	return defaultPageSize
}

// match reports whether item satisfies every $filter clause.
func (q query) match(item map[string]any) bool {
	for _, c := range q.filter {
		v := item[c.prop]
		switch want := c.val.(type) {
		case nil:
			if c.prefix || v != nil {
				return false
			}
		case bool:
			if b, ok := v.(bool); !ok || b != want {
				return false
			}
		case string:
			s, ok := v.(string)
			if !ok {
				return false
			}
			if c.prefix {
				if len(s) < len(want) || !strings.EqualFold(s[:len(want)], want) {
					return false
				}
			} else if !strings.EqualFold(s, want) {
				return false
			}
		}
	}
	return true
}

// project applies $select: the chosen properties (null when unset), id,
// and instance annotations such as @odata.type.
func (q query) project(item map[string]any) map[string]any {
	if q.sel == nil {
		return item
	}
	out := map[string]any{"id": item["id"]}
	for _, name := range q.sel {
		out[name] = item[name]
	}
	for k, v := range item {
		if strings.HasPrefix(k, "@") {
			out[k] = v
		}
	}
	return out
}

func idOf(item map[string]any) string {
	s, _ := item["id"].(string)
	return s
}

// collector builds one page from items arriving in id order.
type collector struct {
	q    query
	p    page
	more bool
}

// add offers the next item; it reports whether the page is complete and
// nothing more needs reading.
func (c *collector) add(item map[string]any) (done bool) {
	if !c.q.match(item) {
		return false
	}
	if c.q.count {
		c.p.count++
	}
	id := idOf(item)
	if c.q.after != "" && id <= c.q.after {
		return false
	}
	if len(c.p.items) < c.q.size() {
		c.p.items = append(c.p.items, c.q.project(item))
		return false
	}
	c.more = true
	return !c.q.count
}

func (c *collector) page() page {
	if c.more && len(c.p.items) > 0 {
		c.p.next = encodeSkipToken(idOf(c.p.items[len(c.p.items)-1]))
	}
	return c.p
}

// apply pages an in-memory collection.
func (q query) apply(items []map[string]any) page {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b map[string]any) int { return strings.Compare(idOf(a), idOf(b)) })
	c := collector{q: q}
	for _, it := range sorted {
		if c.add(it) {
			break
		}
	}
	return c.page()
}

// list pages a store listing. fetch returns up to limit items with ids
// after the given one, in id order (store.ListOptions.After and Limit).
func (q query) list(fetch func(after string, limit int) ([]map[string]any, error)) (page, error) {
	batch := q.size() + 1
	if len(q.filter) > 0 || q.count {
		batch = max(batch, 500)
	}
	after := q.after
	if q.count {
		after = "" // the count covers the whole collection
	}
	c := collector{q: q}
	for {
		items, err := fetch(after, batch)
		if err != nil {
			return page{}, err
		}
		for _, it := range items {
			if c.add(it) {
				return c.page(), nil
			}
		}
		if len(items) < batch {
			return c.page(), nil
		}
		after = idOf(items[len(items)-1])
	}
}

// selectSuffix is the context URL's "(a,b)" for $select, or "".
func (q query) selectSuffix() string {
	if q.sel == nil {
		return ""
	}
	return "(" + strings.Join(q.sel, ",") + ")"
}

// writeCollection writes a page as an OData collection. fragment is the
// context URL fragment without $select, e.g. "users" or
// "servicePrincipals('x')/appRoleAssignedTo".
func writeCollection(w http.ResponseWriter, r *http.Request, fragment string, q query, p page) error {
	items := p.items
	if items == nil {
		items = []map[string]any{}
	}
	body := map[string]any{
		"@odata.context": contextURL(r, fragment+q.selectSuffix()),
		"value":          items,
	}
	if q.count {
		body["@odata.count"] = p.count
	}
	if p.next != "" {
		body["@odata.nextLink"] = nextLink(r, p.next)
	}
	return writeJSON(w, http.StatusOK, body)
}

// writeEntity writes one entity with its context URL; fragment names the
// entity set, e.g. "users".
func writeEntity(w http.ResponseWriter, r *http.Request, status int, fragment string, q query, item map[string]any) error {
	out := map[string]any{}
	for k, v := range q.project(item) {
		out[k] = v
	}
	out["@odata.context"] = contextURL(r, fragment+q.selectSuffix()+"/$entity")
	return writeJSON(w, status, out)
}

// nextLink is the request URL with $skiptoken replaced by token.
func nextLink(r *http.Request, token string) string {
	origin := strings.TrimSuffix(contextURL(r, ""), "/v1.0/$metadata#")
	vals, _ := url.ParseQuery(r.URL.RawQuery)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if strings.EqualFold(k, "$skiptoken") {
			continue
		}
		for _, v := range vals[k] {
			parts = append(parts, queryEscapeKey(k)+"="+url.QueryEscape(v))
		}
	}
	parts = append(parts, "$skiptoken="+url.QueryEscape(token))
	return origin + r.URL.Path + "?" + strings.Join(parts, "&")
}

func queryEscapeKey(k string) string {
	if rest, ok := strings.CutPrefix(k, "$"); ok {
		return "$" + url.QueryEscape(rest)
	}
	return url.QueryEscape(k)
}

// The $filter grammar accepted:
//
//	filter := clause { "and" clause }
//	clause := "(" filter ")" | prop "eq" literal | "startswith(" prop "," string ")"
//	literal := 'string' ('' inside doubles a quote) | true | false | null
//
// Property names and keywords are case-insensitive; string comparison is
// too, as in Entra ID.

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

func lexFilter(src string) ([]token, error) {
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
			for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9') {
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

// unsupported is Graph's "Unsupported query." error naming the part.
func unsupported(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "Request_UnsupportedQuery",
		"Unsupported query. In $filter, %s. Supported: <property> eq <'string'|true|false|null>, startswith(<property>,'<prefix>'), joined by 'and'.",
		fmt.Sprintf(format, args...))
}

type filterParser struct {
	toks []token
	i    int
	f    fields
	out  []cond
}

// parseFilter parses a $filter value into clauses that must all hold.
func parseFilter(src string, f fields) ([]cond, error) {
	if strings.TrimSpace(src) == "" {
		return nil, badRequest("The $filter value is empty; give an expression such as displayName eq 'x'.")
	}
	toks, err := lexFilter(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, f: f}
	if err := p.and(0); err != nil {
		return nil, err
	}
	if t := p.peek(); t.typ != tokEOF {
		return nil, unsupported("'%s' at position %d is not supported", describe(t), t.pos)
	}
	return p.out, nil
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

func (p *filterParser) and(depth int) error {
	if err := p.clause(depth); err != nil {
		return err
	}
	for {
		t := p.peek()
		if t.typ != tokIdent || !strings.EqualFold(t.val, "and") {
			return nil
		}
		p.next()
		if err := p.clause(depth); err != nil {
			return err
		}
	}
}

func (p *filterParser) clause(depth int) error {
	t := p.next()
	switch {
	case t.typ == tokLParen:
		if depth >= maxFilterDepth {
			return unsupported("parentheses nest deeper than %d", maxFilterDepth)
		}
		if err := p.and(depth + 1); err != nil {
			return err
		}
		if c := p.next(); c.typ != tokRParen {
			return unsupported("expected ')' at position %d but found %s", c.pos, describe(c))
		}
		return nil
	case t.typ != tokIdent:
		return unsupported("expected a property name at position %d but found %s", t.pos, describe(t))
	case p.peek().typ == tokLParen:
		if !strings.EqualFold(t.val, "startswith") {
			return unsupported("the function '%s' is not supported", t.val)
		}
		return p.startsWith(t)
	case strings.EqualFold(t.val, "not"):
		return unsupported("'not' is not supported")
	}
	prop, k, err := p.property(t)
	if err != nil {
		return err
	}
	op := p.next()
	if op.typ == tokEOF {
		return unsupported("'%s' must be followed by eq and a value, but the expression ends", t.val)
	}
	if op.typ != tokIdent || !strings.EqualFold(op.val, "eq") {
		return unsupported("the operator %s after '%s' is not supported", quoteTok(op), t.val)
	}
	v := p.next()
	var val any
	switch {
	case v.typ == tokEOF:
		return unsupported("'%s eq' must be followed by a value, but the expression ends", t.val)
	case v.typ == tokString:
		val = v.val
	case v.typ == tokIdent && strings.EqualFold(v.val, "true"):
		val = true
	case v.typ == tokIdent && strings.EqualFold(v.val, "false"):
		val = false
	case v.typ == tokIdent && strings.EqualFold(v.val, "null"):
		val = nil
	default:
		return unsupported("the value %s at position %d is not supported", quoteTok(v), v.pos)
	}
	switch {
	case k == kindString && val != nil:
		if _, ok := val.(string); !ok {
			return badRequest("Invalid $filter: '%s' is Edm.String; compare it with a quoted string, e.g. %s eq 'text'.", prop, prop)
		}
	case k == kindBool && val != nil:
		if _, ok := val.(bool); !ok {
			return badRequest("Invalid $filter: '%s' is Edm.Boolean; compare it with true or false (no quotes).", prop)
		}
	case k == kindStrings || k == kindObject:
		return unsupported("filtering on '%s' (%s) is not supported", prop, k.edm())
	}
	p.out = append(p.out, cond{prop: prop, val: val})
	return nil
}

func quoteTok(t token) string {
	if t.typ == tokEOF || t.typ == tokString {
		return describe(t)
	}
	return "'" + t.val + "'"
}

func (p *filterParser) property(t token) (string, kind, error) {
	if t.typ != tokIdent {
		return "", 0, unsupported("expected a property name at position %d but found %s", t.pos, describe(t))
	}
	switch strings.ToLower(t.val) {
	case "and", "or", "eq", "ne", "true", "false", "null":
		return "", 0, unsupported("'%s' at position %d is not supported here", t.val, t.pos)
	}
	prop, k, ok := p.f.lookup(t.val)
	if !ok {
		return "", 0, p.f.noSuchProperty(t.val)
	}
	return prop, k, nil
}

// startsWith parses startswith(prop,'prefix'); fn is the name token.
func (p *filterParser) startsWith(fn token) error {
	p.next() // (
	prop, k, err := p.property(p.next())
	if err != nil {
		return err
	}
	if k != kindString && k != kindAny {
		return unsupported("startswith on '%s' (%s) is not supported; it needs a string property", prop, k.edm())
	}
	if c := p.next(); c.typ != tokComma {
		return unsupported("expected ',' at position %d in startswith but found %s", c.pos, describe(c))
	}
	v := p.next()
	if v.typ != tokString {
		return unsupported("startswith needs a quoted string prefix; found %s at position %d", describe(v), v.pos)
	}
	if c := p.next(); c.typ != tokRParen {
		return unsupported("expected ')' at position %d to close startswith but found %s", c.pos, describe(c))
	}
	p.out = append(p.out, cond{prop: prop, prefix: true, val: v.val})
	return nil
}

package odata

import (
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Page sizes: Graph's default and its largest $top.
const (
	DefaultPageSize = 100
	MaxPageSize     = 999
)

// Query is a parsed set of OData query options.
type Query struct {
	Top    int      // page size; 0 means DefaultPageSize
	After  string   // from $skiptoken: continue after this id
	Select []string // canonical property names; nil means every property
	Filter []Cond   // all must hold
	Count  bool     // $count=true
	// Where is the $filter of Fields made WithFilter; nil without $filter.
	Where *Expr
	// OrderBy is the $orderby property ("" when absent), Desc its direction.
	OrderBy string
	Desc    bool
}

// Expr is a $filter expression in the comparison grammar: Op is "and" or
// "or" over Args (two or more), or a comparison of Prop with Val: "eq",
// "ne", "gt", "ge", "lt", "le" (Val a string, bool, time.Time or nil),
// "startswith" or "contains" (Val a string).
type Expr struct {
	Op   string
	Prop string
	Val  any
	Args []Expr
}

// Cond is one $filter clause.
type Cond struct {
	Prop   string
	Prefix bool // startswith(Prop, Val) rather than Prop eq Val
	Val    any  // string, bool or nil
}

// Parse parses the raw query string of a collection request against the
// properties f of its items. Options without a '$' are ignored.
func Parse(rawQuery string, f Fields) (Query, error) {
	return parse(rawQuery, f, true)
}

// ParseEntity parses the raw query string of a single-entity request,
// where only $select is meaningful.
func ParseEntity(rawQuery string, f Fields) (Query, error) {
	return parse(rawQuery, f, false)
}

// CheckNone refuses the query options of a request to a resource that
// takes none (a function's fixed answer): ignored, $top or $select would
// seem to have worked. Options without a '$' are ignored.
func CheckNone(rawQuery string) error {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return badRequest("The query string is malformed: %v.", err)
	}
	for _, key := range slices.Sorted(maps.Keys(vals)) {
		if strings.HasPrefix(key, "$") {
			return badRequest("Query option '%s' is not supported on this resource, which takes none.", key)
		}
	}
	return nil
}

func parse(raw string, f Fields, collection bool) (Query, error) {
	var q Query
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
			if q.Select, err = parseSelectList(v, f); err != nil {
				return q, err
			}
		case !collection && (name == "$top" || name == "$filter" || name == "$count" || name == "$skiptoken"):
			return q, badRequest("Query option '%s' is not allowed on a single entity; only $select is.", key)
		case name == "$top":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > MaxPageSize {
				return q, errorf("Request_BadRequest",
					"Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, MaxPageSize)
			}
			q.Top = n
		case name == "$filter" && f.filter != nil:
			if q.Where, err = parseWhere(v, *f.filter); err != nil {
				return q, err
			}
		case name == "$filter":
			if q.Filter, err = parseFilter(v, f); err != nil {
				return q, err
			}
		case name == "$orderby" && f.orderBy != nil:
			if q.OrderBy, q.Desc, err = parseOrderBy(v, f.orderBy); err != nil {
				return q, err
			}
		case name == "$count":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				q.Count = true
			case "false":
			default:
				return q, badRequest("Invalid value '%s' for $count; use true or false.", v)
			}
		case name == "$skiptoken":
			if q.After, err = DecodeSkipToken(v); err != nil {
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

func parseSelectList(v string, f Fields) ([]string, error) {
	sel := []string{}
	for part := range strings.SplitSeq(v, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, badRequest("Invalid $select '%s': property names must be separated by single commas.", v)
		}
		c, _, ok := f.Lookup(name)
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

// parseOrderBy reads "prop [asc|desc]" for one of the allowed properties.
func parseOrderBy(v string, allowed []string) (string, bool, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 || len(fields) > 2 || strings.Contains(v, ",") {
		return "", false, badRequest("Invalid $orderby '%s': give one property and an optional asc or desc, e.g. %s desc.", v, allowed[0])
	}
	i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, fields[0]) })
	if i < 0 {
		return "", false, badRequest("$orderby is supported on %s only, not on '%s'.", strings.Join(allowed, ", "), fields[0])
	}
	desc := false
	if len(fields) == 2 {
		switch strings.ToLower(fields[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return "", false, badRequest("Invalid $orderby direction '%s'; use asc or desc.", fields[1])
		}
	}
	return allowed[i], desc, nil
}

// skipTokenPrefix versions the otherwise opaque $skiptoken.
const skipTokenPrefix = "k1:"

// EncodeSkipToken is the opaque $skiptoken of the page after the item
// with id afterID.
func EncodeSkipToken(afterID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(skipTokenPrefix + afterID))
}

// DecodeSkipToken returns the id EncodeSkipToken encoded.
func DecodeSkipToken(v string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	id, ok := strings.CutPrefix(string(b), skipTokenPrefix)
	if err != nil || !ok || id == "" || !utf8.ValidString(id) {
		return "", badRequest("The $skiptoken value is not valid; follow the @odata.nextLink of the previous page unchanged.")
	}
	return id, nil
}

// Size is the page size.
func (q Query) Size() int {
	if q.Top > 0 {
		return q.Top
	}
	return DefaultPageSize
}

// SelectSuffix is the context URL's "(a,b)" for $select, or "".
func (q Query) SelectSuffix() string {
	if q.Select == nil {
		return ""
	}
	return "(" + strings.Join(q.Select, ",") + ")"
}

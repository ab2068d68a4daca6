package graphapi

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"provisiond/graphapi/odata"
)

// This file joins the OData query options (package odata) to the HTTP
// responses of collection and entity routes:
//
//	q, err := parseQuery(r, userFields)  // 400 on any bad option
//	p, err := q.List(fetchFromStore)     // or q.Apply(itemsInMemory)
//	return writeCollection(w, r, "users", q, p)
//
// The short names below keep the handlers reading as before the parser
// moved to its own package.

type (
	kind   = odata.Kind
	fields = odata.Fields
	query  = odata.Query
	page   = odata.Page
)

const (
	kindString  = odata.KindString
	kindBool    = odata.KindBool
	kindStrings = odata.KindStrings
	kindObject  = odata.KindObject
	maxPageSize = odata.MaxPageSize
)

var (
	newFields     = odata.NewFields
	union         = odata.Union
	extensionName = odata.ExtensionName
)

// parseQuery parses the query options of a collection request against the
// properties f of its items.
func parseQuery(r *http.Request, f fields) (query, error) {
	return odata.Parse(r.URL.RawQuery, f)
}

// parseDirectoryQuery is parseQuery for a collection of directory
// objects, where Graph counts ($count=true) only with the header
// ConsistencyLevel: eventual, as on /$count.
func parseDirectoryQuery(r *http.Request, f fields) (query, error) {
	q, err := parseQuery(r, f)
	if err == nil && q.Count {
		err = needEventual(r)
	}
	return q, err
}

// needEventual is the 400 for counting directory objects without the
// header ConsistencyLevel: eventual.
func needEventual(r *http.Request) error {
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual") {
		return nil
	}
	return errorf(http.StatusBadRequest, "Request_BadRequest",
		"$count is not currently supported. Counting directory objects needs the request header ConsistencyLevel: eventual.")
}

// parseSelect parses the query options of a single-entity request, where
// only $select is meaningful.
func parseSelect(r *http.Request, f fields) (query, error) {
	return odata.ParseEntity(r.URL.RawQuery, f)
}

// writeCollection writes a page as an OData collection. fragment is the
// context URL fragment without $select, e.g. "users" or
// "servicePrincipals('x')/appRoleAssignedTo".
func writeCollection(w http.ResponseWriter, r *http.Request, fragment string, q query, p page) error {
	items := p.Items
	if items == nil {
		items = []map[string]any{}
	}
	body := map[string]any{
		"@odata.context": contextURL(r, fragment+q.SelectSuffix()),
		"value":          items,
	}
	if q.Count {
		body["@odata.count"] = p.Count
	}
	if p.Next != "" {
		body["@odata.nextLink"] = nextLink(r, p.Next)
	}
	return writeJSON(w, http.StatusOK, body)
}

// writeEntity writes one entity with its context URL; fragment names the
// entity set, e.g. "users".
func writeEntity(w http.ResponseWriter, r *http.Request, status int, fragment string, q query, item map[string]any) error {
	out := map[string]any{}
	for k, v := range q.Project(item) {
		out[k] = v
	}
	out["@odata.context"] = contextURL(r, fragment+q.SelectSuffix()+"/$entity")
	return writeJSON(w, status, out)
}

// nextLink is the request URL, on the service's origin, with $skiptoken
// replaced by token.
func nextLink(r *http.Request, token string) string {
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
	return origin(r) + r.URL.Path + "?" + strings.Join(parts, "&")
}

func queryEscapeKey(k string) string {
	if rest, ok := strings.CutPrefix(k, "$"); ok {
		return "$" + url.QueryEscape(rest)
	}
	return url.QueryEscape(k)
}

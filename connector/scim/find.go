package scim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// scanPageSize is the page size Find asks for when it lists resources to
// match them on the client.
const scanPageSize = 100

// Find queries `attribute eq "value"`; groups are read without members.
// Resources whose returned attribute contradicts the filter are dropped, so
// a server that ignores filters cannot make every object a match. Strings
// compare ignoring case.
//
// When the server refuses the filter (400 invalidFilter, 501), a filtered
// path such as `emails[type eq "work"].value` is asked as `emails.value eq`
// and the type checked on the client. When that is refused too, or
// /ServiceProviderConfig says filters are unsupported, Find lists the
// resources page by page and matches on the client, up to Config.MaxScan
// resources (more is a KindInvalid error).
func (c *Client) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return nil, err
	}
	p, err := ParsePath(attribute)
	if err != nil {
		return nil, invalidPath(attribute, err)
	}
	caps, err := c.capabilities(ctx)
	if err != nil {
		return nil, err
	}
	why := "ServiceProviderConfig says filter.supported is false"
	if caps.filter {
		objs, err := c.findFiltered(ctx, endpoint, typ, p, p, value, false)
		if !filterRefused(err) {
			return objs, err
		}
		why = "it refused the filter"
		if re, ok := asResponseError(err); ok {
			why += ": " + re.Error()
		}
		if p.Filtered() {
			simple := Path{Schema: p.Schema, Attr: p.Attr, Sub: cmp.Or(p.Sub, "value")}
			objs, err := c.findFiltered(ctx, endpoint, typ, simple, p, value, true)
			if !filterRefused(err) {
				return objs, err
			}
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim filter refused; matching on the client",
			slog.String("path", endpoint), slog.String("attribute", p.String()))
	}
	return c.findScan(ctx, endpoint, typ, p, value, why, caps.maxResults)
}

// findFiltered sends `query eq "value"` and keeps the resources that match
// p: all but contradicting ones, or (strict) only those showing the value.
func (c *Client) findFiltered(ctx context.Context, endpoint, typ string, query, p Path, value string, strict bool) ([]connector.Object, error) {
	literal := Quote(value)
	if b, ok := parseBool(value); ok && isBoolean(query) {
		literal = strconv.FormatBool(b)
	}
	q := url.Values{"filter": {query.String() + " eq " + literal}}
	if typ == connector.TypeGroup {
		q.Set("excludedAttributes", "members")
	}
	objs := []connector.Object{}
	_, err := c.list(ctx, endpoint, q, c.maxScan, func(r map[string]any, id string) {
		if matches(r, p, value, strict) {
			objs = append(objs, connector.Object{ID: id, Type: typ, Attrs: Flatten(r)})
		}
	})
	var tm *tooMany
	if errors.As(err, &tm) {
		return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeServiceIncompatible,
			Message: fmt.Sprintf("GET %s?filter=%s matched more than %d resources.", endpoint, q.Get("filter"), tm.seen)}
	}
	return objs, err
}

// findScan lists every resource, maxResults (if not 0) at a time, and
// matches on the client.
func (c *Client) findScan(ctx context.Context, endpoint, typ string, p Path, value, why string, maxResults int) ([]connector.Object, error) {
	size := scanPageSize
	if maxResults > 0 && maxResults < size {
		size = maxResults
	}
	q := url.Values{"count": {strconv.Itoa(size)}}
	if typ == connector.TypeGroup {
		q.Set("excludedAttributes", "members")
	}
	objs := []connector.Object{}
	_, err := c.list(ctx, endpoint, q, c.maxScan, func(r map[string]any, id string) {
		if matches(r, p, value, true) {
			objs = append(objs, connector.Object{ID: id, Type: typ, Attrs: Flatten(r)})
		}
	})
	var tm *tooMany
	if errors.As(err, &tm) {
		return nil, &connector.Error{
			Kind: connector.KindInvalid,
			Code: CodeServiceIncompatible,
			Message: fmt.Sprintf("Cannot match %s on %s: the SCIM endpoint cannot filter (%s), and listing to match on the client "+
				"stopped after %d of %d resources (the limit is %d). Enable filtering in the target application.",
				p, endpoint, why, tm.seen, tm.total, c.maxScan),
		}
	}
	return objs, err
}

// tooMany says a listing went past its limit.
type tooMany struct{ seen, total int }

func (e *tooMany) Error() string {
	return fmt.Sprintf("scim: listed %d of %d resources", e.seen, e.total)
}

// list pages through GET endpoint?q with startIndex, calling fn once per
// resource id. It stops when a page brings no new resource (servers that
// answer a page past the end with the whole list) or totalResults are
// seen; seeing more than limit resources is a *tooMany error.
func (c *Client) list(ctx context.Context, endpoint string, q url.Values, limit int, fn func(r map[string]any, id string)) (int, error) {
	q = maps.Clone(q)
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page > 0 {
			q.Set("startIndex", strconv.Itoa(len(seen)+1))
		}
		resp, err := c.do(ctx, http.MethodGet, endpoint, q, nil)
		if err != nil {
			return len(seen), err
		}
		lr, err := decodeList(http.MethodGet, endpoint, resp)
		if err != nil {
			return len(seen), err
		}
		fresh := 0
		for _, r := range lr.resources {
			id, _ := scalarString(r["id"])
			if id == "" {
				return len(seen), incompatible(http.MethodGet, endpoint, resp, "a resource has no id")
			}
			if seen[id] {
				continue
			}
			if len(seen) >= limit {
				return len(seen), &tooMany{seen: len(seen), total: max(lr.total, len(seen)+1)}
			}
			seen[id], fresh = true, fresh+1
			fn(r, id)
		}
		if fresh == 0 || len(seen) >= lr.total {
			return len(seen), nil
		}
	}
}

// filterRefused reports whether err is a server refusing a filter it does
// not support: 400 without a SCIM type or with invalidFilter, or 501.
func filterRefused(err error) bool {
	switch statusOf(err) {
	case http.StatusNotImplemented:
		return true
	case http.StatusBadRequest:
		re, ok := asResponseError(err)
		return ok && (re.ScimType == "" || strings.EqualFold(re.ScimType, "invalidFilter"))
	}
	return false
}

// matches reports whether the resource has value at p (ignoring case).
// A resource that does not show the attribute at all matches unless
// strict.
func matches(r map[string]any, p Path, value string, strict bool) bool {
	vals, present := valuesAt(r, p)
	if !present {
		return !strict
	}
	return slices.ContainsFunc(vals, func(s string) bool { return strings.EqualFold(s, value) })
}

// valuesAt returns the scalar values of a resource at a path: a simple
// attribute, a sub-attribute of a complex or multi-valued one
// (`emails.value`), the sub-attribute of the elements a value filter
// selects (`emails[type eq "work"].value`, "value" by default), or a
// reference's value (the manager). present is false when the resource has
// no such attribute.
func valuesAt(r map[string]any, p Path) (vals []string, present bool) {
	container := r
	if p.Schema != "" {
		ext, _ := scimjson.Lookup(r, p.Schema)
		if container, _ = ext.(map[string]any); container == nil {
			return nil, false
		}
	}
	v, ok := scimjson.Lookup(container, p.Attr)
	if !ok || v == nil {
		return nil, false
	}
	add := func(x any) {
		if s, ok := scalarString(x); ok {
			vals = append(vals, s)
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			m, isObj := e.(map[string]any)
			switch {
			case !isObj:
				if p.Sub == "" && !p.Filtered() {
					add(e)
				}
			case !p.Filtered() || elementMatches(m, p):
				if sv, ok := scimjson.Lookup(m, cmp.Or(p.Sub, "value")); ok {
					add(sv)
				}
			}
		}
	case map[string]any:
		if p.Filtered() {
			return nil, false
		}
		if sv, ok := scimjson.Lookup(x, cmp.Or(p.Sub, "value")); ok {
			add(sv)
		}
	default:
		if p.Sub != "" || p.Filtered() {
			return nil, false
		}
		add(x)
	}
	return vals, true
}

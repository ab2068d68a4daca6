package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
	"provisiond/ids"
)

// Test checks the connection and the token the way Entra does: a query for
// a random userName must answer 200 with totalResults 0. A server whose
// /ServiceProviderConfig says it has no filters is asked for one user
// (count=1) instead.
func (c *Client) Test(ctx context.Context) error {
	filter := "userName eq " + Quote(ids.NewUUID())
	q, what := url.Values{"filter": {filter}}, "filter="+filter
	caps, err := c.capabilities(ctx)
	if err != nil {
		return err
	}
	canFilter := caps.filter
	if !canFilter {
		q, what = url.Values{"count": {"1"}}, "count=1"
	}
	resp, err := c.do(ctx, http.MethodGet, "/Users", q, nil)
	var ce *connector.Error
	if errors.As(err, &ce) {
		e := *ce
		e.Message = fmt.Sprintf("Test connection: GET /Users?%s failed. %s", what, ce.Message)
		return &e
	}
	if err != nil {
		return err
	}
	lr, err := decodeList(http.MethodGet, "/Users", resp)
	if err != nil {
		return err
	}
	if canFilter && (lr.total != 0 || len(lr.resources) != 0) {
		return &connector.Error{
			Kind:   connector.KindInvalid,
			Status: resp.status,
			Code:   CodeServiceIncompatible,
			Message: fmt.Sprintf("GET /Users?filter=%s answered totalResults %d with %d resources for a random userName; "+
				"want 0 (the SCIM endpoint does not seem to apply filters)", filter, lr.total, len(lr.resources)),
		}
	}
	return nil
}

// Get reads one resource; groups include their members, read as the
// profile's MembershipRead says. A 404 is confirmed by a second GET.
func (c *Client) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	rid, attrs, err := c.getFlat(ctx, endpoint, typ, id)
	if connector.IsNotFound(err) {
		rid, attrs, err = c.getFlat(ctx, endpoint, typ, id)
	}
	if err != nil {
		return connector.Object{}, err
	}
	return connector.Object{ID: rid, Type: typ, Attrs: attrs}, nil
}

// getFlat reads a resource as Get returns it: its id and flat attributes.
// A group whose members come inline is streamed (getGroup).
func (c *Client) getFlat(ctx context.Context, endpoint, typ, id string) (string, connector.Attributes, error) {
	if typ == connector.TypeGroup && c.profile.MembershipRead != MembershipByUserFilter {
		return c.getGroup(ctx, id)
	}
	r, err := c.read(ctx, endpoint, typ, id)
	if err != nil {
		return "", nil, err
	}
	rid, _ := scalarString(r["id"])
	return rid, Flatten(r), nil
}

// read GETs a resource; a group comes with its members.
func (c *Client) read(ctx context.Context, endpoint, typ, id string) (map[string]any, error) {
	if typ == connector.TypeGroup {
		return c.readGroup(ctx, id)
	}
	return c.get(ctx, endpoint, id, nil)
}

func (c *Client) get(ctx context.Context, endpoint, id string, q url.Values) (map[string]any, error) {
	path, err := resourcePath(endpoint, id)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	r, _, err := decodeResource(http.MethodGet, path, resp)
	return r, err
}

// confirmGone is called after a request about a resource answered 404
// (err): it GETs the resource, and reports err when the GET agrees. When
// the resource is there after all, again (if not nil) resends the request;
// a second 404 is then a transient error, not KindNotFound, so that the
// engine does not forget an object a flaky server answered 404 for.
func (c *Client) confirmGone(ctx context.Context, endpoint, id string, err error, again func() error) error {
	var q url.Values
	if endpoint == "/Groups" {
		q = url.Values{"excludedAttributes": {"members"}}
	}
	_, gerr := c.get(ctx, endpoint, id, q)
	switch {
	case connector.IsNotFound(gerr):
		return err
	case gerr != nil:
		return gerr
	case again == nil:
		return nil
	}
	err2 := again()
	var nf *connector.Error
	if !connector.IsNotFound(err2) || !errors.As(err2, &nf) {
		return err2
	}
	ce := *nf
	ce.Kind, ce.Code = connector.KindTransient, connector.CodeForStatus(http.StatusInternalServerError)
	ce.Message = "The SCIM endpoint answered 404 for a resource that GET returns. " + ce.Message
	ce.Err = err2
	return &ce
}

// Create posts the resource BuildResource makes from attrs (groups without
// members) and returns it as the server answered.
//
// A POST that failed after it was sent (timeout, dropped connection, 5xx)
// may have created the object, so before sending it again Create searches
// for it by userName (groups: displayName), or externalId when that is
// missing, and returns what it finds; a 409 on such a retry is checked the
// same way. Without any of those attributes it does not retry. A found
// object with another externalId is someone else's and not returned.
func (c *Client) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	res, err := BuildResource(typ, attrs)
	if err != nil {
		return connector.Object{}, err
	}
	payload, err := encode(res)
	if err != nil {
		return connector.Object{}, err
	}
	keyAttr, keyValue := identity(typ, attrs)
	start := time.Now()
	maybeCreated := false
	for n := 1; ; n++ {
		if maybeCreated {
			obj, found, ferr := c.findCreated(ctx, typ, keyAttr, keyValue, attrs)
			if found {
				return obj, nil
			}
			if ferr != nil {
				// Cannot tell: leave it to the engine's next attempt, with
				// the POST's error, or the deadline's if it cut the search.
				return connector.Object{}, c.next(ctx, start, http.MethodPost, endpoint, n-1, false, 0, err)
			}
		}
		var (
			resp *response
			sent bool
		)
		resp, sent, err = c.attempt(ctx, http.MethodPost, endpoint, nil, payload)
		if err == nil {
			id, err := createdID(http.MethodPost, endpoint, resp)
			if err != nil {
				return connector.Object{}, err
			}
			return connector.Object{ID: id, Type: typ, Attrs: attrs}, nil
		}
		if maybeCreated && connector.KindOf(err) == connector.KindConflict {
			if obj, found, _ := c.findCreated(ctx, typ, keyAttr, keyValue, attrs); found {
				return obj, nil
			}
			return connector.Object{}, err
		}
		var ce *connector.Error
		retry := n < c.maxAttempts && errors.As(err, &ce) && ce.Kind == connector.KindTransient && !(sent && keyValue == "")
		var wait time.Duration
		if retry {
			wait, retry = retryDelay(ce.Status, ce.RetryAfter, n, c.maxRetryWait)
		}
		if err := c.next(ctx, start, http.MethodPost, endpoint, n, retry, wait, err); err != nil {
			return connector.Object{}, err
		}
		maybeCreated = maybeCreated || sent && ce.Status != http.StatusTooManyRequests
	}
}

// identity is the attribute and value that identify a new object.
func identity(typ string, attrs connector.Attributes) (attr, value string) {
	attr = "userName"
	if typ == connector.TypeGroup {
		attr = "displayName"
	}
	if v, ok := attrs.Get(attr); ok && v != "" {
		return attr, v
	}
	if v, ok := attrs.Get("externalId"); ok && v != "" {
		return "externalId", v
	}
	return "", ""
}

// findCreated looks for the object an earlier POST of attrs may have made.
func (c *Client) findCreated(ctx context.Context, typ, attr, value string, attrs connector.Attributes) (connector.Object, bool, error) {
	objs, err := c.Find(ctx, typ, attr, value)
	if err != nil {
		return connector.Object{}, false, err
	}
	ext, hasExt := attrs.Get("externalId")
	for _, o := range objs {
		if got, ok := o.Attrs.Get("externalId"); hasExt && ok && got != ext {
			continue
		}
		return o, true, nil
	}
	return connector.Object{}, false, nil
}

// Update changes the given attributes with one PATCH (see PatchOps; the
// profile's dialect decides the shapes) or, when the profile or the server
// asks for it, by PUT of the whole resource. When set has filtered paths
// the resource is read first to choose between add and replace. Nothing is
// sent when there is nothing to change. Updates of one object are
// serialised.
func (c *Client) Update(ctx context.Context, objectType, id string, set connector.Attributes) error {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return err
	}
	path, err := resourcePath(endpoint, id)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	unlock, err := c.lock(ctx, typ, id)
	if err != nil {
		return err
	}
	defer unlock()
	update := func() error {
		return c.patchOrPut(ctx, typ,
			func() error { return c.patchUpdate(ctx, endpoint, id, path, set) },
			func() error { return c.putUpdate(ctx, endpoint, typ, id, path, set) })
	}
	err = update()
	if connector.IsNotFound(err) {
		return c.confirmGone(ctx, endpoint, id, err, update)
	}
	return err
}

func (c *Client) patchUpdate(ctx context.Context, endpoint, id, path string, set connector.Attributes) error {
	var current map[string]any
	for k := range set {
		if p, err := ParsePath(k); err == nil && p.Filtered() {
			var err error
			if current, err = c.get(ctx, endpoint, id, nil); err != nil {
				return err
			}
			break
		}
	}
	ops, err := PatchOps(set, current)
	if err != nil {
		return err
	}
	return c.patch(ctx, path, ops)
}

// Delete deletes the resource; a missing one is KindNotFound, once a GET
// confirms it. A 404 answering the retry of a DELETE that may have reached
// the server is success.
func (c *Client) Delete(ctx context.Context, objectType, id string) error {
	endpoint, _, err := resourceType(objectType)
	if err != nil {
		return err
	}
	path, err := resourcePath(endpoint, id)
	if err != nil {
		return err
	}
	del := func() error {
		_, reached, err := c.send(ctx, http.MethodDelete, path, nil, nil)
		if reached && connector.IsNotFound(err) {
			return nil
		}
		return err
	}
	err = del()
	if connector.IsNotFound(err) {
		return c.confirmGone(ctx, endpoint, id, err, del)
	}
	return err
}

// patch sends a PatchOp message in the profile's dialect; any 2xx (200
// with or without a body, 204) is success.
func (c *Client) patch(ctx context.Context, path string, ops []PatchOp) error {
	if len(ops) == 0 {
		return nil
	}
	if c.profile.PatchDialect == DialectEntraLegacy {
		ops = legacyOps(ops)
	}
	_, err := c.do(ctx, http.MethodPatch, path, nil, PatchRequest{Schemas: []string{scimjson.PatchOpSchema}, Operations: ops})
	return err
}

// legacyOps turns RFC operations into Entra's default shapes: capitalised
// op names, active as the string "True" or "False".
func legacyOps(ops []PatchOp) []PatchOp {
	out := make([]PatchOp, len(ops))
	for i, o := range ops {
		if o.Op != "" {
			o.Op = strings.ToUpper(o.Op[:1]) + o.Op[1:]
		}
		if b, ok := o.Value.(bool); ok && strings.EqualFold(o.Path, "active") {
			o.Value = boolString(b)
		}
		out[i] = o
	}
	return out
}

package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"provisiond/connector"
)

// Test checks the connection and the token the way Entra does: a query for
// a random userName must answer 200 with totalResults 0.
func (c *Client) Test(ctx context.Context) error {
	filter := "userName eq " + Quote(newUUID())
	q := url.Values{"filter": {filter}}
	resp, err := c.do(ctx, http.MethodGet, "/Users", q, nil)
	var ce *connector.Error
	if errors.As(err, &ce) {
		e := *ce
		e.Message = fmt.Sprintf("Test connection: GET /Users?filter=%s failed. %s", filter, ce.Message)
		return &e
	}
	if err != nil {
		return err
	}
	lr, err := decodeList(http.MethodGet, "/Users", resp)
	if err != nil {
		return err
	}
	if lr.total != 0 || len(lr.resources) != 0 {
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

// Find queries `attribute eq "value"`; groups are read without members.
// Resources whose returned attribute contradicts the filter are dropped, so
// a server that ignores filters cannot make every object a match.
func (c *Client) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return nil, err
	}
	p, err := ParsePath(attribute)
	if err != nil {
		return nil, invalidPath(attribute, err)
	}
	literal := Quote(value)
	if b, ok := parseBool(value); ok && isBoolean(p) {
		literal = strconv.FormatBool(b)
	}
	q := url.Values{"filter": {p.String() + " eq " + literal}}
	if typ == connector.TypeGroup {
		q.Set("excludedAttributes", "members")
	}
	objs := []connector.Object{}
	seen := map[string]bool{}
	for page := 0; page < maxFindPages; page++ {
		if page > 0 {
			q.Set("startIndex", strconv.Itoa(len(seen)+1))
		}
		resp, err := c.do(ctx, http.MethodGet, endpoint, q, nil)
		if err != nil {
			return nil, err
		}
		lr, err := decodeList(http.MethodGet, endpoint, resp)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, r := range lr.resources {
			id, _ := scalarString(r["id"])
			if id == "" {
				return nil, incompatible(http.MethodGet, endpoint, resp.status, resp.body, "a resource has no id")
			}
			if seen[id] {
				continue
			}
			seen[id], fresh = true, fresh+1
			attrs := Flatten(r)
			if got, ok := attrs[p.String()]; ok && !slices.ContainsFunc(got, func(s string) bool { return strings.EqualFold(s, value) }) {
				continue
			}
			objs = append(objs, connector.Object{ID: id, Type: typ, Attrs: attrs})
		}
		if fresh == 0 || len(seen) >= lr.total {
			break
		}
	}
	return objs, nil
}

// Get reads one resource; groups include their members.
func (c *Client) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	r, err := c.get(ctx, endpoint, id)
	if err != nil {
		return connector.Object{}, err
	}
	rid, _ := scalarString(r["id"])
	return connector.Object{ID: rid, Type: typ, Attrs: Flatten(r)}, nil
}

func (c *Client) get(ctx context.Context, endpoint, id string) (map[string]any, error) {
	path, err := resourcePath(endpoint, id)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	r, _, err := decodeResource(http.MethodGet, path, resp)
	return r, err
}

// Create posts the resource BuildResource makes from attrs (groups without
// members) and returns it as the server answered.
func (c *Client) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	res, err := BuildResource(typ, attrs)
	if err != nil {
		return connector.Object{}, err
	}
	resp, err := c.do(ctx, http.MethodPost, endpoint, nil, res)
	if err != nil {
		return connector.Object{}, err
	}
	r, id, err := decodeResource(http.MethodPost, endpoint, resp)
	if err != nil {
		return connector.Object{}, err
	}
	return connector.Object{ID: id, Type: typ, Attrs: Flatten(r)}, nil
}

// Update sends one RFC 7644 PATCH. See PatchOps for the operations; when set
// has filtered paths the resource is read first to choose between add and
// replace. Nothing is sent when there is nothing to change.
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
	if typ == connector.TypeGroup {
		defer c.groups.lock(id)()
	}
	var current map[string]any
	for k := range set {
		if p, err := ParsePath(k); err == nil && p.Filtered() {
			if current, err = c.get(ctx, endpoint, id); err != nil {
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

// Delete deletes the resource; a missing one is KindNotFound.
func (c *Client) Delete(ctx context.Context, objectType, id string) error {
	endpoint, _, err := resourceType(objectType)
	if err != nil {
		return err
	}
	path, err := resourcePath(endpoint, id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodDelete, path, nil, nil)
	return err
}

// AddMembers sends one PATCH adding every member:
// {"op":"add","path":"members","value":[{"value":id},…]}.
func (c *Client) AddMembers(ctx context.Context, groupID string, memberIDs []string) error {
	path, err := resourcePath("/Groups", groupID)
	if err != nil {
		return err
	}
	ids := dedupe(slices.DeleteFunc(slices.Clone(memberIDs), func(s string) bool { return s == "" }))
	if len(ids) == 0 {
		return nil
	}
	defer c.groups.lock(groupID)()
	v, _ := wireValue(Path{Attr: "members"}, ids)
	return c.patch(ctx, path, []PatchOp{{Op: "add", Path: "members", Value: v}})
}

// RemoveMembers sends one PATCH with a filtered remove per member:
// {"op":"remove","path":"members[value eq \"id\"]"}. A strict server that
// answers 400 noTarget for an absent member gets the group read and the
// PATCH resent for the members it actually has.
func (c *Client) RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error {
	path, err := resourcePath("/Groups", groupID)
	if err != nil {
		return err
	}
	ids := dedupe(slices.DeleteFunc(slices.Clone(memberIDs), func(s string) bool { return s == "" }))
	if len(ids) == 0 {
		return nil
	}
	defer c.groups.lock(groupID)()
	err = c.patch(ctx, path, removeMemberOps(ids))
	re, ok := asResponseError(err)
	if !ok || re.Status != http.StatusBadRequest || !strings.EqualFold(re.ScimType, "noTarget") {
		return err
	}
	g, gerr := c.get(ctx, "/Groups", groupID)
	if gerr != nil {
		return err
	}
	have := Flatten(g)["members"]
	ids = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(have, id) })
	if len(ids) == 0 {
		return nil
	}
	return c.patch(ctx, path, removeMemberOps(ids))
}

func removeMemberOps(ids []string) []PatchOp {
	ops := make([]PatchOp, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, PatchOp{Op: "remove", Path: Path{Attr: "members", FilterAttr: "value", FilterValue: id}.String()})
	}
	return ops
}

func asResponseError(err error) (*ResponseError, bool) {
	ce, ok := err.(*connector.Error)
	if !ok || ce == nil {
		return nil, false
	}
	re, ok := ce.Err.(*ResponseError)
	return re, ok
}

// patch sends a PatchOp message; any 2xx (200 with or without a body, 204)
// is success.
func (c *Client) patch(ctx context.Context, path string, ops []PatchOp) error {
	if len(ops) == 0 {
		return nil
	}
	_, err := c.do(ctx, http.MethodPatch, path, nil, PatchRequest{Schemas: []string{PatchOpSchema}, Operations: ops})
	return err
}

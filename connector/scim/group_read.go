package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// maxGroupResponseBytes is how much of a group's GET (members inline) the
// client reads: a member is about 50 bytes, so this is some ten million
// members, where other answers stop at maxResponseBytes.
const maxGroupResponseBytes = 512 << 20

// responseLimit is the context key of a request's own response limit.
type responseLimit struct{}

// limitOf is the most of a response attempt reads for ctx's request.
func limitOf(ctx context.Context) int {
	if n, ok := ctx.Value(responseLimit{}).(int); ok {
		return n
	}
	return maxResponseBytes
}

// getGroup GETs a group with its members and flattens it as Get does
// (Flatten of the decoded resource), but streams the members: each element
// is decoded and flattened on its own, so a million-member group costs its
// body and its member ids, not a decoded object per member.
func (c *Client) getGroup(ctx context.Context, id string) (string, connector.Attributes, error) {
	path, err := resourcePath("/Groups", id)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.do(context.WithValue(ctx, responseLimit{}, maxGroupResponseBytes), http.MethodGet, path, nil, nil)
	if err != nil {
		return "", nil, err
	}
	rid, attrs, err := flattenGroup(resp.body)
	if err != nil {
		return "", nil, incompatible(http.MethodGet, path, resp, err.Error())
	}
	return rid, attrs, nil
}

// flattenGroup reads a group resource as scimjson.DecodeObject, then
// Flatten, would, member elements one at a time. A members attribute
// named twice keeps the elements of both.
func flattenGroup(body []byte) (string, connector.Attributes, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return "", nil, notObject(err)
	} else if t != json.Delim('{') {
		return "", nil, errors.New("not a JSON object")
	}
	out, rest := connector.Attributes{}, map[string]any{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil, notObject(err)
		}
		key := t.(string) // an object's keys are strings
		if !strings.EqualFold(key, "members") || !arrayNext(body, dec.InputOffset()) {
			var v any
			if err := dec.Decode(&v); err != nil {
				return "", nil, notObject(err)
			}
			rest[key] = v
			continue
		}
		delete(rest, key)
		if _, err := dec.Token(); err != nil { // [
			return "", nil, notObject(err)
		}
		p := Path{Attr: canonicalName(key)}
		for dec.More() {
			var e any
			if err := dec.Decode(&e); err != nil {
				return "", nil, notObject(err)
			}
			flattenElement(out, p, e)
		}
		if _, err := dec.Token(); err != nil { // ]
			return "", nil, notObject(err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return "", nil, notObject(err)
	}
	if err := scimjson.AtEnd(dec); err != nil {
		return "", nil, notObject(err)
	}
	flattenInto(out, rest)
	id, _ := scalarString(rest["id"])
	if id == "" {
		return "", nil, errors.New("the resource has no id")
	}
	return id, dedupeAll(out), nil
}

// notObject says why body is not one JSON object, as DecodeObject would.
func notObject(err error) error { return errors.New("not a JSON object: " + err.Error()) }

// arrayNext reports whether the value after offset (past the colon) in
// body is an array.
func arrayNext(body []byte, offset int64) bool {
	for _, c := range body[offset:] {
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		}
		return c == '['
	}
	return false
}

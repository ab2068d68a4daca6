package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// AddMembers adds members to a group with one PATCH,
// {"op":"add","path":"members","value":[{"value":id},…]} (Entra-legacy:
// "Add" and "$ref": null in each value), or read-modify-PUT when the
// server has no PATCH. A server that refuses the whole change with 400
// (one unknown member id, say) gets the members one by one, so the others
// are still added; the error then names the refused ones.
func (c *Client) AddMembers(ctx context.Context, groupID string, memberIDs []string) error {
	return c.changeMembers(ctx, groupID, memberIDs, c.addMembers)
}

func (c *Client) addMembers(ctx context.Context, groupID, path string, ids []string) error {
	add := func(ids []string) func() error {
		return func() error {
			return c.patchOrPut(ctx, connector.TypeGroup,
				func() error { return c.patch(ctx, path, []PatchOp{c.addMembersOp(ids)}) },
				func() error { return c.putMembers(ctx, groupID, path, ids, nil) })
		}
	}
	err := add(ids)()
	if connector.IsNotFound(err) {
		err = c.confirmGone(ctx, "/Groups", groupID, err, add(ids))
	}
	if len(ids) < 2 || statusOf(err) != http.StatusBadRequest {
		return err
	}
	var (
		refused []string
		first   *connector.Error
	)
	for _, id := range ids {
		e := add([]string{id})()
		var ce *connector.Error
		switch {
		case e == nil:
		case errors.As(e, &ce) && ce.Kind == connector.KindInvalid:
			refused = append(refused, id)
			if first == nil {
				first = ce
			}
		default:
			return e
		}
	}
	if first == nil {
		return nil
	}
	ce := *first
	ce.Message = fmt.Sprintf("The SCIM endpoint refused to add %d of %d members to group %s (%s); the others were added. %s",
		len(refused), len(ids), groupID, strings.Join(refused, ", "), ce.Message)
	ce.Err = first
	return &ce
}

// changeMembers runs change with the group's path and the member ids
// without empty or repeated ones, the group locked; no ids is nothing to
// do.
func (c *Client) changeMembers(ctx context.Context, groupID string, memberIDs []string,
	change func(ctx context.Context, groupID, path string, ids []string) error) error {
	path, err := resourcePath("/Groups", groupID)
	if err != nil {
		return err
	}
	ids := cleanIDs(memberIDs)
	if len(ids) == 0 {
		return nil
	}
	unlock, err := c.lock(ctx, connector.TypeGroup, groupID)
	if err != nil {
		return err
	}
	defer unlock()
	// A big change goes in requests of membersPerRequest members, so that
	// neither side holds a million members' request at once. Members a
	// request refuses do not stop the others.
	var refused error
	for chunk := range slices.Chunk(ids, membersPerRequest) {
		err := change(ctx, groupID, path, chunk)
		switch {
		case err == nil:
		case connector.KindOf(err) != connector.KindInvalid:
			return err
		case refused == nil:
			refused = err
		}
	}
	return refused
}

// membersPerRequest is how many members one request adds or removes at
// most.
const membersPerRequest = 5000

// addMembersOp is the RFC operation adding members; legacy adds "$ref".
func (c *Client) addMembersOp(ids []string) PatchOp {
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		m := map[string]any{"value": id}
		if c.profile.PatchDialect == DialectEntraLegacy {
			m["$ref"] = nil
		}
		list = append(list, m)
	}
	return PatchOp{Op: "add", Path: "members", Value: list}
}

// RemoveMembers removes members from a group with one PATCH: a filtered
// remove per member, {"op":"remove","path":"members[value eq \"id\"]"}, or
// in the Entra-legacy dialect one
// {"op":"Remove","path":"members","value":[{"value":id},…]}. A strict
// server that answers 400 noTarget for an absent member gets the group read
// and the PATCH resent for the members it actually has. Without PATCH the
// group is read and PUT back.
func (c *Client) RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error {
	return c.changeMembers(ctx, groupID, memberIDs, c.removeMembers)
}

func (c *Client) removeMembers(ctx context.Context, groupID, path string, ids []string) error {
	remove := func() error {
		return c.patchOrPut(ctx, connector.TypeGroup,
			func() error { return c.patchRemoveMembers(ctx, groupID, path, ids) },
			func() error { return c.putMembers(ctx, groupID, path, nil, ids) })
	}
	err := remove()
	if connector.IsNotFound(err) {
		return c.confirmGone(ctx, "/Groups", groupID, err, remove)
	}
	return err
}

func (c *Client) patchRemoveMembers(ctx context.Context, groupID, path string, ids []string) error {
	err := c.patch(ctx, path, c.removeMemberOps(ids))
	re, ok := asResponseError(err)
	if !ok || re.Status != http.StatusBadRequest || !strings.EqualFold(re.ScimType, "noTarget") {
		return err
	}
	g, gerr := c.readGroup(ctx, groupID)
	if gerr != nil {
		return err
	}
	have := set(Flatten(g)["members"])
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !have[id] })
	if len(ids) == 0 {
		return nil
	}
	return c.patch(ctx, path, c.removeMemberOps(ids))
}

func (c *Client) removeMemberOps(ids []string) []PatchOp {
	if c.profile.PatchDialect == DialectEntraLegacy {
		list := make([]any, 0, len(ids))
		for _, id := range ids {
			list = append(list, map[string]any{"value": id})
		}
		return []PatchOp{{Op: "remove", Path: "members", Value: list}}
	}
	ops := make([]PatchOp, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, PatchOp{Op: "remove", Path: Path{Attr: "members", FilterAttr: "value", FilterValue: id}.String()})
	}
	return ops
}

// putMembers changes membership by reading the group with its members and
// PUTting it back; nothing is sent when nothing changes.
func (c *Client) putMembers(ctx context.Context, groupID, path string, add, remove []string) error {
	g, err := c.readGroup(ctx, groupID)
	if err != nil {
		return err
	}
	key := scimjson.Key(g, "members")
	old, _ := g[key].([]any)
	members := make([]any, 0, len(old)+len(add))
	gone, have := set(remove), map[string]bool{}
	changed := false
	for _, e := range old {
		v := memberValue(e)
		if gone[v] {
			changed = true
			continue
		}
		members = append(members, e)
		have[v] = true
	}
	for _, id := range add {
		if !have[id] {
			members = append(members, map[string]any{"value": id})
			have[id] = true
			changed = true
		}
	}
	if !changed {
		return nil
	}
	g[key] = members
	return c.put(ctx, path, connector.TypeGroup, g)
}

func memberValue(e any) string {
	m, _ := e.(map[string]any)
	v, _ := scimjson.Lookup(m, "value")
	s, _ := scalarString(v)
	return s
}

// readGroup GETs a group with its members. With MembershipByUserFilter the
// group is read without members and they are read with groupMembers.
func (c *Client) readGroup(ctx context.Context, id string) (map[string]any, error) {
	if c.profile.MembershipRead != MembershipByUserFilter {
		return c.get(ctx, "/Groups", id, nil)
	}
	g, err := c.get(ctx, "/Groups", id, url.Values{"excludedAttributes": {"members"}})
	if err != nil {
		return nil, err
	}
	if err := c.addGroupMembers(ctx, g, id); err != nil {
		return nil, err
	}
	return g, nil
}

// addGroupMembers sets the members of g, the group id read without them,
// to those groupMembers reads.
func (c *Client) addGroupMembers(ctx context.Context, g map[string]any, id string) error {
	ids, err := c.groupMembers(ctx, id)
	if err != nil {
		return err
	}
	delete(g, scimjson.Key(g, "members"))
	if len(ids) > 0 {
		list := make([]any, 0, len(ids))
		for _, m := range ids {
			list = append(list, map[string]any{"value": m})
		}
		g["members"] = list
	}
	return nil
}

// groupMembers reads a group's member ids for servers that hide members on
// GET /Groups/{id}: GET /Users?filter=groups.value eq "<id>" (all pages,
// keeping users whose groups show the group), or, when the server has no
// filters or refuses that one (remembered per client),
// GET /Groups/{id}?attributes=members.
func (c *Client) groupMembers(ctx context.Context, groupID string) ([]string, error) {
	caps, err := c.capabilities(ctx)
	if err != nil {
		return nil, err
	}
	if !c.noUserFilter.Load() && caps.filter {
		q := url.Values{"filter": {"groups.value eq " + Quote(groupID)}, "attributes": {"groups"}}
		var ids []string
		groupsValue := Path{Attr: "groups", Sub: "value"}
		_, err := c.list(ctx, "/Users", q, c.maxScan, func(r map[string]any, id string) {
			if matches(r, groupsValue, groupID, false) {
				ids = append(ids, id)
			}
		})
		if !filterRefused(err) {
			if _, ok := err.(*tooMany); ok {
				err = &connector.Error{Kind: connector.KindInvalid, Code: CodeServiceIncompatible,
					Message: fmt.Sprintf("Group %s has more than %d members; the membership cannot be read.", groupID, c.maxScan)}
			}
			return ids, err
		}
		c.noUserFilter.Store(true)
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim groups.value filter refused; reading members with ?attributes=members",
			slog.String("error", err.Error()))
	}
	g, err := c.get(ctx, "/Groups", groupID, url.Values{"attributes": {"members"}})
	if err != nil {
		return nil, err
	}
	return Flatten(g)["members"], nil
}

// cleanIDs drops empty and repeated ids.
// set is ids as a set: groups have tens of thousands of members.
func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func cleanIDs(ids []string) []string {
	return dedupe(slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "" }))
}

func asResponseError(err error) (*ResponseError, bool) {
	ce, ok := err.(*connector.Error)
	if !ok || ce == nil {
		return nil, false
	}
	re, ok := ce.Err.(*ResponseError)
	return re, ok
}

package scimserver

import (
	"fmt"
	"net/url"
	"strings"

	"provisiond/connector/scim/scimjson"
)

// routes are the endpoint names in their canonical case.
var routes = []string{"Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes"}

// route returns the canonical endpoint name for a path segment, "" for
// none: any case, or only the canonical one with CaseSensitiveRoutes.
func (s *Server) route(seg string) string {
	for _, r := range routes {
		if seg == r || !s.opts.CaseSensitiveRoutes && strings.EqualFold(seg, r) {
			return r
		}
	}
	return ""
}

// checkStrictFilter enforces StrictFilter: a single eq on id, externalId,
// userName, emails.value or displayName.
func checkStrictFilter(f Filter) error {
	if ce, ok := f.(compareExpr); ok && ce.op == "eq" && ce.path.Filter == nil &&
		(ce.path.Schema == "" || isCoreSchema(ce.path.Schema)) {
		attr, sub := strings.ToLower(ce.path.Attr), strings.ToLower(ce.path.Sub)
		switch {
		case sub == "" && (attr == "id" || attr == "externalid" || attr == "username" || attr == "displayname"):
			return nil
		case attr == "emails" && sub == "value":
			return nil
		}
	}
	return badRequest("invalidFilter", "only a single eq filter on id, externalId, userName, emails.value or displayName is supported, not %s", f)
}

// present prepares a stored resource for a read (s.mu held): users get
// their computed groups and groups lose their members when HideMembers is
// on, unless q's attributes ask for members.
func (s *Server) present(typ string, r map[string]any, q url.Values) map[string]any {
	if !s.opts.HideMembers {
		return r
	}
	out := make(map[string]any, len(r)+1)
	for k, v := range r {
		out[k] = v
	}
	if typ == "Group" {
		if !asksFor(q, "members") {
			delete(out, scimjson.Key(out, "members"))
		}
		return out
	}
	id, _ := r["id"].(string)
	var groups []any
	for _, g := range s.groups.list() {
		list, _ := g[scimjson.Key(g, "members")].([]any)
		for _, m := range list {
			if mm, ok := m.(map[string]any); ok {
				if v, _ := scimjson.Lookup(mm, "value"); v == id {
					name, _ := scimjson.Lookup(g, "displayName")
					groups = append(groups, map[string]any{"value": g["id"], "display": name})
					break
				}
			}
		}
	}
	delete(out, scimjson.Key(out, "groups"))
	if groups != nil {
		out["groups"] = groups
	}
	return out
}

// asksFor reports whether ?attributes= names the attribute or one of its
// sub-attributes.
func asksFor(q url.Values, attr string) bool {
	for _, a := range strings.Split(q.Get("attributes"), ",") {
		a = strings.TrimSpace(a)
		if strings.EqualFold(a, attr) || len(a) > len(attr) && strings.EqualFold(a[:len(attr)+1], attr+".") {
			return true
		}
	}
	return false
}

// checkNewUser enforces RequireEmail on a user being created.
func (s *Server) checkNewUser(res map[string]any) error {
	if !s.opts.RequireEmail {
		return nil
	}
	if name, _ := scimjson.Lookup(res, "userName"); strings.Contains(fmt.Sprint(name), "@") {
		return nil
	}
	emails, _ := scimjson.Lookup(res, "emails")
	list, _ := emails.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if v, _ := scimjson.Lookup(m, "value"); v != nil && v != "" {
				return nil
			}
		}
	}
	return badRequest("invalidValue", "emails is required when userName is not an email address")
}

// checkMembers enforces RejectUnknownMembers (s.mu held): every member the
// change adds to a group must be a user or a group.
func (s *Server) checkMembers(old, res map[string]any) error {
	if !s.opts.RejectUnknownMembers {
		return nil
	}
	before := map[any]bool{}
	if old != nil {
		for _, v := range memberValues(old) {
			before[v] = true
		}
	}
	for _, v := range memberValues(res) {
		id, _ := v.(string)
		if before[v] || s.users.byID[id] != nil || s.groups.byID[id] != nil {
			continue
		}
		return badRequest("invalidValue", "member %s is not a user or a group", scimjson.Compact(v))
	}
	return nil
}

func memberValues(g map[string]any) []any {
	list, _ := g[scimjson.Key(g, "members")].([]any)
	var out []any
	for _, m := range list {
		if mm, ok := m.(map[string]any); ok {
			v, _ := scimjson.Lookup(mm, "value")
			out = append(out, v)
		}
	}
	return out
}

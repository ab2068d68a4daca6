package scimserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"provisiond/connector/scim/scimjson"
	"provisiond/ids"
)

func (s *Server) coll(typ string) *collection {
	if typ == "Group" {
		return &s.groups
	}
	return &s.users
}

func endpointOf(typ string) string { return "/" + typ + "s" }

// uniqueKey is the attribute unique per type, compared case-insensitively.
func uniqueKey(typ string) string {
	if typ == "Group" {
		return "displayName"
	}
	return "userName"
}

// validate checks a resource about to be stored (s.mu held): the unique
// attribute is a non-empty string no other resource of the type has.
func (s *Server) validate(typ, id string, res map[string]any) error {
	key := uniqueKey(typ)
	v, _ := scimjson.Lookup(res, key)
	str, ok := v.(string)
	if !ok || strings.TrimSpace(str) == "" {
		return badRequest("invalidValue", "%s is required and must be a string", key)
	}
	if !s.opts.NoUniqueness {
		for oid := range s.coll(typ).holding(str) {
			if oid != id {
				return &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: fmt.Sprintf("%s '%s' is already in use", key, str)}
			}
		}
	}
	if a, ok := scimjson.Lookup(res, "active"); ok {
		b, err := coerce(AttrPath{Attr: "active"}, a)
		if err != nil {
			return err
		}
		res[scimjson.Key(res, "active")] = b
	}
	if typ == "Group" {
		if m, ok := scimjson.Lookup(res, "members"); ok && m != nil {
			list, ok := m.([]any)
			if !ok {
				return badRequest("invalidValue", "members must be an array")
			}
			if s.members[id].describes(list) {
				return nil // every indexed member has a string value
			}
			for _, e := range list {
				em, _ := e.(map[string]any)
				if v, _ := scimjson.Lookup(em, "value"); v == nil {
					return badRequest("invalidValue", "every member needs a value")
				}
			}
		}
	}
	return nil
}

// stamp sets id, schemas (when missing) and meta on a resource being stored.
func (s *Server) stamp(c *call, typ, id string, res map[string]any, created string) {
	now := s.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	if created == "" {
		created = now
	}
	s.version++
	for _, k := range []string{"id", "meta"} {
		delete(res, scimjson.Key(res, k))
	}
	res["id"] = id
	if _, ok := scimjson.Lookup(res, "schemas"); !ok {
		core := scimjson.UserSchema
		if typ == "Group" {
			core = scimjson.GroupSchema
		}
		res["schemas"] = []any{core}
	}
	res["meta"] = map[string]any{
		"resourceType": typ,
		"created":      created,
		"lastModified": now,
		"location":     c.base + endpointOf(typ) + "/" + url.PathEscape(id),
		"version":      fmt.Sprintf(`W/"%d"`, s.version),
	}
}

func (s *Server) create(c *call, typ string) (reply, error) {
	res, err := scimjson.DecodeObject(c.body)
	if err != nil {
		return reply{}, badRequest("invalidSyntax", "the body is not a JSON object: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.validate(typ, "", res); err != nil {
		return reply{}, err
	}
	if typ == "User" {
		if err := s.checkNewUser(res); err != nil {
			return reply{}, err
		}
	} else if err := s.checkMembers(nil, res); err != nil {
		return reply{}, err
	}
	id := ids.NewUUID()
	s.stamp(c, typ, id, res, "")
	s.coll(typ).put(id, res, uniqueKey(typ))
	out := deepCopy(s.present(typ, res, nil)).(map[string]any)
	return reply{status: http.StatusCreated, body: out, location: out["meta"].(map[string]any)["location"].(string)}, nil
}

func (s *Server) get(c *call, typ, id string) (reply, error) {
	proj, err := projection(c.r.URL.Query())
	if err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.coll(typ).byID[id]
	if !ok {
		return reply{}, notFound(id)
	}
	return reply{status: http.StatusOK, body: proj(s.present(typ, res, c.r.URL.Query()))}, nil
}

func (s *Server) list(c *call, typ string) (reply, error) {
	q := c.r.URL.Query()
	proj, err := projection(q)
	if err != nil {
		return reply{}, err
	}
	var f Filter
	if fs := q.Get("filter"); strings.TrimSpace(fs) != "" {
		if s.opts.NoFilter {
			return reply{}, badRequest("invalidFilter", "filtering is not supported")
		}
		if f, err = ParseFilter(fs); err != nil {
			return reply{}, badRequest("invalidFilter", "%v", err)
		}
		if s.opts.StrictFilter {
			if err := checkStrictFilter(f); err != nil {
				return reply{}, err
			}
		}
	}
	start, count := 1, defaultCount
	if v := q.Get("startIndex"); v != "" {
		if start, err = strconv.Atoi(v); err != nil {
			return reply{}, badRequest("invalidValue", "startIndex must be an integer")
		}
		start = max(start, 1)
	}
	if v := q.Get("count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil {
			return reply{}, badRequest("invalidValue", "count must be an integer")
		}
		count = min(max(count, 0), maxCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []map[string]any
	for _, r := range s.coll(typ).list() {
		if r = s.present(typ, r, q); f == nil || f.Match(r) {
			hits = append(hits, r)
		}
	}
	page := []any{}
	for i := start - 1; i < len(hits) && len(page) < count; i++ {
		page = append(page, proj(hits[i]))
	}
	return reply{status: http.StatusOK, body: scimjson.NewListResponse(len(hits), start, page)}, nil
}

func (s *Server) replace(c *call, typ, id string) (reply, error) {
	res, err := scimjson.DecodeObject(c.body)
	if err != nil {
		return reply{}, badRequest("invalidSyntax", "the body is not a JSON object: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.coll(typ).byID[id]
	if !ok {
		return reply{}, notFound(id)
	}
	if typ == "User" && s.opts.HideMembers {
		delete(res, scimjson.Key(res, "groups")) // computed, read-only
	}
	if err := s.update(c, typ, id, old, res); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: deepCopy(s.present(typ, res, nil))}, nil
}

// update stores res as the new version of the resource old (s.mu held),
// once it passes the checks.
func (s *Server) update(c *call, typ, id string, old, res map[string]any) error {
	if err := s.validate(typ, id, res); err != nil {
		return err
	}
	if err := s.checkMembers(old, res); err != nil {
		return err
	}
	s.stamp(c, typ, id, res, old["meta"].(map[string]any)["created"].(string))
	s.coll(typ).put(id, res, uniqueKey(typ))
	if list, _ := res[scimjson.Key(res, "members")].([]any); !s.members[id].describes(list) {
		delete(s.members, id) // replaced: its index would keep the old members alive
	}
	return nil
}

// editsMembers reports whether an operation changes group members in place
// (a filter or a sub-attribute: members[value eq "x"].display): the
// members' index holds only for lists changed whole or appended to.
func editsMembers(ops []PatchOperation) bool {
	for _, o := range ops {
		if p := o.Path; p != nil && strings.EqualFold(p.Attr, "members") && (p.Filter != nil || p.Sub != "") {
			return true
		}
	}
	return false
}

// patch applies a PatchOp: users answer 200 with the resource, groups 204
// (what Entra prefers) unless PatchReturnsResource.
func (s *Server) patch(c *call, typ, id string) (reply, error) {
	ops, err := DecodePatch(c.body)
	if err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.coll(typ).byID[id]
	if !ok {
		return reply{}, notFound(id)
	}
	var members *keyIndex
	if editsMembers(ops) {
		delete(s.members, id)
	} else if typ == "Group" {
		if members = s.members[id]; members == nil {
			members = &keyIndex{}
			if s.members == nil {
				s.members = map[string]*keyIndex{}
			}
			s.members[id] = members
		}
	}
	res := patchCopy(old, ops)
	err = applyPatch(res, ops, members)
	if err == nil {
		err = s.update(c, typ, id, old, res)
	}
	if err != nil {
		delete(s.members, id) // it may index res's members
		return reply{}, err
	}
	if typ == "Group" && !s.opts.PatchReturnsResource {
		return reply{status: http.StatusNoContent}, nil
	}
	return reply{status: http.StatusOK, body: deepCopy(s.present(typ, res, nil))}, nil
}

// delete removes a resource; a deleted user also leaves every group.
func (s *Server) delete(typ, id string) (reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.coll(typ).byID[id]; !ok {
		return reply{}, notFound(id)
	}
	s.coll(typ).remove(id)
	delete(s.members, id)
	if typ == "User" {
		clear(s.members) // the groups' member lists are built anew below
		for _, g := range s.groups.list() {
			key := scimjson.Key(g, "members")
			if list, ok := g[key].([]any); ok {
				g[key] = removeValues(list, []any{map[string]any{"value": id}})
			}
		}
	}
	return reply{status: http.StatusNoContent}, nil
}

// projection returns the function that applies ?attributes= or
// ?excludedAttributes= (attributes wins) to a resource; id and schemas are
// always returned. Entries name top-level attributes, extension attributes
// (`urn:…:User:department`) or sub-attributes (`name.givenName`).
func projection(q url.Values) (func(map[string]any) map[string]any, error) {
	parse := func(list string) ([]AttrPath, error) {
		var out []AttrPath
		for _, a := range strings.Split(list, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			p, err := ParsePath(a)
			if err != nil || p.Filter != nil {
				return nil, badRequest("invalidFilter", "invalid attribute %q", a)
			}
			out = append(out, p)
		}
		return out, nil
	}
	if inc := q.Get("attributes"); inc != "" {
		paths, err := parse(inc)
		if err != nil {
			return nil, err
		}
		return func(r map[string]any) map[string]any {
			out := map[string]any{"id": r["id"], "schemas": deepCopy(r["schemas"])}
			if m, ok := r["meta"]; ok {
				out["meta"] = deepCopy(m)
			}
			for _, p := range paths {
				copyPath(out, r, p)
			}
			return out
		}, nil
	}
	exc, err := parse(q.Get("excludedAttributes"))
	if err != nil {
		return nil, err
	}
	return func(r map[string]any) map[string]any {
		out := deepCopy(r).(map[string]any)
		for _, p := range exc {
			if strings.EqualFold(p.Attr, "id") || strings.EqualFold(p.Attr, "schemas") {
				continue
			}
			c := container(out, p)
			if c == nil {
				continue
			}
			key := scimjson.Key(c, p.Attr)
			if p.Sub == "" {
				delete(c, key)
			} else if m, ok := c[key].(map[string]any); ok {
				delete(m, scimjson.Key(m, p.Sub))
			}
		}
		return out
	}, nil
}

// copyPath copies the attribute at p from src into dst.
func copyPath(dst, src map[string]any, p AttrPath) {
	sc := container(src, p)
	if sc == nil {
		return
	}
	v, ok := scimjson.Lookup(sc, p.Attr)
	if !ok {
		return
	}
	dc := dst
	if p.Schema != "" && !isCoreSchema(p.Schema) {
		key := scimjson.Key(src, p.Schema)
		m, _ := dst[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
			dst[key] = m
		}
		dc = m
	}
	key := scimjson.Key(sc, p.Attr)
	if p.Sub == "" {
		dc[key] = deepCopy(v)
		return
	}
	sm, ok := v.(map[string]any)
	if !ok {
		return
	}
	sv, ok := scimjson.Lookup(sm, p.Sub)
	if !ok {
		return
	}
	dm, _ := dc[key].(map[string]any)
	if dm == nil {
		dm = map[string]any{}
		dc[key] = dm
	}
	dm[scimjson.Key(sm, p.Sub)] = deepCopy(sv)
}

package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/connector"
	"provisiond/directory"
	"provisiond/store"
)

// This file holds the /groups routes, group membership ($ref) and the
// parsing of @odata.id references shared with service principal owners.

func (s *Server) routesGroups(mux *http.ServeMux) {
	groups := s.groups()
	s.route(mux, "GET /groups", auth.GroupRead, groups.list)
	s.route(mux, "GET /groups/$count", auth.GroupRead, groups.count)
	s.getOnly(mux, "/groups/$count")
	s.route(mux, "POST /groups", auth.GroupWrite, s.createGroup)
	s.route(mux, "GET /groups/{groupId}", auth.GroupRead, groups.get)
	s.route(mux, "PATCH /groups/{groupId}", auth.GroupWrite, groups.update)
	s.route(mux, "DELETE /groups/{groupId}", auth.GroupWrite, groups.delete)
	s.route(mux, "GET /groups/{groupId}/members", auth.GroupRead, s.listMembers)
	s.route(mux, "POST /groups/{groupId}/members/$ref", auth.GroupMemberWrite, s.addMember)
	s.route(mux, "DELETE /groups/{groupId}/members/{memberId}/$ref", auth.GroupMemberWrite, s.removeMember)
	// DELETE /groups/{id}/members/$ref?$id={url} is the other form Graph takes.
	s.route(mux, "DELETE /groups/{groupId}/members/$ref", auth.GroupMemberWrite, s.removeMember)
	s.route(mux, "GET /groups/{groupId}/appRoleAssignments", auth.GroupRead, assignmentsOf(s, groups))
	s.route(mux, "GET /groups/{groupId}/memberOf", auth.GroupRead, memberOf(s, groups))
}

// groups is the /groups entity set.
func (s *Server) groups() resource[store.Group] {
	return resource[store.Group]{
		set: "groups", key: "groupId", fields: groupFields, view: groupJSON,
		find: s.lookupGroup, fetch: s.store.ListGroups,
		id:   func(g store.Group) string { return g.ID },
		spec: groupSpec,
		apply: func(g *store.Group, d decoded) error {
			if err := refuseMastered(connector.ClassGroup, g.Props, d); err != nil {
				return err
			}
			if v, ok := d.props["displayName"].(string); ok {
				g.DisplayName = v
			}
			g.Props = applyProps(g.Props, d, "displayName")
			// A change of kind must give a kind Graph has; other changes
			// leave a group as it came (cloud sync's may be mail-enabled).
			for _, k := range []string{"groupTypes", "mailEnabled", "securityEnabled"} {
				if _, changed := d.props[k]; changed {
					return checkGroupKind(g.Props)
				}
			}
			return nil
		},
		edit:       storeEdit(s.store.EditGroup, func(g *store.Group) bool { return g.Deleted != nil }, nil),
		link:       s.bindMembers,
		softDelete: func(g *store.Group) { g.Deleted = s.deletedNow() },
	}
}

func checkGroupTypes(v any) string {
	types := v.([]any)
	for _, t := range types {
		if t != "Unified" {
			return "only \"Unified\" is supported (dynamic membership is not)"
		}
	}
	if len(types) > 1 {
		return "\"Unified\" is given more than once"
	}
	return ""
}

// checkGroupKind refuses a group Graph cannot create or turn it into:
// one is a security group (groupTypes [], mailEnabled false,
// securityEnabled true) or a Microsoft 365 group (groupTypes ["Unified"],
// mailEnabled true).
func checkGroupKind(props map[string]any) error {
	types, _ := props["groupTypes"].([]any)
	unified := len(types) > 0
	mail, _ := props["mailEnabled"].(bool)
	security, _ := props["securityEnabled"].(bool)
	switch {
	case unified && !mail:
		return dirBadRequest("A Microsoft 365 group (groupTypes [\"Unified\"]) is mail-enabled: set mailEnabled to true.")
	case !unified && mail:
		return dirBadRequest("The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false (or make it a Microsoft 365 group: groupTypes [\"Unified\"]).")
	case !unified && !security:
		return dirBadRequest("A group is a security group (securityEnabled true) or a Microsoft 365 group (groupTypes [\"Unified\"], mailEnabled true); this one is neither.")
	}
	return nil
}

// groupSpec lists the writable group properties.
var groupSpec = newObjectSpec(objectSpec{
	typeName: "microsoft.graph.group",
	resource: "Group",
	props: map[string]propSpec{
		"displayName":     {kind: kindString, required: true, check: nonEmpty(256)},
		"mailEnabled":     {kind: kindBool, required: true},
		"mailNickname":    {kind: kindString, required: true, check: checkMailNickname},
		"securityEnabled": {kind: kindBool, required: true},
		"description":     {kind: kindString, multiline: true, check: maxLen(1024)},
		"groupTypes":      {kind: kindStrings, check: checkGroupTypes},
	},
	readOnly: append([]string{"id", "createdDateTime", "deletedDateTime"}, onPremisesReadOnly...),
	binds:    []string{"members"},
})

var groupFields = newFields("microsoft.graph.group", func() map[string]kind {
	m := map[string]kind{"id": kindString, "createdDateTime": kindString, "mail": kindString}
	maps.Copy(m, onPremisesFields)
	delete(m, "onPremisesUserPrincipalName")
	for name, p := range groupSpec.props {
		m[name] = p.kind
	}
	return m
}(), false)

// groupJSON is the Graph representation of g.
func groupJSON(g store.Group) map[string]any {
	m := map[string]any{"description": nil, "groupTypes": []any{}}
	for k, v := range g.Props {
		m[k] = v
	}
	if m["groupTypes"] == nil {
		m["groupTypes"] = []any{}
	}
	m["id"] = g.ID
	m["displayName"] = g.DisplayName
	if !g.Created.IsZero() {
		m["createdDateTime"] = graphTime(g.Created)
	}
	return m
}

// lookupGroup finds a group that is not soft-deleted.
func (s *Server) lookupGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := s.store.GetGroup(ctx, id)
	if err == nil && g.Deleted != nil {
		err = store.ErrNotFound
	}
	return g, storeErr(err, id)
}

// maxBinds caps members@odata.bind on create, as Graph does.
const maxBinds = 20

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	d, err := decodeBody(w, r, groupSpec, true)
	if err != nil {
		return err
	}
	if err := groupSpec.checkReadOnly(d, nil); err != nil {
		return err
	}
	if err := checkGroupKind(d.props); err != nil {
		return err
	}
	refs := d.binds["members"]
	if len(refs) > maxBinds {
		return dirBadRequest("At most %d members can be added with members@odata.bind when creating a group; add the rest with POST /groups/{id}/members/$ref.", maxBinds)
	}
	g := store.Group{
		ID:          s.newID(),
		DisplayName: d.props["displayName"].(string),
		Props:       applyProps(nil, d, "displayName"),
		Created:     s.now().UTC().Truncate(time.Second),
	}
	var members []string
	for _, ref := range refs {
		m, err := s.resolveMemberRef(r.Context(), ref)
		if err != nil {
			return err
		}
		if slices.Contains(members, m) {
			return dirBadRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
		members = append(members, m)
	}
	if err := s.store.CreateGroup(r.Context(), g); err != nil {
		return storeErr(err, "id")
	}
	for _, m := range members {
		if err := s.store.AddMember(r.Context(), g.ID, m); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return writeEntity(w, r, http.StatusCreated, "groups", query{}, groupJSON(g))
}

// bindMembers checks the members@odata.bind of a PATCH of group g, as
// Graph takes them to add members: at most maxBinds, each a user or group
// that is not g and not a member yet (which Graph refuses). The members
// are added after the group's properties are saved.
func (s *Server) bindMembers(ctx context.Context, g store.Group, d decoded) (func() error, error) {
	refs := d.binds["members"]
	if len(refs) == 0 {
		return nil, nil
	}
	if directory.IsSynced(g.Props) {
		return nil, errMastered // its members are the on-premises group's
	}
	if len(refs) > maxBinds {
		return nil, dirBadRequest("At most %d members can be added with members@odata.bind in one request; send the rest in another, or with POST /groups/{id}/members/$ref.", maxBinds)
	}
	current, err := s.store.ListMembers(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	var add []string
	for _, ref := range refs {
		id, err := s.resolveMemberRef(ctx, ref)
		if err != nil {
			return nil, err
		}
		switch {
		case id == g.ID:
			return nil, dirBadRequest("A group cannot be a member of itself.")
		case slices.Contains(current, id) || slices.Contains(add, id):
			return nil, dirBadRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
		add = append(add, id)
	}
	return func() error {
		for _, id := range add {
			if err := s.store.AddMember(ctx, g.ID, id); err != nil && !errors.Is(err, store.ErrConflict) {
				return storeErr(err, g.ID)
			}
		}
		return nil
	}, nil
}

// memberFields are the properties of a members collection (users and groups).
var memberFields = union("microsoft.graph.directoryObject", userFields, groupFields)

// directoryObject returns the Graph representation of a user, group or
// service principal with its @odata.type, or store.ErrNotFound. Soft-deleted
// users and groups are not found.
func (s *Server) directoryObject(ctx context.Context, id string) (map[string]any, error) {
	u, err := s.store.GetUser(ctx, id)
	switch {
	case err == nil && u.Deleted == nil:
		m := userJSON(u)
		m["@odata.type"] = "#microsoft.graph.user"
		return m, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	g, err := s.store.GetGroup(ctx, id)
	switch {
	case err == nil && g.Deleted == nil:
		m := groupJSON(g)
		m["@odata.type"] = "#microsoft.graph.group"
		return m, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	sp, err := s.store.GetServicePrincipal(ctx, id)
	switch {
	case err == nil:
		m := spJSON(sp)
		m["@odata.type"] = "#microsoft.graph.servicePrincipal"
		return m, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return nil, store.ErrNotFound
}

// objects resolves ids to directory objects, skipping ids that no longer
// resolve (soft-deleted members). unknown, when not nil, makes the entry
// for an unresolved id instead.
func (s *Server) objects(ctx context.Context, ids []string, unknown func(id string) map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		m, err := s.directoryObject(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if unknown != nil {
				out = append(out, unknown(id))
			}
		case err != nil:
			return nil, err
		default:
			out = append(out, m)
		}
	}
	return out, nil
}

// memberOf serves GET /{set}/{key}/memberOf: the groups the object (a
// user or a group) is a direct member of.
func memberOf[T any](s *Server, res resource[T]) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := parseDirectoryQuery(r, groupFields)
		if err != nil {
			return err
		}
		v, err := res.find(r.Context(), r.PathValue(res.key))
		if err != nil {
			return err
		}
		ids, err := s.store.ListMemberOf(r.Context(), res.id(v))
		if err != nil {
			return err
		}
		items, err := s.objects(r.Context(), ids, nil) // deleted groups drop out
		if err != nil {
			return err
		}
		return writeCollection(w, r, "directoryObjects", q, q.Apply(items))
	}
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseDirectoryQuery(r, memberFields)
	if err != nil {
		return err
	}
	g, err := s.lookupGroup(r.Context(), r.PathValue("groupId"))
	if err != nil {
		return err
	}
	ids, err := s.store.ListMembers(r.Context(), g.ID)
	if err != nil {
		return err
	}
	items, err := s.objects(r.Context(), ids, nil)
	if err != nil {
		return err
	}
	return writeCollection(w, r, "directoryObjects", q, q.Apply(items))
}

// decodeRef reads {"@odata.id": "..."}.
func decodeRef(w http.ResponseWriter, r *http.Request) (string, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return "", err
	}
	body, err := decodeObject(raw, `: {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`)
	if err != nil {
		return "", err
	}
	var ref string
	for k, v := range body {
		if k != "@odata.id" {
			if strings.HasPrefix(k, "@") {
				continue
			}
			return "", dirBadRequest(`Property '%s' is not allowed in a reference; send only {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.`, k)
		}
		if err := json.Unmarshal(v, &ref); err != nil {
			return "", dirBadRequest("Invalid value for '@odata.id': expected a URL string.")
		}
	}
	if ref == "" {
		return "", dirBadRequest(`Property '@odata.id' is required: {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.`)
	}
	return ref, nil
}

// parseRef splits an @odata.id URL such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id} (any host; OData
// key syntax allowed) into its entity set and id.
func parseRef(ref string) (set, id string, err error) {
	u, perr := url.Parse(strings.TrimSpace(ref))
	if perr == nil {
		segs := strings.Split(strings.Trim(normalizePath(u.Path), "/"), "/")
		if n := len(segs); n >= 2 && segs[n-1] != "" {
			set, id = segs[n-2], segs[n-1]
			for _, known := range []string{"directoryObjects", "users", "groups", "servicePrincipals"} {
				if strings.EqualFold(set, known) {
					return known, id, nil
				}
			}
		}
	}
	return "", "", dirBadRequest("Invalid @odata.id '%s': use a URL such as https://graph.microsoft.com/v1.0/directoryObjects/{id}.", ref)
}

// resolveMemberRef returns the id of the existing user or group an
// @odata.id names.
func (s *Server) resolveMemberRef(ctx context.Context, ref string) (string, error) {
	set, id, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	if id, err = s.userIDOf(ctx, set, id); err != nil {
		return "", err
	}
	obj, err := s.directoryObject(ctx, id)
	if err != nil {
		return "", storeErr(err, id)
	}
	typ, _ := obj["@odata.type"].(string)
	ok := set == "directoryObjects" && typ != "#microsoft.graph.servicePrincipal" ||
		set == "users" && typ == "#microsoft.graph.user" ||
		set == "groups" && typ == "#microsoft.graph.group"
	if !ok {
		if set == "directoryObjects" || set == "servicePrincipals" {
			return "", dirBadRequest("Only users and groups can be group members; '%s' is not one.", id)
		}
		return "", storeErr(store.ErrNotFound, id)
	}
	return id, nil
}

// userIDOf resolves a user named by userPrincipalName in a reference to
// set (users or directoryObjects), as GET /users/{upn} does; any other
// key is returned as is.
func (s *Server) userIDOf(ctx context.Context, set, key string) (string, error) {
	if !strings.Contains(key, "@") || set != "users" && set != "directoryObjects" {
		return key, nil
	}
	u, err := s.lookupUser(ctx, key)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	g, err := s.lookupGroup(r.Context(), r.PathValue("groupId"))
	if err != nil {
		return err
	}
	if directory.IsSynced(g.Props) {
		return errMastered // its members are the on-premises group's
	}
	ref, err := decodeRef(w, r)
	if err != nil {
		return err
	}
	id, err := s.resolveMemberRef(r.Context(), ref)
	if err != nil {
		return err
	}
	if id == g.ID {
		return dirBadRequest("A group cannot be a member of itself.")
	}
	if err := s.store.AddMember(r.Context(), g.ID, id); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return dirBadRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
		return storeErr(err, g.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	g, err := s.lookupGroup(r.Context(), r.PathValue("groupId"))
	if err != nil {
		return err
	}
	if directory.IsSynced(g.Props) {
		return errMastered
	}
	id, err := s.refTarget(r, "memberId", "Name the member to remove: DELETE /groups/{id}/members/{memberId}/$ref.")
	if err != nil {
		return err
	}
	if err := s.store.RemoveMember(r.Context(), g.ID, id); err != nil {
		return storeErr(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

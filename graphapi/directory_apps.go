package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"provisiond/directory"
	"regexp"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/graphapi/odata"
	"provisiond/store"
)

// This file holds application templates (instantiate), applications,
// service principals, their owners and app role assignments.

func (s *Server) routesApps(mux *http.ServeMux) {
	sps := s.servicePrincipals()
	s.route(mux, "POST /applicationTemplates/{templateId}/instantiate", auth.AppWrite, s.instantiate)
	s.route(mux, "GET /applications/{appObjectId}", auth.AppRead, s.applications().get)
	s.route(mux, "GET /servicePrincipals", auth.AppRead, sps.list)
	s.route(mux, "GET /servicePrincipals/$count", auth.AppRead, sps.count)
	s.getOnly(mux, "/servicePrincipals/$count")
	s.route(mux, "GET /servicePrincipals/{spId}", auth.AppRead, sps.get)
	s.route(mux, "DELETE /servicePrincipals/{spId}", auth.AppWrite, sps.delete)
	s.route(mux, "GET /servicePrincipals/{spId}/owners", auth.AppRead, s.listOwners)
	s.route(mux, "POST /servicePrincipals/{spId}/owners/$ref", auth.AppWrite, s.addOwner)
	s.route(mux, "DELETE /servicePrincipals/{spId}/owners/{ownerId}/$ref", auth.AppWrite, s.removeOwner)
	s.route(mux, "DELETE /servicePrincipals/{spId}/owners/$ref", auth.AppWrite, s.removeOwner) // ?$id={url}
	s.route(mux, "GET /servicePrincipals/{spId}/appRoleAssignedTo", auth.AppRoleAssignmentRead, s.listAssignedTo)
	s.route(mux, "POST /servicePrincipals/{spId}/appRoleAssignedTo", auth.AppRoleAssignmentWrite, s.createAssignment)
	s.route(mux, "GET /servicePrincipals/{spId}/appRoleAssignedTo/{assignmentId}", auth.AppRoleAssignmentRead, s.getAssignment)
	s.route(mux, "DELETE /servicePrincipals/{spId}/appRoleAssignedTo/{assignmentId}", auth.AppRoleAssignmentWrite, s.deleteAssignment)
}

// applications is the /applications entity set (read-only: applications
// are made by instantiating a template).
func (s *Server) applications() resource[store.Application] {
	return resource[store.Application]{
		set: "applications", key: "appObjectId", fields: appFields, view: appJSON,
		find: s.lookupApplication,
	}
}

// servicePrincipals is the /servicePrincipals entity set; deleting one
// deletes its application and all that hangs off it (owners, assignments,
// jobs, secrets, logs).
func (s *Server) servicePrincipals() resource[store.ServicePrincipal] {
	return resource[store.ServicePrincipal]{
		set: "servicePrincipals", key: "spId", fields: spFields, view: spJSON,
		find: s.lookupServicePrincipal, fetch: s.store.ListServicePrincipals,
		id: func(sp store.ServicePrincipal) string { return sp.ID },
		remove: func(ctx context.Context, sp store.ServicePrincipal) error {
			return storeErr(s.store.DeleteServicePrincipal(ctx, sp.ID), sp.ID)
		},
	}
}

// nonGalleryTemplateID is the template Graph instantiates custom
// ("non-gallery") applications from; it is the only one provisiond knows.
const nonGalleryTemplateID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"

// defaultAppRoleID is the default access role a principal can be assigned
// without the application declaring any role.
const defaultAppRoleID = directory.DefaultAppRoleID

// appRoles returns (a fresh copy of) the app roles of a non-gallery app.
func appRoles() []any {
	out := make([]any, len(directory.NonGalleryAppRoles))
	for i, r := range directory.NonGalleryAppRoles {
		out[i] = map[string]any{
			"allowedMemberTypes": []any{"User"}, "description": r.Description, "displayName": r.DisplayName,
			"id": r.ID, "isEnabled": true, "origin": "Application", "value": nil,
		}
	}
	return out
}

func hasAppRole(id string) bool {
	if strings.EqualFold(id, defaultAppRoleID) {
		return true
	}
	for _, r := range directory.NonGalleryAppRoles {
		if strings.EqualFold(r.ID, id) {
			return true
		}
	}
	return false
}

// spJSON is the Graph representation of a service principal.
func spJSON(sp store.ServicePrincipal) map[string]any {
	return map[string]any{
		"id":                         sp.ID,
		"deletedDateTime":            nil,
		"accountEnabled":             true,
		"appId":                      sp.AppID,
		"applicationTemplateId":      nonGalleryTemplateID,
		"appDisplayName":             sp.DisplayName,
		"displayName":                sp.DisplayName,
		"alternativeNames":           []any{},
		"appRoleAssignmentRequired":  true,
		"appRoles":                   appRoles(),
		"homepage":                   nil,
		"loginUrl":                   nil,
		"logoutUrl":                  nil,
		"notificationEmailAddresses": []any{},
		"preferredSingleSignOnMode":  nil,
		"replyUrls":                  []any{},
		"servicePrincipalNames":      []any{sp.AppID},
		"servicePrincipalType":       "Application",
		"tags":                       []any{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"},
		"keyCredentials":             []any{},
		"passwordCredentials":        []any{},
		"oauth2PermissionScopes":     []any{},
	}
}

// appJSON is the Graph representation of an application.
func appJSON(app store.Application) map[string]any {
	m := map[string]any{
		"id":                     app.ID,
		"appId":                  app.AppID,
		"applicationTemplateId":  nonGalleryTemplateID,
		"deletedDateTime":        nil,
		"displayName":            app.DisplayName,
		"description":            nil,
		"identifierUris":         []any{},
		"signInAudience":         "AzureADMyOrg",
		"tags":                   []any{},
		"appRoles":               appRoles(),
		"keyCredentials":         []any{},
		"passwordCredentials":    []any{},
		"requiredResourceAccess": []any{},
	}
	if !app.Created.IsZero() {
		m["createdDateTime"] = graphTime(app.Created)
	}
	return m
}

// spFields are the service principal properties $select and $filter may name.
var spFields = newFields("microsoft.graph.servicePrincipal", kindsOf(spJSON(store.ServicePrincipal{})), false)

var appFields = newFields("microsoft.graph.application", kindsOf(appJSON(store.Application{Created: time.Unix(0, 0)})), false)

// ownerFields are the properties of an owners collection.
var ownerFields = union("microsoft.graph.directoryObject", userFields, spFields)

// assignmentFields are the appRoleAssignment properties.
var assignmentFields = newFields("microsoft.graph.appRoleAssignment", map[string]kind{
	"id": kindString, "appRoleId": kindString, "createdDateTime": kindString, "deletedDateTime": kindString,
	"principalDisplayName": kindString, "principalId": kindString, "principalType": kindString,
	"resourceDisplayName": kindString, "resourceId": kindString,
}, false)

// kindsOf derives property kinds from a representative object.
func kindsOf(m map[string]any) map[string]kind {
	out := map[string]kind{}
	for k, v := range m {
		switch t := v.(type) {
		case bool:
			out[k] = kindBool
		case []any:
			out[k] = kindStrings
			for _, e := range t {
				if _, ok := e.(string); !ok {
					out[k] = kindObject
				}
			}
		case string, nil:
			out[k] = kindString
		default:
			out[k] = kindObject
		}
	}
	return out
}

func (s *Server) instantiate(w http.ResponseWriter, r *http.Request) error {
	if !strings.EqualFold(r.PathValue("templateId"), nonGalleryTemplateID) {
		return notFound("Resource '%s' does not exist or one of its queried reference-property objects are not present. The only application template is %s (non-gallery application).",
			r.PathValue("templateId"), nonGalleryTemplateID)
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	body, err := decodeObject(raw, `: {"displayName": "..."}`)
	if err != nil {
		return err
	}
	var name *string
	for k, v := range body {
		switch {
		case k == "displayName":
			if err := json.Unmarshal(v, &name); err != nil || name == nil || strings.TrimSpace(*name) == "" {
				return invalidParam("Invalid value for parameter 'displayName': expected a non-empty string.")
			}
			for _, hint := range []string{rawTextProblem(v), controlProblem(*name, false), maxLen(256)(*name)} {
				if hint != "" {
					return invalidParam("Invalid value for parameter 'displayName': %s.", hint)
				}
			}
		case strings.HasPrefix(k, "@"):
		default:
			return invalidParam("The parameter '%s' in the request payload is not a valid parameter for the operation 'instantiate'; only displayName is.", k)
		}
	}
	if name == nil {
		return invalidParam("Parameter 'displayName' is required.")
	}
	now := s.now().UTC().Truncate(time.Second)
	app := store.Application{ID: s.newID(), AppID: s.newID(), DisplayName: *name, Created: now}
	sp := store.ServicePrincipal{ID: s.newID(), AppID: app.AppID, ApplicationID: app.ID, DisplayName: *name, Created: now}
	if err := s.store.CreateServicePrincipal(r.Context(), app, sp); err != nil {
		return storeErr(err, "appId")
	}
	// An application acting as itself owns what it creates, as in Graph:
	// that is what lets Application.ReadWrite.OwnedBy manage it afterwards.
	if p := principal(r); !p.Delegated && p.ObjectID != "" {
		if err := s.store.AddOwner(r.Context(), sp.ID, p.ObjectID); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"@odata.context":   contextURL(r, "microsoft.graph.applicationServicePrincipal"),
		"application":      appJSON(app),
		"servicePrincipal": spJSON(sp),
	})
}

// lookupApplication resolves an application object id or the alternate
// key appId=... .
func (s *Server) lookupApplication(ctx context.Context, key string) (store.Application, error) {
	id := key
	if appID, ok := strings.CutPrefix(key, "appId="); ok {
		sp, err := s.store.GetServicePrincipalByAppID(ctx, appID)
		if err != nil {
			return store.Application{}, storeErr(err, key)
		}
		id = sp.ApplicationID
	}
	app, err := s.store.GetApplication(ctx, id)
	return app, storeErr(err, id)
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// addOwner makes a user or a service principal an owner. An id that names
// no stored object is accepted too when the URL is a directoryObjects or
// servicePrincipals one: application identities minted by
// `provisiond token --app NAME` have an object id (the token's oid) but no
// stored service principal, and making them owners is what lets them use
// Application.ReadWrite.OwnedBy.
func (s *Server) addOwner(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return err
	}
	ref, err := decodeRef(w, r)
	if err != nil {
		return err
	}
	set, id, err := parseRef(ref)
	if err != nil {
		return err
	}
	if !guidPattern.MatchString(id) {
		return dirBadRequest("Invalid object identifier '%s' in @odata.id: expected a GUID.", id)
	}
	obj, err := s.directoryObject(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if set == "users" || set == "groups" {
			return storeErr(err, id)
		}
	case err != nil:
		return err
	case obj["@odata.type"] == "#microsoft.graph.group" || set == "groups":
		return dirBadRequest("Only users and service principals can own a service principal; '%s' is not one.", id)
	case set == "users" && obj["@odata.type"] != "#microsoft.graph.user",
		set == "servicePrincipals" && obj["@odata.type"] != "#microsoft.graph.servicePrincipal":
		return storeErr(store.ErrNotFound, id)
	}
	if err := s.store.AddOwner(r.Context(), sp.ID, id); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return dirBadRequest("One or more added object references already exist for the following modified properties: 'owners'.")
		}
		return storeErr(err, sp.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeOwner serves DELETE .../owners/{id}/$ref and .../owners/$ref?$id=
// {url}: 204, or 404 when the object does not own the service principal.
func (s *Server) removeOwner(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return err
	}
	id, err := s.refTarget(r, "ownerId", "Name the owner to remove: DELETE /servicePrincipals/{id}/owners/{ownerId}/$ref.")
	if err != nil {
		return err
	}
	if err := s.store.RemoveOwner(r.Context(), sp.ID, odata.GUID(id)); err != nil {
		return storeErr(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listOwners(w http.ResponseWriter, r *http.Request) error {
	q, err := parseDirectoryQuery(r, ownerFields)
	if err != nil {
		return err
	}
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return err
	}
	ids, err := s.store.ListOwners(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	// An owner with no stored object is an application identity (see addOwner).
	items, err := s.objects(r.Context(), ids, func(id string) map[string]any {
		return map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal", "id": id}
	})
	if err != nil {
		return err
	}
	return writeCollection(w, r, "directoryObjects", q, q.Apply(items))
}

// assignmentJSON is the Graph representation of an app role assignment.
func assignmentJSON(a store.AppRoleAssignment, principalName, resourceName any) map[string]any {
	return map[string]any{
		"id":                   a.ID,
		"appRoleId":            a.AppRoleID,
		"createdDateTime":      graphTime(a.Created),
		"deletedDateTime":      nil,
		"principalDisplayName": principalName,
		"principalId":          a.PrincipalID,
		"principalType":        a.PrincipalType,
		"resourceDisplayName":  resourceName,
		"resourceId":           a.ResourceID,
	}
}

// names resolves display names of principals and resources, caching them
// for one request.
type names struct {
	s     *Server
	ctx   context.Context
	cache map[string]any
}

func (n *names) of(id string) (any, error) {
	if v, ok := n.cache[id]; ok {
		return v, nil
	}
	obj, err := n.s.directoryObject(n.ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var v any
	if obj != nil {
		v = obj["displayName"]
	}
	if n.cache == nil {
		n.cache = map[string]any{}
	}
	n.cache[id] = v
	return v, nil
}

func (n *names) assignments(as []store.AppRoleAssignment) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(as))
	for _, a := range as {
		pn, err := n.of(a.PrincipalID)
		if err != nil {
			return nil, err
		}
		rn, err := n.of(a.ResourceID)
		if err != nil {
			return nil, err
		}
		out = append(out, assignmentJSON(a, pn, rn))
	}
	return out, nil
}

// assignmentSpec is the body of POST .../appRoleAssignedTo.
var assignmentSpec = newObjectSpec(objectSpec{
	typeName: "microsoft.graph.appRoleAssignment",
	resource: "AppRoleAssignment",
	props: map[string]propSpec{
		"principalId": {kind: kindString, required: true},
		"resourceId":  {kind: kindString, required: true},
		"appRoleId":   {kind: kindString, required: true},
	},
	readOnly: []string{"id", "createdDateTime", "deletedDateTime", "principalDisplayName",
		"principalType", "resourceDisplayName"},
})

func (s *Server) createAssignment(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return err
	}
	d, err := decodeBody(w, r, assignmentSpec, true)
	if err != nil {
		return err
	}
	a := store.AppRoleAssignment{
		ID:          s.newID(),
		AppRoleID:   strings.ToLower(d.props["appRoleId"].(string)),
		PrincipalID: odata.GUID(d.props["principalId"].(string)), // in any case, as Graph takes it
		ResourceID:  d.props["resourceId"].(string),
		Created:     s.now().UTC().Truncate(time.Second),
	}
	if !strings.EqualFold(a.ResourceID, sp.ID) {
		return dirBadRequest("The resourceId '%s' must be the id of the service principal in the URL ('%s').", a.ResourceID, sp.ID)
	}
	a.ResourceID = sp.ID
	if !hasAppRole(a.AppRoleID) {
		return dirBadRequest("Permission being assigned was not found on application '%s'. Use the id of one of its appRoles or %s (default access).", sp.AppID, defaultAppRoleID)
	}
	obj, err := s.directoryObject(r.Context(), a.PrincipalID)
	if err != nil {
		return storeErr(err, a.PrincipalID)
	}
	switch obj["@odata.type"] {
	case "#microsoft.graph.user":
		a.PrincipalType = "User"
	case "#microsoft.graph.group":
		a.PrincipalType = "Group"
	default:
		return dirBadRequest("The principalId '%s' must be a user or a group.", a.PrincipalID)
	}
	out := assignmentJSON(a, obj["displayName"], sp.DisplayName)
	if err := assignmentSpec.checkReadOnly(d, out); err != nil {
		return err
	}
	if err := s.store.CreateAppRoleAssignment(r.Context(), a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return conflict("Permission being assigned already exists on the object.")
		}
		return storeErr(err, sp.ID)
	}
	return writeEntity(w, r, http.StatusCreated, "servicePrincipals('"+sp.ID+"')/appRoleAssignedTo", query{}, out)
}

func (s *Server) listAssignedTo(w http.ResponseWriter, r *http.Request) error {
	q, err := parseDirectoryQuery(r, assignmentFields)
	if err != nil {
		return err
	}
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return err
	}
	as, err := s.store.ListAppRoleAssignments(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	n := names{s: s, ctx: r.Context(), cache: map[string]any{sp.ID: sp.DisplayName}}
	items, err := n.assignments(as)
	if err != nil {
		return err
	}
	return writeCollection(w, r, "servicePrincipals('"+sp.ID+"')/appRoleAssignedTo", q, q.Apply(items))
}

// listAssignmentsOf writes the assignments held by one user or group.
func (s *Server) listAssignmentsOf(w http.ResponseWriter, r *http.Request, fragment, principalID string) error {
	q, err := parseDirectoryQuery(r, assignmentFields)
	if err != nil {
		return err
	}
	as, err := s.store.ListAppRoleAssignmentsOf(r.Context(), principalID)
	if err != nil {
		return err
	}
	n := names{s: s, ctx: r.Context()}
	items, err := n.assignments(as)
	if err != nil {
		return err
	}
	return writeCollection(w, r, fragment, q, q.Apply(items))
}

// lookupAssignment finds an assignment of the service principal in the URL.
func (s *Server) lookupAssignment(r *http.Request) (store.ServicePrincipal, store.AppRoleAssignment, error) {
	sp, err := s.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
	if err != nil {
		return sp, store.AppRoleAssignment{}, err
	}
	id := r.PathValue("assignmentId")
	a, err := s.store.GetAppRoleAssignment(r.Context(), id)
	if err == nil && a.ResourceID != sp.ID {
		err = store.ErrNotFound
	}
	return sp, a, storeErr(err, id)
}

func (s *Server) getAssignment(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, assignmentFields)
	if err != nil {
		return err
	}
	sp, a, err := s.lookupAssignment(r)
	if err != nil {
		return err
	}
	n := names{s: s, ctx: r.Context(), cache: map[string]any{sp.ID: sp.DisplayName}}
	items, err := n.assignments([]store.AppRoleAssignment{a})
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, "servicePrincipals('"+sp.ID+"')/appRoleAssignedTo", q, items[0])
}

func (s *Server) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	_, a, err := s.lookupAssignment(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAppRoleAssignment(r.Context(), a.ID); err != nil {
		return storeErr(err, a.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

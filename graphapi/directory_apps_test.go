package graphapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"provisiond/auth"
)

const instantiatePath = "/v1.0/applicationTemplates/" + nonGalleryTemplateID + "/instantiate"

// instantiate creates a non-gallery app and returns its service principal.
func (a *apiTest) instantiate(name string, opts ...reqOpt) map[string]any {
	a.t.Helper()
	res := a.must(http.StatusCreated, "POST", instantiatePath, map[string]any{"displayName": name}, opts...)
	return res.object(a.t)["servicePrincipal"].(map[string]any)
}

var wantAppRoles = []any{
	map[string]any{"allowedMemberTypes": []any{"User"}, "description": "User", "displayName": "User",
		"id": "18d14569-c3bd-439b-9a66-3a2aee01d14f", "isEnabled": true, "origin": "Application", "value": nil},
	map[string]any{"allowedMemberTypes": []any{"User"}, "description": "msiam_access", "displayName": "msiam_access",
		"id": "b9632174-c057-4f7e-951b-be3adc52bfe6", "isEnabled": true, "origin": "Application", "value": nil},
}

func TestInstantiate(t *testing.T) {
	a := newAPITest(t)
	res := a.must(http.StatusCreated, "POST", instantiatePath, gzipBody(t, map[string]any{"displayName": "Contoso SCIM"}))
	body := res.object(t)
	if body["@odata.context"] != a.http.URL+"/v1.0/$metadata#microsoft.graph.applicationServicePrincipal" {
		t.Errorf("context %v", body["@odata.context"])
	}
	app := body["application"].(map[string]any)
	sp := body["servicePrincipal"].(map[string]any)
	appID := app["appId"].(string)
	if sp["appId"] != appID || app["id"] == sp["id"] || appID == app["id"] {
		t.Errorf("ids: application %v, servicePrincipal %v", app, sp)
	}
	diff(t, "application", without(t, app, "id", "appId", "createdDateTime"), map[string]any{
		"displayName": "Contoso SCIM", "applicationTemplateId": nonGalleryTemplateID, "deletedDateTime": nil,
		"description": nil, "identifierUris": []any{}, "signInAudience": "AzureADMyOrg", "tags": []any{},
		"appRoles": wantAppRoles, "keyCredentials": []any{}, "passwordCredentials": []any{}, "requiredResourceAccess": []any{},
	})
	diff(t, "servicePrincipal", without(t, sp, "id", "appId"), map[string]any{
		"displayName": "Contoso SCIM", "appDisplayName": "Contoso SCIM", "servicePrincipalType": "Application",
		"accountEnabled": true, "appRoleAssignmentRequired": true, "appRoles": wantAppRoles,
		"tags":            []any{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"},
		"deletedDateTime": nil, "applicationTemplateId": nonGalleryTemplateID, "alternativeNames": []any{},
		"homepage": nil, "loginUrl": nil, "logoutUrl": nil, "notificationEmailAddresses": []any{},
		"preferredSingleSignOnMode": nil, "replyUrls": []any{}, "servicePrincipalNames": []any{appID},
		"keyCredentials": []any{}, "passwordCredentials": []any{}, "oauth2PermissionScopes": []any{},
	})

	// The calling application owns what it created.
	owners, err := a.store.ListOwners(context.Background(), sp["id"].(string))
	if err != nil || !slices.Equal(owners, []string{adminPrincipal.ObjectID}) {
		t.Errorf("owners = %v, %v; want the caller", owners, err)
	}
	// The application is readable by id and by appId.
	a.must(http.StatusOK, "GET", "/v1.0/applications/"+app["id"].(string), nil)
	got := a.must(http.StatusOK, "GET", "/v1.0/applications(appId='"+appID+"')?$select=displayName", nil).object(t)
	if got["displayName"] != "Contoso SCIM" {
		t.Errorf("application by appId = %v", got)
	}

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"unknown template", "/v1.0/applicationTemplates/11111111-1111-4111-8111-111111111111/instantiate", map[string]any{"displayName": "x"}, 404, "Request_ResourceNotFound", []string{nonGalleryTemplateID}},
		{"missing displayName", instantiatePath, map[string]any{}, 400, "RequestParameterInvalid", []string{"'displayName' is required"}},
		{"empty displayName", instantiatePath, map[string]any{"displayName": ""}, 400, "RequestParameterInvalid", []string{"'displayName'"}},
		{"wrong type", instantiatePath, map[string]any{"displayName": 1}, 400, "RequestParameterInvalid", []string{"'displayName'"}},
		{"unknown parameter", instantiatePath, map[string]any{"displayName": "x", "tags": []string{}}, 400, "RequestParameterInvalid", []string{"'tags'"}},
		{"malformed", instantiatePath, `{`, 400, "BadRequest", []string{"JSON"}},
		{"not an object", instantiatePath, `"x"`, 400, "Request_BadRequest", []string{"JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("POST", tt.path, tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
	// Lower-case segments route too.
	a.must(http.StatusCreated, "POST", "/v1.0/applicationtemplates/"+nonGalleryTemplateID+"/INSTANTIATE", map[string]any{"displayName": "y"})
}

func TestServicePrincipals(t *testing.T) {
	a := newAPITest(t)
	sp := a.instantiate("App One")
	a.instantiate("App Two")
	id, appID := sp["id"].(string), sp["appId"].(string)

	for _, p := range []string{
		"/v1.0/servicePrincipals/" + id,
		"/v1.0/servicePrincipals('" + id + "')",
		"/v1.0/servicePrincipals(appId='" + appID + "')",
		"/v1.0/servicePrincipals(appid='" + appID + "')",
		"/v1.0/servicePrincipals(id='" + id + "')",
		"/v1.0/serviceprincipals/" + id + "/",
	} {
		got := a.must(http.StatusOK, "GET", p, nil).object(t)
		if got["id"] != id || got["@odata.context"] != a.http.URL+"/v1.0/$metadata#servicePrincipals/$entity" {
			t.Errorf("GET %s = %v", p, got)
		}
	}
	a.call("GET", "/v1.0/servicePrincipals/nope", nil).wantError(t, 404, "Request_ResourceNotFound", "'nope'")
	a.call("GET", "/v1.0/servicePrincipals(appId='nope')", nil).wantError(t, 404, "Request_ResourceNotFound")

	// Counting directory objects needs ConsistencyLevel: eventual, as in Graph.
	a.call("GET", "/v1.0/servicePrincipals?$count=true", nil).wantError(t, 400, "Request_BadRequest", "ConsistencyLevel: eventual")
	res := a.must(http.StatusOK, "GET", "/v1.0/servicePrincipals?$count=true", nil, header("ConsistencyLevel", "eventual"))
	if n := res.object(t)["@odata.count"]; n != float64(2) || len(res.values(t)) != 2 {
		t.Errorf("list = %s", res.body)
	}
	res = a.must(http.StatusOK, "GET", "/v1.0/servicePrincipals?$select=id,appId,displayName&$filter="+url.QueryEscape("appId eq '"+appID+"'"), nil)
	diff(t, "filtered", res.object(t), map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#servicePrincipals(id,appId,displayName)",
		"value":          []any{map[string]any{"id": id, "appId": appID, "displayName": "App One"}},
	})
	a.call("GET", "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appRoles eq 'x'"), nil).wantError(t, 400, "Request_UnsupportedQuery", "appRoles")

	a.must(http.StatusNoContent, "DELETE", "/v1.0/servicePrincipals(appId='"+appID+"')", nil)
	a.call("GET", "/v1.0/servicePrincipals/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("DELETE", "/v1.0/servicePrincipals/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")
}

func TestOwners(t *testing.T) {
	a := newAPITest(t)
	// A delegated caller does not become an owner.
	a.auth.principals["user"] = auth.Principal{TenantID: adminPrincipal.TenantID, ObjectID: "9b1e1c43-5d0b-4d6e-8d51-0c0c0c0c0c0c",
		Delegated: true, Scopes: []string{"Directory.ReadWrite.All", "Application.ReadWrite.All"},
		DirectoryRoles: []string{"62e90394-69f5-4237-9190-012177145e10"}}
	sp := a.instantiate("Owned", as("user"))
	other := a.instantiate("Other")
	id := sp["id"].(string)
	owners := "/v1.0/servicePrincipals/" + id + "/owners"
	if vals := a.must(http.StatusOK, "GET", owners, nil).values(t); len(vals) != 0 {
		t.Fatalf("owners of a delegated instantiate = %v", vals)
	}

	u := a.createUser("owner@contoso.com")
	g := a.createGroup("NotOwner")
	appOID := "3f0c7a8e-2a4b-4c1d-9e8f-7a6b5c4d3e2f" // an app identity with no stored object
	a.must(http.StatusNoContent, "POST", owners+"/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects/"+u))
	a.must(http.StatusNoContent, "POST", owners+"/$ref", ref("https://graph.microsoft.com/v1.0/servicePrincipals/"+other["id"].(string)))
	a.must(http.StatusNoContent, "POST", "/v1.0/servicePrincipals(appId='"+sp["appId"].(string)+"')/owners/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects('"+appOID+"')"))

	res := a.must(http.StatusOK, "GET", owners+"?$select=id,displayName", nil)
	want := map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#directoryObjects(id,displayName)",
		"value": sortByID([]map[string]any{
			{"@odata.type": "#microsoft.graph.user", "id": u, "displayName": "User owner"},
			{"@odata.type": "#microsoft.graph.servicePrincipal", "id": other["id"], "displayName": "Other"},
			{"@odata.type": "#microsoft.graph.servicePrincipal", "id": appOID, "displayName": nil},
		}),
	}
	diff(t, "owners", res.object(t), jsonValue(t, want))

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"duplicate", ref("https://graph.microsoft.com/v1.0/users/" + u), 400, "Request_BadRequest", []string{"'owners'"}},
		{"group", ref("https://graph.microsoft.com/v1.0/directoryObjects/" + g), 400, "Request_BadRequest", []string{"users and service principals"}},
		{"unknown user", ref("https://graph.microsoft.com/v1.0/users/11111111-1111-4111-8111-111111111111"), 404, "Request_ResourceNotFound", nil},
		{"not a guid", ref("https://graph.microsoft.com/v1.0/directoryObjects/abc"), 400, "Request_BadRequest", []string{"GUID"}},
		{"no @odata.id", map[string]any{"id": u}, 400, "Request_BadRequest", []string{"'id'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("POST", owners+"/$ref", tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
	a.call("POST", "/v1.0/servicePrincipals/nope/owners/$ref", ref("https://graph.microsoft.com/v1.0/users/"+u)).wantError(t, 404, "Request_ResourceNotFound")
	a.call("GET", "/v1.0/servicePrincipals/nope/owners", nil).wantError(t, 404, "Request_ResourceNotFound")

	// Removing owners: by id, by an @odata.id URL, by userPrincipalName.
	a.must(http.StatusNoContent, "DELETE", owners+"/"+strings.ToUpper(appOID)+"/$ref", nil)
	a.must(http.StatusNoContent, "DELETE", owners+"/$ref?$id="+url.QueryEscape("https://graph.microsoft.com/v1.0/servicePrincipals/"+other["id"].(string)), nil)
	a.call("DELETE", owners+"/"+appOID+"/$ref", nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("DELETE", owners+"/$ref", nil).wantError(t, 400, "Request_BadRequest", "Name the owner to remove")
	a.must(http.StatusNoContent, "DELETE", owners+"/owner@contoso.com/$ref", nil)
	if vals := a.must(http.StatusOK, "GET", owners, nil).values(t); len(vals) != 0 {
		t.Errorf("owners after removing them all = %v", vals)
	}
}

func TestAppRoleAssignments(t *testing.T) {
	a := newAPITest(t)
	sp := a.instantiate("Assigned App")
	other := a.instantiate("Other App")
	spID := sp["id"].(string)
	u := a.createUser("assignee@contoso.com")
	g := a.createGroup("Assignees")
	path := "/v1.0/servicePrincipals/" + spID + "/appRoleAssignedTo"
	userRole := "18d14569-c3bd-439b-9a66-3a2aee01d14f"

	res := a.must(http.StatusCreated, "POST", path, map[string]any{"principalId": u, "resourceId": spID, "appRoleId": userRole})
	ua := res.object(t)
	diff(t, "assignment", without(t, ua, "id", "createdDateTime"), map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#servicePrincipals('" + spID + "')/appRoleAssignedTo/$entity",
		"appRoleId":      userRole, "principalDisplayName": "User assignee", "principalId": u, "principalType": "User",
		"resourceDisplayName": "Assigned App", "resourceId": spID, "deletedDateTime": nil,
	})
	ga := a.must(http.StatusCreated, "POST", "/v1.0/servicePrincipals(appId='"+sp["appId"].(string)+"')/appRoleAssignedTo",
		gzipBody(t, map[string]any{"principalId": g, "resourceId": spID, "appRoleId": defaultAppRoleID,
			"@odata.type": "#microsoft.graph.appRoleAssignment", "principalType": "Group"})).object(t)
	if ga["principalType"] != "Group" || ga["principalDisplayName"] != "Assignees" {
		t.Errorf("group assignment = %v", ga)
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"duplicate", map[string]any{"principalId": u, "resourceId": spID, "appRoleId": userRole}, 409, "",
			[]string{"Permission being assigned already exists on the object."}},
		{"other resource", map[string]any{"principalId": u, "resourceId": other["id"], "appRoleId": userRole}, 400, "Request_BadRequest", []string{"resourceId"}},
		{"unknown principal", map[string]any{"principalId": "11111111-1111-4111-8111-111111111111", "resourceId": spID, "appRoleId": userRole}, 404, "Request_ResourceNotFound", nil},
		{"service principal as principal", map[string]any{"principalId": other["id"], "resourceId": spID, "appRoleId": userRole}, 400, "Request_BadRequest", []string{"user or a group"}},
		{"unknown role", map[string]any{"principalId": u, "resourceId": spID, "appRoleId": "11111111-1111-4111-8111-111111111111"}, 400, "Request_BadRequest", []string{"Permission being assigned was not found"}},
		{"missing appRoleId", map[string]any{"principalId": u, "resourceId": spID}, 400, "Request_BadRequest", []string{"'appRoleId' is required"}},
		{"wrong type", map[string]any{"principalId": 1, "resourceId": spID, "appRoleId": userRole}, 400, "Request_BadRequest", []string{"'principalId'"}},
		{"unknown property", map[string]any{"principalId": u, "resourceId": spID, "appRoleId": userRole, "x": 1}, 400, "Request_BadRequest", []string{"'x'"}},
		{"malformed", `{"principalId"`, 400, "BadRequest", []string{"JSON"}},
		{"a principalType it is not", map[string]any{"principalId": g, "resourceId": spID, "appRoleId": userRole, "principalType": "User"},
			400, "Request_BadRequest", []string{"Property 'principalType' is read-only"}},
		{"another principalDisplayName", map[string]any{"principalId": g, "resourceId": spID, "appRoleId": userRole, "principalDisplayName": "Someone else"},
			400, "Request_BadRequest", []string{"Property 'principalDisplayName' is read-only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("POST", path, tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}

	vals := a.must(http.StatusOK, "GET", path+"?$filter="+url.QueryEscape("principalType eq 'User'"), nil).values(t)
	if len(vals) != 1 || vals[0]["id"] != ua["id"] {
		t.Errorf("filtered assignments = %v", vals)
	}
	vals = a.must(http.StatusOK, "GET", path+"?$filter="+url.QueryEscape("principalId eq "+g), nil).values(t)
	if len(vals) != 1 || vals[0]["principalId"] != g {
		t.Errorf("assignments filtered by an unquoted GUID = %v", vals)
	}
	res = a.must(http.StatusOK, "GET", path, nil)
	if res.object(t)["@odata.context"] != a.http.URL+"/v1.0/$metadata#servicePrincipals('"+spID+"')/appRoleAssignedTo" || len(res.values(t)) != 2 {
		t.Errorf("assignments = %s", res.body)
	}
	got := a.must(http.StatusOK, "GET", path+"/"+ua["id"].(string), nil).object(t)
	if got["resourceDisplayName"] != "Assigned App" {
		t.Errorf("GET assignment = %v", got)
	}

	res = a.must(http.StatusOK, "GET", "/v1.0/users/assignee@contoso.com/appRoleAssignments", nil)
	if vals := res.values(t); len(vals) != 1 || vals[0]["resourceDisplayName"] != "Assigned App" ||
		res.object(t)["@odata.context"] != a.http.URL+"/v1.0/$metadata#users('"+u+"')/appRoleAssignments" {
		t.Errorf("user assignments = %s", res.body)
	}
	if vals := a.must(http.StatusOK, "GET", "/v1.0/groups/"+g+"/appRoleAssignments", nil).values(t); len(vals) != 1 || vals[0]["principalType"] != "Group" {
		t.Errorf("group assignments = %v", vals)
	}
	a.call("GET", "/v1.0/users/nobody@contoso.com/appRoleAssignments", nil).wantError(t, 404, "Request_ResourceNotFound")

	// Deleting: absent, or of another service principal, is a 404.
	otherPath := "/v1.0/servicePrincipals/" + other["id"].(string) + "/appRoleAssignedTo/"
	a.call("DELETE", otherPath+ua["id"].(string), nil).wantError(t, 404, "Request_ResourceNotFound")
	a.must(http.StatusNoContent, "DELETE", path+"/"+ua["id"].(string), nil)
	a.call("DELETE", path+"/"+ua["id"].(string), nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("GET", path+"/"+ua["id"].(string), nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("POST", "/v1.0/servicePrincipals/nope/appRoleAssignedTo", map[string]any{}).wantError(t, 404, "Request_ResourceNotFound")
}

func TestDirectoryPermissions(t *testing.T) {
	a := newAPITest(t)
	const appOID = "5d0c9f4e-3b2a-4c1d-8e7f-6a5b4c3d2e1f"
	a.auth.principals["reader"] = auth.Principal{TenantID: adminPrincipal.TenantID, ObjectID: "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
		Roles: []string{"Directory.Read.All"}}
	a.auth.principals["ownedBy"] = auth.Principal{TenantID: adminPrincipal.TenantID, ObjectID: appOID,
		Roles: []string{"Application.ReadWrite.OwnedBy"}}

	a.must(http.StatusOK, "GET", "/v1.0/users", nil, as("reader"))
	a.call("POST", "/v1.0/users", newUser("x@contoso.com"), as("reader")).wantError(t, 403, "Authorization_RequestDenied")
	a.call("POST", "/v1.0/groups", newGroup("x"), as("reader")).wantError(t, 403, "Authorization_RequestDenied")

	// An application identity made owner (it has no stored object) may
	// manage that service principal, addressed by id or by appId, and only it.
	owned := a.instantiate("Owned")
	notOwned := a.instantiate("Not owned")
	a.must(http.StatusNoContent, "POST", "/v1.0/servicePrincipals/"+owned["id"].(string)+"/owners/$ref",
		ref("https://graph.microsoft.com/v1.0/directoryObjects/"+appOID))
	a.must(http.StatusOK, "GET", "/v1.0/servicePrincipals/"+owned["id"].(string)+"/owners", nil, as("ownedBy"))
	a.call("GET", "/v1.0/servicePrincipals/"+notOwned["id"].(string), nil, as("ownedBy")).wantError(t, 403, "Authorization_RequestDenied")
	a.call("DELETE", "/v1.0/servicePrincipals/"+notOwned["id"].(string), nil, as("ownedBy")).wantError(t, 403, "Authorization_RequestDenied")
	a.must(http.StatusNoContent, "DELETE", "/v1.0/servicePrincipals(appId='"+owned["appId"].(string)+"')", nil, as("ownedBy"))
}

package graphapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func newGroup(name string) map[string]any {
	return map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}
}

// createGroup creates a group and returns its id.
func (a *apiTest) createGroup(name string) string {
	a.t.Helper()
	return a.must(http.StatusCreated, "POST", "/v1.0/groups", newGroup(name)).object(a.t)["id"].(string)
}

// ref is an @odata.id body.
func ref(u string) map[string]any { return map[string]any{"@odata.id": u} }

func TestGroupCRUD(t *testing.T) {
	a := newAPITest(t)
	body := newGroup("Sales")
	body["description"] = "Sales team"
	body["@odata.type"] = "#microsoft.graph.group"
	res := a.must(http.StatusCreated, "POST", "/v1.0/groups", body)
	g := res.object(t)
	id := g["id"].(string)
	diff(t, "created group", without(t, g, "id", "createdDateTime"), map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#groups/$entity",
		"displayName":    "Sales", "description": "Sales team", "groupTypes": []any{},
		"mailEnabled": false, "mailNickname": "Sales", "securityEnabled": true,
	})

	got := a.must(http.StatusOK, "GET", "/v1.0/groups('"+id+"')", nil).object(t)
	diff(t, "GET group", got, g)

	a.must(http.StatusNoContent, "PATCH", "/v1.0/groups/"+id, map[string]any{"description": nil, "displayName": "Sales EMEA"})
	got = a.must(http.StatusOK, "GET", "/v1.0/groups/"+id+"?$select=displayName,description", nil).object(t)
	diff(t, "patched group", got, map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#groups(displayName,description)/$entity",
		"id":             id, "displayName": "Sales EMEA", "description": nil,
	})

	other := a.createGroup("Marketing")
	vals := a.must(http.StatusOK, "GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName eq 'marketing'"), nil).values(t)
	if len(vals) != 1 || vals[0]["id"] != other {
		t.Errorf("filtered groups = %v", vals)
	}

	a.must(http.StatusNoContent, "DELETE", "/v1.0/groups/"+id, nil)
	a.call("GET", "/v1.0/groups/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("DELETE", "/v1.0/groups/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")
	if g, err := a.store.GetGroup(context.Background(), id); err != nil || g.Deleted == nil {
		t.Errorf("store.GetGroup after delete = %+v, %v; want soft-deleted", g, err)
	}
	if vals := a.must(http.StatusOK, "GET", "/v1.0/groups", nil).values(t); len(vals) != 1 {
		t.Errorf("list after delete = %v", vals)
	}
}

func TestGroupErrors(t *testing.T) {
	a := newAPITest(t)
	id := a.createGroup("G")
	with := func(k string, v any) map[string]any {
		b := newGroup("H")
		b[k] = v
		return b
	}
	drop := func(k string) map[string]any {
		b := newGroup("H")
		delete(b, k)
		return b
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		msg                []string
	}{
		{"missing displayName", "POST", "/v1.0/groups", drop("displayName"), 400, "Request_BadRequest", []string{"'displayName' is required"}},
		{"missing mailEnabled", "POST", "/v1.0/groups", drop("mailEnabled"), 400, "Request_BadRequest", []string{"'mailEnabled' is required"}},
		{"missing mailNickname", "POST", "/v1.0/groups", drop("mailNickname"), 400, "Request_BadRequest", []string{"'mailNickname' is required"}},
		{"missing securityEnabled", "POST", "/v1.0/groups", drop("securityEnabled"), 400, "Request_BadRequest", []string{"'securityEnabled' is required"}},
		{"unknown property", "POST", "/v1.0/groups", with("color", "red"), 400, "Request_BadRequest",
			[]string{"Property 'color' does not exist on type 'microsoft.graph.group'."}},
		{"wrong type", "POST", "/v1.0/groups", with("securityEnabled", "true"), 400, "Request_BadRequest", []string{"Edm.Boolean"}},
		{"dynamic group", "POST", "/v1.0/groups", with("groupTypes", []string{"DynamicMembership"}), 400, "Request_BadRequest", []string{"Unified"}},
		{"owners bind", "POST", "/v1.0/groups", with("owners@odata.bind", []string{"x"}), 400, "Request_BadRequest", []string{"owners@odata.bind"}},
		{"bad members bind", "POST", "/v1.0/groups", with("members@odata.bind", "x"), 400, "Request_BadRequest", []string{"members@odata.bind"}},
		{"unknown bound member", "POST", "/v1.0/groups", with("members@odata.bind", []string{"https://graph.microsoft.com/v1.0/users/11111111-1111-4111-8111-111111111111"}), 404, "Request_ResourceNotFound", nil},
		{"malformed", "POST", "/v1.0/groups", `{"displayName":}`, 400, "BadRequest", []string{"JSON"}},
		{"patch null required", "PATCH", "/v1.0/groups/" + id, map[string]any{"mailEnabled": nil}, 400, "Request_BadRequest", []string{"'mailEnabled'"}},
		{"patch unknown group", "PATCH", "/v1.0/groups/nope", map[string]any{"description": "x"}, 404, "Request_ResourceNotFound", nil},
		{"get unknown group", "GET", "/v1.0/groups/nope", nil, 404, "Request_ResourceNotFound", []string{"'nope'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call(tt.method, tt.path, tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
}

func TestGroupMembers(t *testing.T) {
	a := newAPITest(t)
	g := a.createGroup("Team")
	alice := a.createUser("alice@contoso.com")
	bob := a.createUser("bob@contoso.com")
	carol := a.createUser("carol@contoso.com")
	sub := a.createGroup("Sub")
	members := "/v1.0/groups/" + g + "/members"

	a.must(http.StatusNoContent, "POST", members+"/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects/"+alice))
	a.must(http.StatusNoContent, "POST", members+"/$REF", gzipBody(t, ref("http://localhost:1234/v1.0/users/"+bob)))
	a.must(http.StatusNoContent, "POST", "/v1.0/Groups('"+g+"')/Members/$ref", ref("https://graph.microsoft.com/v1.0/groups('"+sub+"')"))

	res := a.must(http.StatusOK, "GET", members+"?$select=displayName", nil)
	want := map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#directoryObjects(displayName)",
		"value": sortByID([]map[string]any{
			{"@odata.type": "#microsoft.graph.user", "id": alice, "displayName": "User alice"},
			{"@odata.type": "#microsoft.graph.user", "id": bob, "displayName": "User bob"},
			{"@odata.type": "#microsoft.graph.group", "id": sub, "displayName": "Sub"},
		}),
	}
	diff(t, "members", res.object(t), jsonValue(t, want))

	// memberOf lists the groups an object is a direct member of.
	for _, c := range []struct{ path, want string }{
		{"/v1.0/users/" + alice + "/memberOf", g}, {"/v1.0/groups/" + sub + "/memberOf", g},
	} {
		vals := a.must(http.StatusOK, "GET", c.path+"?$select=id,displayName", nil).values(t)
		if len(vals) != 1 || vals[0]["id"] != c.want || vals[0]["@odata.type"] != "#microsoft.graph.group" {
			t.Errorf("GET %s = %v, want the group %s", c.path, vals, c.want)
		}
	}
	a.call("GET", "/v1.0/users/nobody@contoso.com/memberOf", nil).wantError(t, 404, "Request_ResourceNotFound")

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"duplicate", ref("https://graph.microsoft.com/v1.0/directoryObjects/" + alice), 400, "Request_BadRequest",
			[]string{"One or more added object references already exist for the following modified properties: 'members'."}},
		{"unknown member", ref("https://graph.microsoft.com/v1.0/directoryObjects/11111111-1111-4111-8111-111111111111"), 404, "Request_ResourceNotFound", nil},
		{"user url names a group", ref("https://graph.microsoft.com/v1.0/users/" + sub), 404, "Request_ResourceNotFound", nil},
		{"itself", ref("https://graph.microsoft.com/v1.0/groups/" + g), 400, "Request_BadRequest", []string{"itself"}},
		{"not a url", ref("just-an-id"), 400, "Request_BadRequest", []string{"@odata.id"}},
		{"wrong set", ref("https://graph.microsoft.com/v1.0/applications/" + alice), 400, "Request_BadRequest", []string{"@odata.id"}},
		{"missing @odata.id", map[string]any{}, 400, "Request_BadRequest", []string{"'@odata.id' is required"}},
		{"extra property", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + carol, "id": carol}, 400, "Request_BadRequest", []string{"'id'"}},
		{"wrong type", map[string]any{"@odata.id": 5}, 400, "Request_BadRequest", []string{"URL string"}},
		{"malformed", `{"@odata.id"`, 400, "BadRequest", []string{"JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("POST", members+"/$ref", tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
	a.call("POST", "/v1.0/groups/nope/members/$ref", ref("https://graph.microsoft.com/v1.0/users/"+carol)).wantError(t, 404, "Request_ResourceNotFound")

	a.must(http.StatusNoContent, "DELETE", members+"/"+bob+"/$ref", nil)
	a.must(http.StatusNoContent, "DELETE", members+"/$ref?$id="+url.QueryEscape("https://graph.microsoft.com/v1.0/directoryObjects/"+sub), nil)
	// A user may be named by userPrincipalName, as in GET /users/{upn}.
	a.must(http.StatusNoContent, "POST", members+"/$ref", ref("https://graph.microsoft.com/v1.0/users/CAROL@contoso.com"))
	if ids, _ := a.store.ListMembers(t.Context(), g); !slices.Contains(ids, carol) {
		t.Errorf("carol by UPN: members %v", ids)
	}
	a.call("POST", members+"/$ref", ref("https://graph.microsoft.com/v1.0/users/nobody@contoso.com")).wantError(t, 404, "Request_ResourceNotFound", "nobody@contoso.com")
	a.must(http.StatusNoContent, "DELETE", members+"/carol@contoso.com/$ref", nil)
	if ids, _ := a.store.ListMembers(t.Context(), g); slices.Contains(ids, carol) {
		t.Errorf("carol removed by UPN: members %v", ids)
	}
	a.call("DELETE", members+"/"+bob+"/$ref", nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("DELETE", members+"/$ref", nil).wantError(t, 400, "Request_BadRequest", "memberId")

	// A soft-deleted member drops out of the listing.
	a.must(http.StatusNoContent, "DELETE", "/v1.0/users/"+alice, nil)
	if vals := a.must(http.StatusOK, "GET", members, nil).values(t); len(vals) != 0 {
		t.Errorf("members after removals = %v", vals)
	}

	// members@odata.bind when creating.
	body := newGroup("Bound")
	body["members@odata.bind"] = []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + carol, "https://graph.microsoft.com/v1.0/users/" + bob}
	twice := newGroup("Twice")
	twice["members@odata.bind"] = []string{"https://graph.microsoft.com/v1.0/users/" + bob, "https://graph.microsoft.com/v1.0/directoryObjects/" + bob}
	a.call("POST", "/v1.0/groups", twice).wantError(t, 400, "Request_BadRequest", "already exist")
	bound := a.must(http.StatusCreated, "POST", "/v1.0/groups", body).object(t)["id"].(string)
	ids, err := a.store.ListMembers(context.Background(), bound)
	if err != nil || len(ids) != 2 {
		t.Errorf("bound members = %v, %v", ids, err)
	}
}

// sortByID orders items by id, the order collections are listed in.
func sortByID(items []map[string]any) []map[string]any {
	return query{Top: maxPageSize}.Apply(items).Items
}

// PATCH adds members with members@odata.bind, as Graph does: checked
// whole before anything is written.
func TestPatchGroupBindsMembers(t *testing.T) {
	a := newAPITest(t)
	ann, bob := a.createUser("ann@contoso.test"), a.createUser("bob@contoso.test")
	gid := a.createGroup("Patched")
	sub := a.createGroup("Sub")
	path := "/v1.0/groups/" + gid
	ref := func(set, id string) string { return "https://graph.microsoft.com/v1.0/" + set + "/" + id }
	members := func() []string {
		ids, err := a.store.ListMembers(t.Context(), gid)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	a.must(http.StatusNoContent, "PATCH", path, map[string]any{"description": "first",
		"members@odata.bind": []string{ref("users", ann), ref("directoryObjects", sub)}})
	if got, want := members(), []string{ann, sub}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("members after PATCH = %v, want %v", got, want)
	}
	many := make([]string, maxBinds+1)
	for i := range many {
		many[i] = ref("users", bob)
	}
	for _, c := range []struct {
		name    string
		binds   []string
		status  int
		message string
	}{
		{"a member already", []string{ref("users", bob), ref("users", ann)}, 400, "One or more added object references already exist"},
		{"the same twice", []string{ref("users", bob), ref("users", bob)}, 400, "already exist"},
		{"itself", []string{ref("groups", gid)}, 400, "A group cannot be a member of itself."},
		{"unknown", []string{ref("users", "11111111-1111-4111-8111-111111111111")}, 404, ""},
		{"too many", many, 400, "At most 20 members"},
	} {
		res := a.call("PATCH", path, map[string]any{"description": "changed", "members@odata.bind": c.binds})
		if res.status != c.status || !strings.Contains(string(res.body), c.message) {
			t.Errorf("%s: %d %s, want %d %q", c.name, res.status, res.body, c.status, c.message)
		}
	}
	if got := members(); len(got) != 2 {
		t.Errorf("members after refused PATCHes = %v", got)
	}
	if g := a.must(http.StatusOK, "GET", path, nil).object(t); g["description"] != "first" {
		t.Errorf("a refused PATCH changed the group: %v", g["description"])
	}
	a.call("PATCH", "/v1.0/users/"+bob, map[string]any{"manager@odata.bind": ref("users", ann)}).
		wantError(t, 400, "Request_BadRequest", "not supported")
}

// Groups are of the kinds Graph creates: security or Microsoft 365.
func TestGroupKinds(t *testing.T) {
	a := newAPITest(t)
	kind := func(name string, mail, security bool, types ...string) map[string]any {
		g := newGroup(name)
		g["mailEnabled"], g["securityEnabled"], g["groupTypes"] = mail, security, types
		return g
	}
	for _, c := range []struct {
		name    string
		body    map[string]any
		message string
	}{
		{"mail-enabled security", kind("mailsec", true, true), "does not currently support writes of mail-enabled groups"},
		{"Unified without mail", kind("unimail", false, false, "Unified"), "is mail-enabled: set mailEnabled to true"},
		{"Unified twice", kind("unitwice", true, false, "Unified", "Unified"), "more than once"},
		{"neither", kind("neither", false, false), "this one is neither"},
	} {
		a.call("POST", "/v1.0/groups", c.body).wantError(t, 400, "Request_BadRequest", c.message)
	}
	a.must(http.StatusCreated, "POST", "/v1.0/groups", kind("m365", true, false, "Unified"))
	id := a.must(http.StatusCreated, "POST", "/v1.0/groups", kind("security", false, true)).object(t)["id"].(string)
	a.call("PATCH", "/v1.0/groups/"+id, map[string]any{"mailEnabled": true}).wantError(t, 400, "Request_BadRequest", "mail-enabled")
	a.must(http.StatusNoContent, "PATCH", "/v1.0/groups/"+id, map[string]any{"groupTypes": []string{"Unified"}, "mailEnabled": true})
	if got := a.must(http.StatusOK, "GET", "/v1.0/groups", nil).values(t); len(got) != 2 {
		t.Errorf("%d groups, want the two allowed", len(got))
	}
}

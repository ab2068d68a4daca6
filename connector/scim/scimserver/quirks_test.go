package scimserver

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func strictServer(opts Options) *Server {
	opts.Token = tok
	return New(opts)
}

func TestNoPatch(t *testing.T) {
	s := strictServer(Options{NoPatch: true})
	u := mustCreate(t, s, "/Users", `{"userName":"u"}`)
	if r := send(t, s, "PATCH", "/Users/"+u, string(patchOf(`{"op":"replace","path":"title","value":"x"}`))); r.status != 405 {
		t.Errorf("PATCH = %d %v, want 405", r.status, r.body)
	}
	if r := send(t, s, "PUT", "/Users/"+u, `{"userName":"u","title":"x"}`); r.status != 200 {
		t.Errorf("PUT = %d", r.status)
	}
	r := send(t, s, "GET", "/ServiceProviderConfig", "")
	if r.body["patch"].(map[string]any)["supported"] != false || r.body["filter"].(map[string]any)["supported"] != true {
		t.Errorf("ServiceProviderConfig = %v", r.body)
	}
}

func TestNoFilter(t *testing.T) {
	s := strictServer(Options{NoFilter: true})
	mustCreate(t, s, "/Users", `{"userName":"u"}`)
	if r := send(t, s, "GET", "/Users?"+filterQuery(`userName eq "u"`), ""); r.status != 400 || r.body["scimType"] != "invalidFilter" {
		t.Errorf("filtered GET = %d %v", r.status, r.body)
	}
	if r := send(t, s, "GET", "/Users?count=1", ""); r.status != 200 || r.body["totalResults"] != 1.0 {
		t.Errorf("list = %d %v", r.status, r.body)
	}
	if r := send(t, s, "GET", "/ServiceProviderConfig", ""); r.body["filter"].(map[string]any)["supported"] != false {
		t.Errorf("ServiceProviderConfig = %v", r.body)
	}
}

func TestHideMembers(t *testing.T) {
	s := strictServer(Options{HideMembers: true})
	u := mustCreate(t, s, "/Users", `{"userName":"u"}`)
	v := mustCreate(t, s, "/Users", `{"userName":"v"}`)
	g := mustCreate(t, s, "/Groups", `{"displayName":"G","members":[{"value":"`+u+`"}]}`)
	if r := send(t, s, "GET", "/Groups/"+g, ""); r.body["members"] != nil {
		t.Errorf("GET group = %v, want no members", r.body)
	}
	if r := send(t, s, "GET", "/Groups?"+filterQuery(`displayName eq "G"`), ""); r.body["Resources"].([]any)[0].(map[string]any)["members"] != nil {
		t.Errorf("list groups = %v, want no members", r.body)
	}
	want := []any{map[string]any{"value": u}}
	if r := send(t, s, "GET", "/Groups/"+g+"?attributes=members", ""); !cmp.Equal(r.body["members"], want) {
		t.Errorf("GET group ?attributes=members = %v", r.body)
	}
	r := send(t, s, "GET", "/Users/"+u, "")
	if diff := cmp.Diff([]any{map[string]any{"value": g, "display": "G"}}, r.body["groups"]); diff != "" {
		t.Errorf("user groups (-want +got):\n%s", diff)
	}
	r = send(t, s, "GET", "/Users?"+filterQuery(`groups.value eq "`+g+`"`)+"&attributes=groups", "")
	if r.body["totalResults"] != 1.0 || r.body["Resources"].([]any)[0].(map[string]any)["id"] != u {
		t.Errorf("users in group = %v", r.body)
	}
	// groups is read-only: a PUT does not store it.
	send(t, s, "PUT", "/Users/"+v, `{"userName":"v","groups":[{"value":"`+g+`"}]}`)
	if s.Users()[1]["groups"] != nil {
		t.Errorf("stored user = %v, want no groups", s.Users()[1])
	}
}

func TestStrictFilter(t *testing.T) {
	s := strictServer(Options{StrictFilter: true})
	for f, want := range map[string]int{
		`userName eq "u"`: 200, `externalId eq "x"`: 200, `id eq "1"`: 200, `emails.value eq "a@b"`: 200,
		`displayName eq "G"`: 200, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "u"`: 200,
		`userName sw "u"`: 400, `userName eq "u" and active eq true`: 400, `emails[type eq "work"].value eq "a"`: 400,
		`members.value eq "1"`: 400, `groups.value eq "1"`: 400, `title eq "x"`: 400,
	} {
		r := send(t, s, "GET", "/Users?"+filterQuery(f), "")
		if r.status != want || want == 400 && r.body["scimType"] != "invalidFilter" {
			t.Errorf("filter %s = %d %v, want %d", f, r.status, r.body, want)
		}
	}
}

func TestRequireEmail(t *testing.T) {
	s := strictServer(Options{RequireEmail: true})
	if r := send(t, s, "POST", "/Users", `{"userName":"bob"}`); r.status != 400 || !strings.Contains(r.body["detail"].(string), "emails") {
		t.Errorf("POST without email = %d %v", r.status, r.body)
	}
	mustCreate(t, s, "/Users", `{"userName":"bob","emails":[{"value":"bob@x.org"}]}`)
	mustCreate(t, s, "/Users", `{"userName":"eve@x.org"}`)
}

func TestPatchReturnsResource(t *testing.T) {
	s := strictServer(Options{PatchReturnsResource: true})
	g := mustCreate(t, s, "/Groups", `{"displayName":"G"}`)
	r := send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"replace","path":"displayName","value":"H"}`)))
	if r.status != 200 || r.body["displayName"] != "H" {
		t.Errorf("group PATCH = %d %v", r.status, r.body)
	}
}

func TestCaseSensitiveRoutes(t *testing.T) {
	s := strictServer(Options{CaseSensitiveRoutes: true})
	for path, want := range map[string]int{"/Users": 200, "/users": 404, "/Groups": 200, "/GROUPS": 404,
		"/ServiceProviderConfig": 200, "/serviceproviderconfig": 404} {
		if r := send(t, s, "GET", path, ""); r.status != want {
			t.Errorf("GET %s = %d, want %d", path, r.status, want)
		}
	}
	if r := send(t, newTestServer(), "GET", "/users", ""); r.status != 200 {
		t.Errorf("default server: GET /users = %d", r.status)
	}
}

func TestRejectUnknownMembers(t *testing.T) {
	s := strictServer(Options{RejectUnknownMembers: true})
	u := mustCreate(t, s, "/Users", `{"userName":"u"}`)
	g := mustCreate(t, s, "/Groups", `{"displayName":"G"}`)
	r := send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"add","path":"members","value":[{"value":"`+u+`"},{"value":"ghost"}]}`)))
	if r.status != 400 || !strings.Contains(r.body["detail"].(string), "ghost") || s.Groups()[0]["members"] != nil {
		t.Errorf("PATCH with an unknown member = %d %v; stored %v", r.status, r.body, s.Groups()[0])
	}
	if r := send(t, s, "PUT", "/Groups/"+g, `{"displayName":"G","members":[{"value":"ghost"}]}`); r.status != 400 {
		t.Errorf("PUT with an unknown member = %d", r.status)
	}
	if r := send(t, s, "POST", "/Groups", `{"displayName":"H","members":[{"value":"ghost"}]}`); r.status != 400 {
		t.Errorf("POST with an unknown member = %d", r.status)
	}
	if r := send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"add","path":"members","value":[{"value":"`+u+`"},{"value":"`+g+`"}]}`))); r.status != 204 {
		t.Errorf("PATCH with a user and a group = %d %v", r.status, r.body)
	}
}

func TestNoUniqueness(t *testing.T) {
	s := strictServer(Options{NoUniqueness: true})
	mustCreate(t, s, "/Users", `{"userName":"u"}`)
	mustCreate(t, s, "/Users", `{"userName":"U"}`)
	if len(s.Users()) != 2 {
		t.Errorf("users = %v", s.Users())
	}
}

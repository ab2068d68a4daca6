package scimserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector/scim/scimjson"
)

const tok = "t0k"

type result struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends one request to h with the test token.
func send(t *testing.T, h http.Handler, method, target, body string) result {
	t.Helper()
	return sendAuth(t, h, method, target, body, "Bearer "+tok)
}

func sendAuth(t *testing.T, h http.Handler, method, target, body, auth string) result {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := result{status: rec.Code, header: rec.Header()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, target, rec.Body.String())
		}
	}
	return r
}

func newTestServer() *Server {
	return New(Options{Token: tok, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
}

func mustCreate(t *testing.T, s http.Handler, endpoint, body string) string {
	t.Helper()
	r := send(t, s, "POST", endpoint, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST %s = %d %v", endpoint, r.status, r.body)
	}
	return r.body["id"].(string)
}

func filterQuery(f string) string { return "filter=" + url.QueryEscape(f) }

func TestAuth(t *testing.T) {
	s := newTestServer()
	for _, auth := range []string{"", "Bearer nope", "Basic " + tok} {
		r := sendAuth(t, s, "GET", "/Users", "", auth)
		if r.status != http.StatusUnauthorized || r.body["status"] != "401" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("auth %q: %d %v", auth, r.status, r.body)
		}
		if schemas, _ := r.body["schemas"].([]any); len(schemas) != 1 || schemas[0] != scimjson.ErrorSchema {
			t.Errorf("auth %q: error body %v", auth, r.body)
		}
	}
	if r := send(t, s, "GET", "/Users", ""); r.status != http.StatusOK {
		t.Errorf("with token: %d", r.status)
	}
	if r := sendAuth(t, New(Options{}), "GET", "/Users", "", ""); r.status != http.StatusOK {
		t.Errorf("server without token: %d", r.status)
	}
}

func TestCreateAndGetUser(t *testing.T) {
	s := newTestServer()
	r := send(t, s, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Ada",
	  "active":"True","meta":{"resourceType":"User"},"id":"client-chosen","roles":[]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST = %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	meta := r.body["meta"].(map[string]any)
	want := map[string]any{
		"resourceType": "User", "created": "2026-01-02T03:04:05.000Z", "lastModified": "2026-01-02T03:04:05.000Z",
		"location": "http://example.com/Users/" + id, "version": `W/"1"`,
	}
	if diff := cmp.Diff(want, meta); diff != "" || id == "client-chosen" {
		t.Errorf("meta (-want +got):\n%s (id %s)", diff, id)
	}
	if r.header.Get("Location") != meta["location"] || r.header.Get("Content-Type") != "application/scim+json" {
		t.Errorf("headers = %v", r.header)
	}
	if r.body["active"] != true {
		t.Errorf("active = %#v, want true", r.body["active"])
	}
	got := send(t, s, "GET", "/users/"+id, "") // routes are case-insensitive
	if got.status != http.StatusOK || got.body["userName"] != "Ada" || got.body["roles"] == nil {
		t.Errorf("GET = %d %v", got.status, got.body)
	}
	for body, want := range map[string]string{
		`{"userName":"ADA"}`:                "uniqueness",
		`{"title":"x"}`:                     "invalidValue",
		`[1]`:                               "invalidSyntax",
		`{"userName":"b","active":"maybe"}`: "invalidValue",
	} {
		r := send(t, s, "POST", "/Users", body)
		if r.body["scimType"] != want {
			t.Errorf("POST %s = %d %v, want scimType %s", body, r.status, r.body, want)
		}
	}
	if n := len(s.Users()); n != 1 {
		t.Errorf("%d users stored, want 1", n)
	}
}

func TestListFilterPaging(t *testing.T) {
	s := newTestServer()
	ada := mustCreate(t, s, "/Users", `{"userName":"ada@x","externalId":"A1","name":{"givenName":"Ada"},
	  "emails":[{"type":"work","value":"ada@work"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng"}}`)
	bob := mustCreate(t, s, "/Users", `{"userName":"bob@x","externalId":"B1","active":false,"title":"Ops"}`)
	cy := mustCreate(t, s, "/Users", `{"userName":"cy@x","externalId":"C1","emails":[{"type":"other","value":"cy@home"}]}`)
	g := mustCreate(t, s, "/Groups", `{"displayName":"Eng","members":[{"value":"`+ada+`"}]}`)

	tests := []struct {
		query string
		want  []string
	}{
		{filterQuery(`userName eq "ADA@X"`), []string{ada}},
		{"filter=userName+eq+%22bob%40x%22", []string{bob}},
		{filterQuery(`externalId eq B1`), []string{bob}},
		{filterQuery(`emails[type eq "work"].value eq "ada@work"`), []string{ada}},
		{filterQuery(`emails.value eq "cy@home"`), []string{cy}},
		{filterQuery(`userName sw "b" or userName sw "c"`), []string{bob, cy}},
		{filterQuery(`title pr and active eq false`), []string{bob}},
		{filterQuery(`userName co "@x" and not (title pr)`), []string{ada, cy}},
		{filterQuery(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Eng"`), []string{ada}},
		{filterQuery(`userName eq "nobody"`), []string{}},
		{"startIndex=2&count=1", []string{bob}},
		{"startIndex=9", []string{}},
		{"count=0", []string{}},
	}
	for _, tc := range tests {
		r := send(t, s, "GET", "/Users?"+tc.query, "")
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %v", tc.query, r.status, r.body)
			continue
		}
		got := []string{}
		for _, x := range r.body["Resources"].([]any) {
			got = append(got, x.(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ids %v, want %v", tc.query, got, tc.want)
		}
		if r.body["itemsPerPage"] != float64(len(got)) || r.body["schemas"].([]any)[0] != scimjson.ListResponseSchema {
			t.Errorf("%s: envelope %v", tc.query, r.body)
		}
	}
	if r := send(t, s, "GET", "/Users?startIndex=2&count=1", ""); r.body["totalResults"] != 3.0 || r.body["startIndex"] != 2.0 {
		t.Errorf("paging envelope = %v", r.body)
	}
	if r := send(t, s, "GET", "/Users?"+filterQuery(`userName eq`), ""); r.status != 400 || r.body["scimType"] != "invalidFilter" {
		t.Errorf("bad filter = %d %v", r.status, r.body)
	}

	r := send(t, s, "GET", "/Groups?excludedAttributes=members&"+filterQuery(`members.value eq "`+ada+`"`), "")
	if res := r.body["Resources"].([]any); len(res) != 1 || res[0].(map[string]any)["members"] != nil {
		t.Errorf("group by member without members = %v", r.body)
	}
	if r := send(t, s, "GET", "/Groups/"+g+"?excludedAttributes=members", ""); r.body["members"] != nil || r.body["displayName"] != "Eng" {
		t.Errorf("GET group excluding members = %v", r.body)
	}
	r = send(t, s, "GET", "/Users/"+ada+"?attributes=userName,name.givenName", "")
	want := []string{"id", "meta", "name", "schemas", "userName"}
	if keys := slices.Sorted(mapsKeys(r.body)); !slices.Equal(keys, want) {
		t.Errorf("attributes= projection keys %v, want %v", keys, want)
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestPatchAnswers(t *testing.T) {
	s := newTestServer()
	u := mustCreate(t, s, "/Users", `{"userName":"u","active":true}`)
	r := send(t, s, "PATCH", "/Users/"+u, string(patchOf(`{"op":"Replace","path":"active","value":"False"}`)))
	if r.status != http.StatusOK || r.body["active"] != false || r.body["meta"].(map[string]any)["version"] != `W/"2"` {
		t.Errorf("user PATCH = %d %v", r.status, r.body)
	}
	g := mustCreate(t, s, "/Groups", `{"displayName":"G"}`)
	r = send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+u+`"}]}`)))
	if r.status != http.StatusNoContent || r.body != nil {
		t.Errorf("group PATCH = %d %v", r.status, r.body)
	}
	mustCreate(t, s, "/Groups", `{"displayName":"Other"}`)
	r = send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"replace","path":"displayName","value":"other"}`)))
	if r.status != http.StatusConflict || r.body["scimType"] != "uniqueness" {
		t.Errorf("rename to a taken displayName = %d %v", r.status, r.body)
	}
	if r := send(t, s, "PATCH", "/Users/nope", string(patchOf(`{"op":"remove","path":"title"}`))); r.status != 404 {
		t.Errorf("PATCH missing user = %d", r.status)
	}
	r = send(t, s, "PATCH", "/Users/"+u, string(patchOf(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"}`)))
	if r.status != 400 || r.body["scimType"] != "noTarget" {
		t.Errorf("replace on an absent filtered value = %d %v", r.status, r.body)
	}
	if got := s.Users()[0]; got["active"] != false || got["emails"] != nil {
		t.Errorf("stored user = %v (a failed PATCH must change nothing)", got)
	}
}

func TestPutDeleteAndMembership(t *testing.T) {
	s := newTestServer()
	u := mustCreate(t, s, "/Users", `{"userName":"u"}`)
	v := mustCreate(t, s, "/Users", `{"userName":"v"}`)
	g := mustCreate(t, s, "/Groups", `{"displayName":"G","members":[{"value":"`+u+`"},{"value":"`+v+`"}]}`)
	r := send(t, s, "PUT", "/Users/"+u, `{"userName":"u2","title":"T"}`)
	if r.status != 200 || r.body["userName"] != "u2" || r.body["meta"].(map[string]any)["created"] == nil {
		t.Errorf("PUT = %d %v", r.status, r.body)
	}
	if r := send(t, s, "PUT", "/Users/"+u, `{"userName":"V"}`); r.status != http.StatusConflict {
		t.Errorf("PUT to a taken userName = %d", r.status)
	}
	if r := send(t, s, "DELETE", "/Users/"+u, ""); r.status != http.StatusNoContent {
		t.Errorf("DELETE = %d", r.status)
	}
	if r := send(t, s, "DELETE", "/Users/"+u, ""); r.status != http.StatusNotFound || r.body["detail"] == nil {
		t.Errorf("second DELETE = %d %v", r.status, r.body)
	}
	if r := send(t, s, "GET", "/Users/"+u, ""); r.status != http.StatusNotFound {
		t.Errorf("GET deleted = %d", r.status)
	}
	r = send(t, s, "GET", "/Groups/"+g, "")
	if diff := cmp.Diff([]any{map[string]any{"value": v}}, r.body["members"]); diff != "" {
		t.Errorf("members after deleting a user (-want +got):\n%s", diff)
	}
	if r := send(t, s, "DELETE", "/Groups/"+g, ""); r.status != http.StatusNoContent || len(s.Groups()) != 0 {
		t.Errorf("DELETE group = %d, %d groups left", r.status, len(s.Groups()))
	}
	if r := send(t, s, "POST", "/Users/"+v, `{}`); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST on a resource = %d", r.status)
	}
	if r := send(t, s, "GET", "/Devices", ""); r.status != http.StatusNotFound {
		t.Errorf("GET /Devices = %d", r.status)
	}
}

func TestDiscovery(t *testing.T) {
	s := newTestServer()
	r := send(t, s, "GET", "/ServiceProviderConfig", "")
	if r.status != 200 || r.body["patch"].(map[string]any)["supported"] != true {
		t.Errorf("ServiceProviderConfig = %d %v", r.status, r.body)
	}
	r = send(t, s, "GET", "/Schemas", "")
	if r.status != 200 || r.body["totalResults"] != 3.0 {
		t.Errorf("Schemas = %d %v", r.status, r.body)
	}
	r = send(t, s, "GET", "/Schemas/"+scimjson.EnterpriseUserSchema, "")
	if r.status != 200 || r.body["name"] != "EnterpriseUser" {
		t.Errorf("Schemas/enterprise = %d %v", r.status, r.body)
	}
	r = send(t, s, "GET", "/ResourceTypes/User", "")
	if r.status != 200 || r.body["endpoint"] != "/Users" || r.body["schemaExtensions"] == nil {
		t.Errorf("ResourceTypes/User = %d %v", r.status, r.body)
	}
	if r := send(t, s, "GET", "/ResourceTypes/Device", ""); r.status != 404 {
		t.Errorf("ResourceTypes/Device = %d", r.status)
	}
	if r := send(t, s, "POST", "/Schemas", "{}"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /Schemas = %d", r.status)
	}
}

// The server can be mounted below a prefix, as provisiond --demo does.
func TestMountedWithStripPrefix(t *testing.T) {
	s := newTestServer()
	mux := http.NewServeMux()
	mux.Handle("/demo/scim/v2/", http.StripPrefix("/demo/scim/v2", s))
	id := mustCreate(t, mux, "/demo/scim/v2/Users", `{"userName":"m"}`)
	r := send(t, mux, "GET", "/demo/scim/v2/Users/"+id, "")
	if loc := r.body["meta"].(map[string]any)["location"]; loc != "http://example.com/demo/scim/v2/Users/"+id {
		t.Errorf("meta.location = %v", loc)
	}
}

package scimserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"provisiond/connector/scim/scimjson"
)

// fuzzRoutes are the server's routes, {user} and {group} standing for a
// user and a group (holding the user) made first.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/Users"}, {"GET", "/Users"}, {"GET", "/Users/{user}"}, {"PUT", "/Users/{user}"},
	{"PATCH", "/Users/{user}"}, {"DELETE", "/Users/{user}"},
	{"POST", "/Groups"}, {"GET", "/Groups"}, {"GET", "/Groups/{group}"}, {"PUT", "/Groups/{group}"},
	{"PATCH", "/Groups/{group}"}, {"DELETE", "/Groups/{group}"},
	{"GET", "/ServiceProviderConfig"}, {"GET", "/Schemas"}, {"GET", "/ResourceTypes"},
}

// FuzzRoutes sends any query and body to every route of a server holding a
// user and a group: the answer is never a 5xx, a 4xx is a SCIM error
// with its status, a write whose body is not JSON is refused, and the
// server still answers a listing afterwards.
func FuzzRoutes(f *testing.F) {
	for i := range fuzzRoutes {
		for _, in := range [][2]string{{"", ""}, {"", "{}"}, {"", "null"}, {"", "[]"}, {"", "{"}, {"", `{"userName":"c"}0`},
			{"", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b@contoso.test","active":true}`},
			{"", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G2","members":[{"value":"{user}"}]}`},
			{"", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x"}]}`},
			{"", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"{user}\"]"}]}`},
			{"filter=userName eq \"a@contoso.test\"", ""}, {"filter=(", ""}, {"startIndex=0&count=-1", ""},
			{"attributes=userName&excludedAttributes=emails", ""}, {"filter=members[value eq \"{user}\"]", ""},
		} {
			f.Add(uint8(i), in[0], in[1])
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, query, body string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			return // not on a request line
		}
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		s := newTestServer()
		serve := func(method, path, query, body string) (int, []byte) {
			req := httptest.NewRequest(method, "/", strings.NewReader(body))
			req.URL.Path, req.URL.RawQuery = path, query
			req.RequestURI = req.URL.RequestURI()
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/scim+json")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return rec.Code, rec.Body.Bytes()
		}
		user := mustCreate(t, s, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@contoso.test"}`)
		group := mustCreate(t, s, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G",
			"members":[{"value":"`+user+`"}]}`)
		fill := strings.NewReplacer("{user}", user, "{group}", group).Replace
		path, query, body := fill(r.path), fill(query), fill(body)
		status, b := serve(r.method, path, query, body)
		what := r.method + " " + path + "?" + query + " " + body
		switch {
		case status >= 500 || status < 200:
			t.Fatalf("%s: status %d: %s", what, status, b)
		case status >= 400:
			var e struct {
				Schemas []string
				Status  string
				Detail  string
			}
			if err := json.Unmarshal(b, &e); err != nil || len(e.Schemas) != 1 || e.Schemas[0] != scimjson.ErrorSchema ||
				e.Status != strconv.Itoa(status) || e.Detail == "" {
				t.Fatalf("%s: status %d, not a SCIM error with it (%v): %s", what, status, err, b)
			}
		}
		if r.method != "GET" && r.method != "DELETE" && !json.Valid([]byte(body)) && status < 400 {
			t.Fatalf("%s: status %d for a body that is not JSON", what, status)
		}
		if status, b := serve("GET", "/Users", "", ""); status != http.StatusOK {
			t.Fatalf("after %s: GET /Users: status %d: %s", what, status, b)
		}
	})
}

package graphapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"provisiond/jobs"
	"provisiond/secrets"
	"provisiond/store/memory"
)

// bodyRoutes are the routes that read a request body, with {sp}, {job},
// {user}, {group} and {directory} standing for objects newFuzzAPI makes
// first. validateCredentials is left out: it dials the address a body names.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/v1.0/users"},
	{"PATCH", "/v1.0/users/{user}"},
	{"POST", "/v1.0/groups"},
	{"PATCH", "/v1.0/groups/{group}"},
	{"POST", "/v1.0/groups/{group}/members/$ref"},
	{"POST", instantiatePath},
	{"POST", "/v1.0/servicePrincipals/{sp}/owners/$ref"},
	{"POST", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs"},
	{"PATCH", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}"},
	{"PUT", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema/parseExpression"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/templates/scim/schema/parseExpression"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema/directories/{directory}/discover"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/provisionOnDemand"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/start"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/pause"},
	{"POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/restart"},
	{"PUT", "/v1.0/servicePrincipals/{sp}/synchronization/secrets"},
}

// FuzzRoutes sends any body to bodyRoutes[route&127], on a server with a
// service principal and a job (with credentials when route >= 128, for a
// target that refuses connections), a user and a group (the stand-ins, and
// {rule}, in a body are replaced too): the answer is never a 5xx, every
// 4xx is a Graph error envelope with a code and a message, and a body that
// is not JSON is refused.
func FuzzRoutes(f *testing.F) {
	for i := range bodyRoutes {
		for _, body := range []string{"", "{}", "null", "[]", "{", `{"a":1}0`, `{"value":[{"key":"BaseAddress","value":7}]}`,
			`{"displayName":"x","mailNickname":"x","userPrincipalName":"x@contoso.test","accountEnabled":true,"passwordProfile":{"password":"p"}}`,
			`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{user}"}`,
			`{"criteria":{"resetScope":"Watermark, Nope"}}`, `{"schedule":{"interval":"PT0S"}}`,
			`{"expression":"Join(\",\", [a], ","targetAttributeDefinition":null,"testInputObject":{"definition":null}}`,
			`{"parameters":[{"ruleId":"{rule}","subjects":[{"objectId":"{user}","objectTypeName":"User"}]}]}`,
			`{"principalId":"{group}","resourceId":"{sp}","appRoleId":"00000000-0000-0000-0000-000000000000"}`,
			`{"synchronizationRules":[{"objectMappings":[{"attributeMappings":[{"source":{"type":"Function","name":"Nope"}}]}]}]}`,
		} {
			f.Add(uint8(i), []byte(body))
			f.Add(uint8(128+i), []byte(body))
		}
	}
	box := testBox(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route&127)%len(bodyRoutes)]
		a := newFuzzAPI(t, box, route >= 128, r.path+string(body))
		path, text := a.fill(r.path), a.fill(string(body))
		status, b := a.send(r.method, path, "", text)
		wantGraphAnswer(t, r.method+" "+path+" "+strconv.Quote(text), status, b)
		plain := !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) // gzip is unpacked first
		if plain && len(bytes.TrimSpace(body)) > 0 && !json.Valid([]byte(text)) && status < 400 {
			t.Fatalf("%s %s %q: status %d for a body that is not JSON", r.method, path, text, status)
		}
	})
}

// queryRoutes are the routes that read a query ($filter, $select, $top,
// ...), with the stand-ins of bodyRoutes.
var queryRoutes = []string{
	"/v1.0/users", "/v1.0/users/$count", "/v1.0/users/{user}", "/v1.0/users/{user}/appRoleAssignments",
	"/v1.0/groups", "/v1.0/groups/$count", "/v1.0/groups/{group}", "/v1.0/groups/{group}/members",
	"/v1.0/groups/{group}/appRoleAssignments", "/v1.0/servicePrincipals", "/v1.0/servicePrincipals/{sp}",
	"/v1.0/servicePrincipals/{sp}/owners", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo",
	"/v1.0/servicePrincipals/{sp}/synchronization/jobs", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}",
	"/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema", "/v1.0/servicePrincipals/{sp}/synchronization/templates",
	"/v1.0/auditLogs/provisioning",
}

// FuzzQueries sends any query to every route that reads one: never a 5xx,
// every 4xx a Graph error envelope.
func FuzzQueries(f *testing.F) {
	for i := range queryRoutes {
		for _, q := range []string{"", "$top=2", "$top=-1", "$skip=1", "$select=id,displayName", "$select=nope",
			"$filter=displayName eq 'Fuzz'", "$filter=startswith(displayName,'F') and id ne '{user}'", "$filter=(",
			"$orderby=displayName desc", "$count=true", "$expand=members", "$search=\"displayName:F\"", "$skiptoken=xyz",
			"$filter=activityDateTime ge 2026-01-01 and jobId eq '{job}'", "$format=json", "%zz", "$top=99999999999999999999"} {
			f.Add(uint8(i), q)
		}
	}
	box := testBox(f)
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			return // not on a request line
		}
		path := queryRoutes[int(route)%len(queryRoutes)]
		a := newFuzzAPI(t, box, false, path+query)
		path, query = a.fill(path), a.fill(query)
		status, b := a.send("GET", path, query, "")
		wantGraphAnswer(t, "GET "+path+"?"+query, status, b)
	})
}

// testBox is the secrets box of the tests' jobs services.
func testBox(t testing.TB) *secrets.Box {
	t.Helper()
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// fuzzAPI is a fresh server for one fuzz input, on the memory store (it
// passes the stores' conformance suite) so that an input costs a few
// hundred microseconds, not a SQLite file; ids maps the stand-ins to the
// objects made for it.
type fuzzAPI struct {
	t   *testing.T
	srv *Server
	ids map[string]string
}

// newFuzzAPI makes a server with a service principal and a job (with
// credentials for a target that refuses connections when withSecrets),
// and what needs names of a user, a group, the job's directory and rule.
func newFuzzAPI(t *testing.T, box *secrets.Box, withSecrets bool, needs string) *fuzzAPI {
	st := memory.New()
	a := &fuzzAPI{t: t, srv: New(Config{Store: st, Auth: &fakeAuth{def: adminPrincipal}, Logger: slog.New(slog.DiscardHandler),
		Sync: &Sync{Jobs: jobs.New(jobs.Options{Store: st, Secrets: box, Scheduler: &fakeScheduler{}})}})}
	a.ids = map[string]string{"{sp}": a.made(instantiatePath, `{"displayName":"Fuzz SCIM"}`, "servicePrincipal", "id")}
	sync := "/v1.0/servicePrincipals/" + a.ids["{sp}"] + "/synchronization"
	a.ids["{job}"] = a.made(sync+"/jobs", `{"templateId":"scim"}`, "id")
	if withSecrets {
		if status, b := a.send("PUT", sync+"/secrets", "",
			`{"value":[{"key":"BaseAddress","value":"http://127.0.0.1:9/scim"},{"key":"SecretToken","value":"t"}]}`); status != http.StatusNoContent {
			t.Fatalf("PUT secrets: status %d: %s", status, b)
		}
	}
	if strings.Contains(needs, "{user}") {
		a.ids["{user}"] = a.made("/v1.0/users", `{"accountEnabled":true,"displayName":"Fuzz","mailNickname":"fuzz",
			"userPrincipalName":"fuzz@contoso.test","passwordProfile":{"password":"Fuzz-1234!"}}`, "id")
	}
	if strings.Contains(needs, "{group}") {
		a.ids["{group}"] = a.made("/v1.0/groups", `{"displayName":"Fuzz","mailEnabled":false,"mailNickname":"fuzz","securityEnabled":true}`, "id")
	}
	if strings.Contains(needs, "{directory}") || strings.Contains(needs, "{rule}") {
		_, b := a.send("GET", sync+"/jobs/"+a.ids["{job}"]+"/schema", "", "")
		var schema struct {
			Directories          []struct{ ID string }
			SynchronizationRules []struct{ ID string }
		}
		if err := json.Unmarshal(b, &schema); err != nil || len(schema.Directories) == 0 || len(schema.SynchronizationRules) == 0 {
			t.Fatalf("the job's schema has no directories or rules (%v): %s", err, b)
		}
		a.ids["{directory}"] = schema.Directories[len(schema.Directories)-1].ID
		a.ids["{rule}"] = schema.SynchronizationRules[0].ID
	}
	return a
}

// send serves one request; query is the raw query string.
func (a *fuzzAPI) send(method, path, query, body string) (int, []byte) {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path, req.URL.RawQuery = path, query
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// made POSTs body to path and returns the string at keys in the 201's body.
func (a *fuzzAPI) made(path, body string, keys ...string) string {
	status, b := a.send("POST", path, "", body)
	var v any
	if status != http.StatusCreated || json.Unmarshal(b, &v) != nil {
		a.t.Fatalf("POST %s: status %d: %s", path, status, b)
	}
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	return v.(string)
}

// fill replaces the stand-ins in s with the ids they stand for.
func (a *fuzzAPI) fill(s string) string {
	for k, v := range a.ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// wantGraphAnswer fails on a 5xx or 1xx, and on a 4xx that is not a Graph
// error envelope.
func wantGraphAnswer(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	switch {
	case status >= 500 || status < 200:
		t.Fatalf("%s: status %d: %s", what, status, body)
	case status >= 400:
		response{status: status, body: body}.graphError(t)
	}
}

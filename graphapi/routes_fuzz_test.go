package graphapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"provisiond/jobs"
	"provisiond/secrets"
	"provisiond/store/memory"
)

// bodyRoutes are the routes that read a request body, with {sp}, {job},
// {user} and {group} standing for objects fuzzRoutes makes first.
// validateCredentials is left out: it dials the address a body names.
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

// FuzzRoutes sends any body to every route that reads one, on a server with
// a service principal and a job (with credentials when route >= 128, for a
// target that refuses connections), a user and a group ({sp}, {job},
// {user}, {group}, {directory} and {rule} in a body stand for them): the answer is
// never a 5xx, and every 4xx is a Graph error envelope with a code and a
// message.
func FuzzRoutes(f *testing.F) {
	for i := range bodyRoutes {
		for _, body := range []string{"", "{}", "null", "[]", `{"value":[{"key":"BaseAddress","value":7}]}`,
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
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		// A fresh server each time, on the memory store (it passes the
		// stores' conformance suite) so that an input is worth a few
		// hundred microseconds, not a SQLite file.
		st := memory.New()
		srv := New(Config{Store: st, Auth: &fakeAuth{def: adminPrincipal}, Logger: slog.New(slog.DiscardHandler),
			Sync: &Sync{Jobs: jobs.New(jobs.Options{Store: st, Secrets: box, Scheduler: &fakeScheduler{}})}})
		send := func(method, path, body string) (int, []byte) {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			return rec.Code, rec.Body.Bytes()
		}
		made := func(path, body string, keys ...string) string {
			status, b := send("POST", path, body)
			var v any
			if status != http.StatusCreated || json.Unmarshal(b, &v) != nil {
				t.Fatalf("POST %s: status %d: %s", path, status, b)
			}
			for _, k := range keys {
				v = v.(map[string]any)[k]
			}
			return v.(string)
		}
		ids := map[string]string{"{sp}": made(instantiatePath, `{"displayName":"Fuzz SCIM"}`, "servicePrincipal", "id")}
		ids["{job}"] = made("/v1.0/servicePrincipals/"+ids["{sp}"]+"/synchronization/jobs", `{"templateId":"scim"}`, "id")
		if route >= 128 { // the job with credentials too, so that start, restart and on-demand go further
			if status, b := send("PUT", "/v1.0/servicePrincipals/"+ids["{sp}"]+"/synchronization/secrets",
				`{"value":[{"key":"BaseAddress","value":"http://127.0.0.1:9/scim"},{"key":"SecretToken","value":"t"}]}`); status != http.StatusNoContent {
				t.Fatalf("PUT secrets: status %d: %s", status, b)
			}
		}
		if strings.Contains(r.path, "{user}") || strings.Contains(string(body), "{user}") {
			ids["{user}"] = made("/v1.0/users", `{"accountEnabled":true,"displayName":"Fuzz","mailNickname":"fuzz",
				"userPrincipalName":"fuzz@contoso.test","passwordProfile":{"password":"Fuzz-1234!"}}`, "id")
		}
		if strings.Contains(r.path, "{group}") || strings.Contains(string(body), "{group}") {
			ids["{group}"] = made("/v1.0/groups", `{"displayName":"Fuzz","mailEnabled":false,"mailNickname":"fuzz","securityEnabled":true}`, "id")
		}
		if strings.Contains(r.path, "{directory}") || strings.Contains(string(body), "{rule}") {
			_, b := send("GET", "/v1.0/servicePrincipals/"+ids["{sp}"]+"/synchronization/jobs/"+ids["{job}"]+"/schema", "")
			var schema struct {
				Directories          []struct{ ID string }
				SynchronizationRules []struct{ ID string }
			}
			if err := json.Unmarshal(b, &schema); err != nil || len(schema.Directories) == 0 || len(schema.SynchronizationRules) == 0 {
				t.Fatalf("the job's schema has no directories or rules (%v): %s", err, b)
			}
			ids["{directory}"] = schema.Directories[len(schema.Directories)-1].ID
			ids["{rule}"] = schema.SynchronizationRules[0].ID
		}
		path, text := r.path, string(body)
		for k, v := range ids {
			path, text = strings.ReplaceAll(path, k, v), strings.ReplaceAll(text, k, v)
		}
		status, b := send(r.method, path, text)
		switch {
		case status >= 500:
			t.Fatalf("%s %s %q: status %d: %s", r.method, path, text, status, b)
		case status >= 400:
			response{status: status, body: b}.graphError(t)
		case status < 200:
			t.Fatalf("%s %s %q: status %d", r.method, path, text, status)
		}
	})
}

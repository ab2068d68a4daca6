package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"provisiond/connector/scim/scimserver"
	"provisiond/schema"
)

// demoTarget is the demo SCIM 2.0 application provisiond serves itself, on
// a loopback port of its own: provisiond never calls its own listen
// address.
type demoTarget struct {
	token  string
	server *scimserver.Server
}

// serve serves the demo app until ctx ends and returns its base URL.
func (d *demoTarget) serve(ctx context.Context) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo SCIM app: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", d.server))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/scim/v2", nil
}

func newDemoTarget() *demoTarget {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "demo-" + hex.EncodeToString(b)
	return &demoTarget{token: tok, server: scimserver.New(scimserver.Options{Token: tok})}
}

// demoRoles are the permissions of the token --demo prints.
var demoRoles = []string{"Synchronization.ReadWrite.All", "Directory.ReadWrite.All", "Application.ReadWrite.All",
	"AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All"}

// seedDemo creates (or finds) demo users, a group, an application with a
// scim job pointed at the demo SCIM app, through the API itself, then
// prints a token and a curl command.
func seedDemo(ctx context.Context, a *app, out io.Writer) error {
	tok, err := a.issuer.MintApp("provisiond-demo", demoRoles, 24*time.Hour)
	if err != nil {
		return err
	}
	scimURL, err := a.demo.serve(ctx)
	if err != nil {
		return err
	}
	call := func(method, path string, body any, want ...int) (map[string]any, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, a.baseURL+"/v1.0"+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := &recorder{header: http.Header{}}
		a.handler.ServeHTTP(rec, req)
		var m map[string]any
		_ = json.Unmarshal(rec.body.Bytes(), &m)
		for _, w := range want {
			if rec.code == w {
				return m, nil
			}
		}
		return m, fmt.Errorf("%s %s: status %d: %s", method, path, rec.code, rec.body.String())
	}
	users := []map[string]any{
		{"accountEnabled": true, "displayName": "Adele Vance", "givenName": "Adele", "surname": "Vance", "mailNickname": "adele",
			"userPrincipalName": "adele@demo.provisiond.local", "mail": "adele@demo.provisiond.local", "jobTitle": "Engineer", "department": "R&D"},
		{"accountEnabled": true, "displayName": "Brian Johnson", "givenName": "Brian", "surname": "Johnson", "mailNickname": "brian",
			"userPrincipalName": "brian@demo.provisiond.local", "mail": "brian@demo.provisiond.local", "jobTitle": "Designer"},
		{"accountEnabled": true, "displayName": "Carla Diaz", "givenName": "Carla", "surname": "Diaz", "mailNickname": "carla",
			"userPrincipalName": "carla@demo.provisiond.local", "mail": "carla@demo.provisiond.local"},
	}
	ids := map[string]string{}
	for _, u := range users {
		upn := u["userPrincipalName"].(string)
		m, err := call("GET", "/users/"+upn, nil, 200, 404)
		if err != nil {
			return err
		}
		if m["id"] == nil {
			if m, err = call("POST", "/users", u, 201); err != nil {
				return err
			}
		}
		ids[upn] = m["id"].(string)
	}
	groups, err := call("GET", "/groups?$filter="+urlQuote("displayName eq 'Demo Engineers'"), nil, 200)
	if err != nil {
		return err
	}
	var groupID string
	if v, _ := groups["value"].([]any); len(v) > 0 {
		groupID = v[0].(map[string]any)["id"].(string)
	} else {
		g, err := call("POST", "/groups", map[string]any{"displayName": "Demo Engineers", "mailEnabled": false,
			"mailNickname": "demo-engineers", "securityEnabled": true}, 201)
		if err != nil {
			return err
		}
		groupID = g["id"].(string)
		for _, upn := range []string{"adele@demo.provisiond.local", "brian@demo.provisiond.local"} {
			if _, err := call("POST", "/groups/"+groupID+"/members/$ref",
				map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + ids[upn]}, 204); err != nil {
				return err
			}
		}
	}
	sps, err := call("GET", "/servicePrincipals?$filter="+urlQuote("displayName eq 'Demo SCIM App'"), nil, 200)
	if err != nil {
		return err
	}
	var spID string
	if v, _ := sps["value"].([]any); len(v) > 0 {
		spID = v[0].(map[string]any)["id"].(string)
	} else {
		inst, err := call("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate",
			map[string]any{"displayName": "Demo SCIM App"}, 201)
		if err != nil {
			return err
		}
		spID = inst["servicePrincipal"].(map[string]any)["id"].(string)
		for _, principal := range []string{ids["adele@demo.provisiond.local"], groupID} {
			if _, err := call("POST", "/servicePrincipals/"+spID+"/appRoleAssignedTo", map[string]any{
				"principalId": principal, "resourceId": spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}, 201); err != nil {
				return err
			}
		}
	}
	jobs, err := call("GET", "/servicePrincipals/"+spID+"/synchronization/jobs", nil, 200)
	if err != nil {
		return err
	}
	var jobID string
	if v, _ := jobs["value"].([]any); len(v) > 0 {
		jobID = v[0].(map[string]any)["id"].(string)
	} else {
		j, err := call("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}, 201)
		if err != nil {
			return err
		}
		jobID = j["id"].(string)
	}
	if _, err := call("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": scimURL},
		{"key": "SecretToken", "value": a.demo.token},
	}}, 204); err != nil {
		return err
	}
	body := fmt.Sprintf(`{"parameters":[{"ruleId":"%s","subjects":[{"objectId":"%s","objectTypeName":"User"}]}]}`,
		schema.SCIMUserRuleID, ids["adele@demo.provisiond.local"])
	fmt.Fprintf(out, `provisiond demo is ready.
  users:     adele (assigned), brian (assigned through group Demo Engineers), carla (not assigned)
  app:       Demo SCIM App, service principal %s, job %s
  SCIM app:  %s (served by this process, in memory)

Token (24 h):
export TOKEN=%s

The demo SCIM app, as a job's BaseAddress and SecretToken secrets:
export SCIM_URL=%s
export SCIM_TOKEN=%s

Provision Adele on demand:
curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  %s/v1.0/servicePrincipals/%s/synchronization/jobs/%s/provisionOnDemand \
  -d '%s'

The admin pages: %s/portal/ (sign in with the token above)
`, spID, jobID, scimURL, tok, scimURL, a.demo.token, a.baseURL, spID, jobID, body, a.baseURL)
	return nil
}

// recorder keeps the answer to one of seedDemo's in-process API calls.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func urlQuote(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27").Replace(s)
}

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGraphProtocolOnSyncRoutes: OData key syntax, case-insensitive
// segments, trailing slashes, gzip bodies, request ids and Graph errors on
// the synchronization routes, as a Graph SDK would send them.
func TestGraphProtocolOnSyncRoutes(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	id, _ := e.user("Proto", "Col")
	e.assign(id)
	body, _ := json.Marshal(map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}})
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(body)
	zw.Close()
	appID := e.do("GET", "/servicePrincipals/"+e.spID, nil, 200)["appId"].(string)
	for _, tc := range []struct {
		name, path string
		body       []byte
		gzip       bool
	}{
		{"OData keys, gzip", "/servicePrincipals('" + e.spID + "')/synchronization/jobs('" + e.jobID + "')/provisionOnDemand", zipped.Bytes(), true},
		{"appId alternate key", "/servicePrincipals(appId='" + appID + "')/synchronization/jobs/" + e.jobID + "/provisionOnDemand", body, false},
		{"lower case, trailing slash", "/serviceprincipals/" + e.spID + "/Synchronization/jobs/" + e.jobID + "/provisionondemand/", body, false},
		{"plain JSON labelled gzip (SDK retry bug)", "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand", body, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.url+"/v1.0"+tc.path, bytes.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("client-request-id", "c0ffee00-0000-4000-8000-000000000001")
			if tc.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") != "c0ffee00-0000-4000-8000-000000000001" {
				t.Errorf("request ids: %v", resp.Header)
			}
			var m map[string]string
			json.Unmarshal(raw, &m)
			if !strings.HasSuffix(m["@odata.context"], "/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair") || m["key"] == "" {
				t.Errorf("answer = %s", raw)
			}
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		status, m, raw := e.send("GET", "/servicePrincipals/"+e.spID+"/synchronization/nonsense", nil, e.token)
		checkGraphError(t, status, m, raw, 404, "Request_ResourceNotFound", "nonsense")
	})
	t.Run("wrong method", func(t *testing.T) {
		status, m, raw := e.send("GET", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/provisionOnDemand", nil, e.token)
		checkGraphError(t, status, m, raw, 405, "Request_BadRequest", "POST")
	})
	t.Run("secrets are write-only", func(t *testing.T) {
		for _, p := range []string{"/servicePrincipals/" + e.spID + "/synchronization/secrets", "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID} {
			_, _, raw := e.send("GET", p, nil, e.token)
			if strings.Contains(raw, e.scimTok) {
				t.Errorf("GET %s shows the secret token", p)
			}
		}
		var found bool
		_, m, _ := e.send("GET", "/auditLogs/provisioning", nil, e.token)
		for _, l := range m["value"].([]any) {
			b, _ := json.Marshal(l)
			found = found || strings.Contains(string(b), e.scimTok)
		}
		if found {
			t.Error("a provisioning log shows the secret token")
		}
	})
}

// TestPermissionsOverHTTP: who may call provisionOnDemand, through the
// real token path.
func TestPermissionsOverHTTP(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	id, _ := e.user("Perm", "Ission")
	e.assign(id)
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	body := map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}
	app := func(roles ...string) string {
		tok, err := e.issuer.MintApp("caller-"+strings.Join(roles, "-"), roles, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	user := func(scopes, roles []string) string {
		tok, err := e.issuer.MintUser("admin@contoso.test", scopes, roles, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	owned := app("Application.ReadWrite.OwnedBy")
	ownerID := e.issuer.AppObjectID("caller-Application.ReadWrite.OwnedBy")
	for _, tc := range []struct {
		name   string
		token  string
		before func()
		status int
	}{
		{"app Synchronization.ReadWrite.All", app("Synchronization.ReadWrite.All"), nil, 200},
		{"app Synchronization.Read.All", app("Synchronization.Read.All"), nil, 403},
		{"app OwnedBy, not owner", owned, nil, 403},
		{"app OwnedBy, owner", owned, func() {
			e.do("POST", "/servicePrincipals/"+e.spID+"/owners/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + ownerID}, 204)
		}, 200},
		{"delegated with Application Administrator", user([]string{"Synchronization.ReadWrite.All"}, []string{"Application Administrator"}), nil, 200},
		{"delegated with Cloud Application Administrator", user([]string{"Synchronization.ReadWrite.All"}, []string{"Cloud Application Administrator"}), nil, 200},
		{"delegated without a directory role", user([]string{"Synchronization.ReadWrite.All"}, nil), nil, 403},
		{"delegated with only Hybrid Identity Administrator", user([]string{"Synchronization.ReadWrite.All"}, []string{"Hybrid Identity Administrator"}), nil, 403},
		{"no token", "", nil, 401},
		{"garbage token", "not-a-jwt", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			status, m, raw := e.send("POST", path, body, tc.token)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, raw)
			}
			if status >= 400 {
				code := map[int]string{401: "InvalidAuthenticationToken", 403: "Authorization_RequestDenied"}[status]
				checkGraphError(t, status, m, raw, status, code)
			}
		})
	}
}

package e2e

import (
	"strings"
	"testing"
)

func TestOnDemandBadInput(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	uid, _ := e.user("Bad", "Input")
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	members := func(n int) []any {
		var out []any
		for range n {
			out = append(out, userSubject(uid))
		}
		return out
	}
	body := func(rule string, subjects ...any) map[string]any {
		return map[string]any{"parameters": []any{map[string]any{"ruleId": rule, "subjects": subjects}}}
	}
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		code       string
		mention    []string
	}{
		{"malformed JSON", path, `{"parameters": [`, 400, "BadRequest", []string{"not valid JSON"}},
		{"empty body", path, ``, 400, "BadRequest", []string{"empty"}},
		{"duplicate key", path, `{"parameters":[{"ruleId":"` + e.ruleID + `","ruleId":"other","subjects":[]}]}`, 400, "BadRequest", []string{"ruleId"}},
		{"wrong JSON type", path, `{"parameters": "x"}`, 400, "BadRequest", []string{"parameters"}},
		{"missing parameters", path, `{}`, 400, "RequestParameterInvalid", []string{"parameters"}},
		{"missing subjects", path, map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID}}}, 400, "RequestParameterInvalid", []string{"subjects"}},
		{"empty subjects", path, body(e.ruleID), 400, "RequestParameterInvalid", []string{"subjects"}},
		{"two subjects", path, body(e.ruleID, userSubject(uid), userSubject(uid)), 400, "RequestParameterInvalid", []string{"one subject"}},
		{"unknown ruleId", path, body("no-such-rule", userSubject(uid)), 400, "RequestParameterInvalid", []string{e.jobID, "no-such-rule"}},
		{"empty ruleId", path, body("", userSubject(uid)), 400, "RequestParameterInvalid", []string{e.jobID, "The parameter 'ruleId' is required"}},
		{"missing objectId", path, body(e.ruleID, map[string]any{"objectTypeName": "User"}), 400, "RequestParameterInvalid", []string{"objectId"}},
		{"missing objectTypeName", path, body(e.ruleID, map[string]any{"objectId": uid}), 400, "RequestParameterInvalid", []string{"objectTypeName"}},
		{"wrong objectTypeName", path, body(e.ruleID, map[string]any{"objectId": uid, "objectTypeName": "Device"}), 400, "RequestParameterInvalid", []string{"Device", "User", "Group"}},
		{"unknown objectId", path, body(e.ruleID, userSubject("8f0b8e41-0000-4000-8000-000000000000")), 404, "Request_ResourceNotFound", []string{"8f0b8e41-0000-4000-8000-000000000000"}},
		{"more than 5 members", path, body(e.ruleID, map[string]any{"objectId": uid, "objectTypeName": "Group", "links": map[string]any{"members": members(6)}}), 400, "RequestParameterInvalid", []string{"5"}},
		{"members on a user", path, body(e.ruleID, map[string]any{"objectId": uid, "objectTypeName": "User", "links": map[string]any{"members": members(1)}}), 400, "RequestParameterInvalid", []string{"Group"}},
		{"unknown job", "/servicePrincipals/" + e.spID + "/synchronization/jobs/scim.0000/provisionOnDemand", body(e.ruleID, userSubject(uid)), 404, "Request_ResourceNotFound", []string{"scim.0000"}},
		{"unknown service principal", "/servicePrincipals/0e7c0000-0000-4000-8000-000000000000/synchronization/jobs/" + e.jobID + "/provisionOnDemand", body(e.ruleID, userSubject(uid)), 404, "Request_ResourceNotFound", []string{"0e7c0000-0000-4000-8000-000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m, raw := e.send("POST", tc.path, tc.body, e.token)
			checkGraphError(t, status, m, raw, tc.status, tc.code, tc.mention...)
		})
	}
	t.Run("no token", func(t *testing.T) {
		status, m, raw := e.send("POST", path, body(e.ruleID, userSubject(uid)), "")
		checkGraphError(t, status, m, raw, 401, "InvalidAuthenticationToken")
	})
	t.Run("no side effects", func(t *testing.T) {
		if n := len(e.scimSrv.Users()); n != 0 {
			t.Errorf("bad requests wrote %d users to the target", n)
		}
	})
}

// checkGraphError asserts a Graph error envelope.
func checkGraphError(t *testing.T, status int, m map[string]any, raw string, wantStatus int, wantCode string, mention ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, raw)
	}
	errObj, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no Graph error envelope: %s", raw)
	}
	if errObj["code"] != wantCode {
		t.Errorf("code = %v, want %s", errObj["code"], wantCode)
	}
	msg, _ := errObj["message"].(string)
	if msg == "" {
		t.Error("empty message")
	}
	for _, s := range mention {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not mention %q", msg, s)
		}
	}
	inner, _ := errObj["innerError"].(map[string]any)
	if inner["request-id"] == "" || inner["request-id"] == nil || inner["date"] == nil {
		t.Errorf("innerError = %v, want date and request-id", inner)
	}
}

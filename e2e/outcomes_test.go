package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// shape reduces an answer to what a golden case pins: result, code,
// action, each step's name/type/status with its detail keys, and the
// names of the modified properties.
func shape(key, value map[string]any) map[string]any {
	var steps []string
	for _, s := range value["provisioningSteps"].([]any) {
		m := s.(map[string]any)
		var keys []string
		for k := range m["details"].(map[string]any) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		steps = append(steps, fmt.Sprintf("%s/%s/%s %v", m["name"], m["type"], m["status"], keys))
	}
	var mods []string
	for _, p := range value["modifiedProperties"].([]any) {
		mods = append(mods, p.(map[string]any)["displayName"].(string))
	}
	d := key["details"].(map[string]any)
	return map[string]any{"result": key["result"], "errorCode": d["errorCode"], "action": value["action"], "steps": steps, "modified": mods}
}

func goldenJSON(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -update to create it)", err)
	}
	if d := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(b))); d != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, d)
	}
}

// TestGoldenOutcomes runs every outcome the engine can reach, against
// both SCIM targets, and pins each answer's shape.
func TestGoldenOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scimmy bool
	}{{"scimtest", false}, {"SCIMMY", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, options{scimmy: tc.scimmy, fixed: true})
			e.setupApp()
			got := map[string]any{}
			record := func(name string, subject map[string]any) {
				key, value := e.onDemand(subject)
				got[name] = shape(key, value)
			}
			mk := func(nick string, props map[string]any) string {
				body := map[string]any{"accountEnabled": true, "displayName": nick, "givenName": nick, "surname": "Golden",
					"mailNickname": nick, "userPrincipalName": nick + "@contoso.test", "mail": nick + "@contoso.test"}
				for k, v := range props {
					body[k] = v
				}
				return e.do("POST", "/users", body, 201)["id"].(string)
			}
			// Scoping filter on department (Sales only) for every case below.
			s := e.schemaOf()
			userMapping(s)["scope"] = map[string]any{"groups": []any{map[string]any{"name": "sales", "clauses": []any{
				map[string]any{"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": map[string]any{"values": []any{"Sales"}}}}}}}
			e.putSchema(s)

			ann := mk("ann", map[string]any{"department": "Sales"})
			a := e.assign(ann)
			record("01 create", userSubject(ann))
			record("02 redundant export", userSubject(ann))
			e.do("PATCH", "/users/"+ann, map[string]any{"jobTitle": "Lead"}, 204)
			record("03 update", userSubject(ann))
			e.do("PATCH", "/users/"+ann, map[string]any{"department": "HR"}, 204)
			record("04 out of scope: disable", userSubject(ann))
			record("05 out of scope again: already disabled", userSubject(ann))
			e.do("PATCH", "/users/"+ann, map[string]any{"department": "Sales"}, 204)
			record("06 back in scope: reactivate", userSubject(ann))
			e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+a, nil, 204)
			record("07 unassigned: disable", userSubject(ann))

			bob := mk("bob", map[string]any{"department": "Sales"})
			record("08 never assigned: not entitled", userSubject(bob))
			e.assign(bob)
			e.do("PATCH", "/users/"+bob, map[string]any{"department": "Legal"}, 204)
			record("09 assigned, out of scope, never provisioned", userSubject(bob))
			e.do("PATCH", "/users/"+bob, map[string]any{"accountEnabled": false, "department": "Sales"}, 204)
			record("10 disabled in the source, never provisioned", userSubject(bob))

			cat := mk("cat", map[string]any{"department": "Sales"})
			e.assign(cat)
			record("11 create cat", userSubject(cat))
			if err := e.st.PurgeUser(t.Context(), cat); err != nil {
				t.Fatal(err)
			}
			record("12 hard-deleted: delete", userSubject(cat))

			// Matching on externalId (mailNickname), with two target objects holding it.
			for _, n := range []string{"dup1", "dup2"} {
				e.scimCreate(map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": n + "@target.test", "externalId": "dan", "active": true})
			}
			s = e.schemaOf()
			om := userMapping(s)
			setMapping(om, "userName", "[userPrincipalName]", 0)
			setMapping(om, "externalId", "[mailNickname]", 1)
			e.putSchema(s)
			dan := mk("dan", map[string]any{"department": "Sales"})
			e.assign(dan)
			record("13 duplicate target entries", userSubject(dan))

			// The target refuses: a userName that already exists (matched on
			// employeeNumber, so no match; the create then conflicts).
			s = e.schemaOf()
			om = userMapping(s)
			setMapping(om, "externalId", "[mailNickname]", 0)
			setMapping(om, "userName", "[userPrincipalName]", 0)
			setMapping(om, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "[employeeId]", 1)
			e.putSchema(s)
			eve := mk("eve", map[string]any{"department": "Sales", "employeeId": "E-7"})
			e.scimCreate(map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "eve@contoso.test", "active": true})
			e.assign(eve)
			record("14 target conflict", userSubject(eve))
			fay := mk("fay", map[string]any{"department": "Sales"})
			e.assign(fay)
			record("15 no matching attribute value: import skipped", userSubject(fay))

			goldenJSON(t, "outcomes."+tc.name, got)
		})
	}
}

// scimCreate writes a resource straight into the SCIM server.
func (e *env) scimCreate(res map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(res)
	req, _ := http.NewRequest("POST", strings.TrimRight(e.scimURL, "/")+"/Users", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+e.scimTok)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		e.t.Fatalf("SCIM create: %d", resp.StatusCode)
	}
}

// TestGoldenScopingOperators pins the Scoping step of every operator, for
// a value that passes and one that does not.
func TestGoldenScopingOperators(t *testing.T) {
	e := newEnv(t, options{fixed: true})
	e.setupApp()
	cases := []struct {
		op, attr   string
		values     []any
		pass, fail any
	}{
		{"EQUALS", "department", []any{"Sales"}, "Sales", "sales"},
		{"NOT EQUALS", "department", []any{"Sales"}, "HR", "Sales"},
		{"IS TRUE", "jobTitle", nil, "True", "False"},
		{"IS FALSE", "jobTitle", nil, "False", "True"},
		{"IS NULL", "jobTitle", nil, nil, "Lead"},
		{"IS NOT NULL", "jobTitle", nil, "Lead", nil},
		{"REGEX MATCH", "mail", []any{`^[a-z]+\d*@contoso\.test$`}, "x1@contoso.test", "x1@fabrikam.test"},
		{"NOT REGEX MATCH", "mail", []any{`@fabrikam\.test$`}, "x2@contoso.test", "x2@fabrikam.test"},
		{"Greater_Than", "employeeId", []any{"100"}, "101", "100"},
		{"Greater_Than_OR_EQUALS", "employeeId", []any{"100"}, "100", "99"},
		{"Less_Than", "employeeId", []any{"100"}, "99", "100"},
		{"Less_Than_OR_EQUALS", "employeeId", []any{"100"}, "100", "101"},
		{"Includes", "jobTitle", []any{"Eng"}, "Senior Engineer", "Designer"},
		{"Not Includes", "jobTitle", []any{"Eng"}, "Designer", "Engineer"},
		{"STARTS_WITH", "jobTitle", []any{"Senior"}, "Senior Designer", "Designer"},
		{"ENDS_WITH", "jobTitle", []any{"Designer"}, "Senior Designer", "Designers"},
		{"&", "department", []any{"Sales,HR,Legal"}, "HR", "R&D"},
		{"!&", "department", []any{"Sales,HR,Legal"}, "R&D", "HR"},
	}
	got := map[string]any{}
	for i, c := range cases {
		s := e.schemaOf()
		clause := map[string]any{"operatorName": c.op, "sourceOperandName": c.attr, "targetOperand": map[string]any{"values": c.values}}
		if c.values == nil {
			clause["targetOperand"] = nil
		}
		userMapping(s)["scope"] = map[string]any{"groups": []any{map[string]any{"name": "f", "clauses": []any{clause}}}}
		e.putSchema(s)
		for j, v := range []any{c.pass, c.fail} {
			nick := fmt.Sprintf("op%02d%c", i, 'a'+j)
			body := map[string]any{"accountEnabled": true, "displayName": nick, "mailNickname": nick,
				"userPrincipalName": nick + "@contoso.test", "mail": nick + "@contoso.test"}
			if v != nil {
				body[c.attr] = v
			}
			uid := e.do("POST", "/users", body, 201)["id"].(string)
			e.assign(uid)
			key, value := e.onDemand(userSubject(uid))
			if want := []string{"Success", "Skipped"}[j]; key["result"] != want {
				t.Errorf("%s on %v: result %v, want %s", c.op, v, key["result"], want)
			}
			scoping := value["provisioningSteps"].([]any)[1].(map[string]any)["details"]
			got[fmt.Sprintf("%02d %s %s", i, c.op, []string{"pass", "fail"}[j])] = map[string]any{"result": key["result"], "scoping": scoping}
		}
	}
	goldenJSON(t, "scoping_operators", got)
}

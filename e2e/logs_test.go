package e2e

import (
	"strings"
	"sync"
	"testing"
)

func TestProvisioningLogs(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	id, _ := e.user("Log", "Ged")
	e.assign(id)
	for range 3 {
		e.onDemand(userSubject(id))
	}
	all := e.do("GET", "/auditLogs/provisioning?$filter="+urlEscape("jobId eq '"+e.jobID+"'"), nil, 200)["value"].([]any)
	if len(all) != 3 {
		t.Fatalf("%d logs, want 3", len(all))
	}
	newest := all[0].(map[string]any)
	if newest["jobId"] != e.jobID || newest["provisioningAction"] != "other" || newest["changeId"] == "" {
		t.Errorf("newest log = %v", newest)
	}
	if all[2].(map[string]any)["provisioningAction"] != "create" {
		t.Errorf("oldest log action = %v, want create", all[2].(map[string]any)["provisioningAction"])
	}
	// The engine's own events answer the filters the admin portal uses.
	creates := e.do("GET", "/auditLogs/provisioning?$filter="+urlEscape("provisioningAction eq 'create' and sourceIdentity/id eq '"+id+"'"), nil, 200)["value"].([]any)
	if len(creates) != 1 || creates[0].(map[string]any)["id"] != all[2].(map[string]any)["id"] {
		t.Errorf("create logs of %s = %v, want the oldest", id, creates)
	}
	// Paging: one per page, following @odata.nextLink.
	page := e.do("GET", "/auditLogs/provisioning?$top=1", nil, 200)
	seen := 1
	for page["@odata.nextLink"] != nil {
		next := strings.TrimPrefix(page["@odata.nextLink"].(string), e.url+"/v1.0")
		page = e.do("GET", next, nil, 200)
		seen += len(page["value"].([]any))
	}
	if seen != 3 {
		t.Errorf("paging saw %d logs, want 3", seen)
	}
	status, m, raw := e.send("GET", "/auditLogs/provisioning?$filter="+urlEscape("action eq 'x'"), nil, e.token)
	checkGraphError(t, status, m, raw, 400, "Request_BadRequest", "'action'")

	// A deleted job's logs stay, as Entra's audit logs do, until retention.
	e.do("DELETE", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, nil, 204)
	kept := e.do("GET", "/auditLogs/provisioning?$filter="+urlEscape("jobId eq '"+e.jobID+"'"), nil, 200)["value"].([]any)
	if len(kept) != 3 || kept[0].(map[string]any)["id"] != newest["id"] {
		t.Errorf("%d logs of the deleted job, want its 3", len(kept))
	}
}

// TestConcurrentOnDemandCreatesOnce: parallel calls for one new user make
// one target object, not several.
func TestConcurrentOnDemandCreatesOnce(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		id, upn := e.user("Race", "Condition")
		e.assign(id)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
				body := map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}
				if status, _, raw := e.send("POST", path, body, e.token); status != 200 {
					t.Errorf("status %d: %s", status, raw)
				}
			}()
		}
		wg.Wait()
		if n := len(e.scimFind("Users", "userName", upn)); n != 1 {
			t.Errorf("%d target users after concurrent calls, want 1", n)
		}
	})
}

// TestNestedGroupsDoNotEntitle: a user is in scope through a directly
// assigned group, not through a group nested in it.
func TestNestedGroupsDoNotEntitle(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	direct, _ := e.user("Direct", "Member")
	nested, _ := e.user("Nested", "Member")
	group := func(name string) string {
		return e.do("POST", "/groups", map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}, 201)["id"].(string)
	}
	outer, inner := group("outer"), group("inner")
	add := func(g, m string) {
		e.do("POST", "/groups/"+g+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m}, 204)
	}
	add(outer, direct)
	add(outer, inner)
	add(inner, nested)
	e.assign(outer)
	key, value := e.onDemand(userSubject(direct))
	wantResult(t, key, value, "Success", "Create")
	key, value = e.onDemand(userSubject(nested))
	wantResult(t, key, value, "Skipped", "Other")
	if c := key["details"].(map[string]any)["errorCode"]; c != "NotEffectivelyEntitled" {
		t.Errorf("nested member: %v", c)
	}
}

// TestCycleLogsSkippedEventsUnlessTurnedOff: a cycle logs the Skipped
// event of an unassigned user, unless the job setting LogSkippedEvents is
// false; its other events are logged either way, and the logs answer a
// filter on the cycle.
func TestCycleLogsSkippedEventsUnlessTurnedOff(t *testing.T) {
	for _, logSkipped := range []bool{true, false} {
		e := newEnv(t, options{})
		e.setupApp()
		a, _ := e.user("Ann", "Assigned")
		e.user("Una", "Unassigned")
		e.assign(a)
		if !logSkipped {
			e.do("PATCH", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, map[string]any{
				"synchronizationJobSettings": []any{map[string]any{"name": "LogSkippedEvents", "value": "false"}}}, 200)
		}
		e.activate(t)
		cycle := e.cycle(t).LastExecution.ActivityIdentifier
		count := func(filter string) int {
			return len(e.do("GET", "/auditLogs/provisioning?$filter="+urlEscape("cycleId eq '"+cycle+"' and "+filter), nil, 200)["value"].([]any))
		}
		skipped, created := count("provisioningStatusInfo/status eq 'skipped'"), count("provisioningAction eq 'create'")
		if want := map[bool]int{true: 1, false: 0}[logSkipped]; skipped != want || created != 1 {
			t.Errorf("LogSkippedEvents %v: %d skipped and %d create events logged, want %d and 1", logSkipped, skipped, created, want)
		}
	}
}

func TestLogSkippedEventsSettingIsChecked(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	status, m, raw := e.send("PATCH", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, map[string]any{
		"synchronizationJobSettings": []any{map[string]any{"name": "LogSkippedEvents", "value": "sometimes"}}}, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "LogSkippedEvents", "sometimes")
	// A known name in another case would be stored and never read.
	for _, name := range []string{"logSkippedEvents", "quarantineTooManyDeletesThreshold", "scimPatchDialect", "SCIMUSERUPDATE"} {
		status, m, raw = e.send("PATCH", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, map[string]any{
			"synchronizationJobSettings": []any{map[string]any{"name": name, "value": "0"}}}, e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", "'"+name+"' is spelt", "case-sensitive")
	}
}

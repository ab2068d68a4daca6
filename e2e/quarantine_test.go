package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"provisiond/connector/scim/scimtest"
)

// loggedActions counts the job's provisioning logs read through the Graph
// API by their action (provisioningAction in the v1.0 shape), lower-cased.
func (e *env) loggedActions(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	page := e.do("GET", "/auditLogs/provisioning?$top=50&$filter="+urlEscape("jobId eq '"+e.jobID+"'"), nil, 200)
	for {
		for _, v := range page["value"].([]any) {
			l := v.(map[string]any)
			a, ok := l["provisioningAction"].(string)
			if !ok {
				a, _ = l["action"].(string)
			}
			n[strings.ToLower(a)]++
		}
		next, _ := page["@odata.nextLink"].(string)
		if next == "" {
			return n
		}
		page = e.do("GET", strings.TrimPrefix(next, e.url+"/v1.0"), nil, 200)
	}
}

// The job's status through the Graph API.
func (e *env) jobStatus(t *testing.T) map[string]any {
	t.Helper()
	return e.do("GET", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, nil, 200)["status"].(map[string]any)
}

func graphTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return tm
}

// Over HTTP, against the SCIM server: a wrong SecretToken (401 to every
// call) quarantines the job with EncounteredQuarantineException and backs
// off; PUT secrets with the right token makes it try at once and its
// cycle brings it back to Active. Then the accidental-deletions guard:
// threshold 5 and 10 users unassigned quarantine it with TooManyDeletes,
// the 10 stay active in the target and are logged as StagedDelete, and
// restart ForceDeletes disables them.
func TestQuarantineAndDeleteGuardOverHTTP(t *testing.T) {
	e := newEnv(t, options{manualCycles: true})
	e.setupApp()
	var assignments []string
	for i := range 10 {
		id, _ := e.user("Guard", fmt.Sprintf("User%02d", i))
		assignments = append(assignments, e.assign(id))
	}
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	e.activate(t)
	e.cycle(t)
	if got := len(e.scimUserNames(t)); got != 10 {
		t.Fatalf("active SCIM users after the first cycle: %d, want 10", got)
	}

	secrets := func(token string) {
		e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
			{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": token}}}, 204)
	}
	secrets("not-the-token")
	e.do("PATCH", "/users/"+e.someUser(t), map[string]any{"jobTitle": "Changed"}, 204)
	if err := e.app.Jobs.RunCycle(t.Context(), e.spID, e.jobID); err == nil {
		t.Fatal("RunCycle with a refused token returned no error")
	}
	st := e.jobStatus(t)
	q, _ := st["quarantine"].(map[string]any)
	if st["code"] != "Quarantine" || q == nil || q["reason"] != "EncounteredQuarantineException" || q["seriesCount"] != float64(1) {
		t.Fatalf("status after 401s = %v; want code Quarantine, reason EncounteredQuarantineException, seriesCount 1", st)
	}
	qe, _ := q["error"].(map[string]any)
	if qe["code"] != "SystemForCrossDomainIdentityManagementCredentialValidationFailure" || qe["tenantActionable"] != true {
		t.Errorf("quarantine error = %v; want the credential failure, tenant-actionable", qe)
	}
	began := graphTime(t, q["currentBegan"])
	if next := graphTime(t, q["nextAttempt"]); next.Sub(began) != 40*time.Minute || !graphTime(t, q["seriesBegan"]).Equal(began) {
		t.Errorf("quarantine %v: want the next attempt one 40-minute interval after it began", q)
	}

	secrets(e.scimTok)
	q = e.jobStatus(t)["quarantine"].(map[string]any)
	if next := graphTime(t, q["nextAttempt"]); next.After(time.Now()) {
		t.Errorf("after PUT secrets with the right token: nextAttempt %v is in the future; want now", next)
	}
	e.cycle(t)
	if st = e.jobStatus(t); st["code"] != "Active" || st["quarantine"] != nil {
		t.Fatalf("after a cycle with the right token: code %v, quarantine %v; want Active, null", st["code"], st["quarantine"])
	}

	// The accidental-deletions guard: its threshold is a whole number.
	status, m, raw := e.send("PATCH", jobPath, map[string]any{"synchronizationJobSettings": []map[string]any{
		{"name": "QuarantineTooManyDeletesThreshold", "value": "-1"}}}, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "QuarantineTooManyDeletesThreshold")
	e.do("PATCH", jobPath, map[string]any{"synchronizationJobSettings": []map[string]any{
		{"name": "QuarantineTooManyDeletesThreshold", "value": "5"}}}, 200)
	for _, a := range assignments {
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+a, nil, 204)
	}
	before := e.loggedActions(t)
	e.cycle(t)
	st = e.jobStatus(t)
	q, _ = st["quarantine"].(map[string]any)
	if st["code"] != "Quarantine" || q == nil || q["reason"] != "TooManyDeletes" {
		t.Fatalf("after unassigning 10 with threshold 5: status %v; want Quarantine, TooManyDeletes", st)
	}
	if got := len(e.scimUserNames(t)); got != 10 {
		t.Errorf("active SCIM users while the deletes are held: %d, want 10", got)
	}
	after := e.loggedActions(t)
	if n := after["stageddelete"] - before["stageddelete"]; n != 10 || after["disable"] != before["disable"] {
		t.Errorf("logs of the guarded cycle: %d StagedDelete, %d Disable; want 10, 0", n, after["disable"]-before["disable"])
	}
	e.do("POST", jobPath+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "ForceDeletes"}}, 204)
	e.cycle(t)
	if got := len(e.scimUserNames(t)); got != 0 {
		t.Errorf("active SCIM users after restart ForceDeletes: %d, want 0", got)
	}
	if st = e.jobStatus(t); st["code"] != "Active" || st["quarantine"] != nil {
		t.Errorf("after restart ForceDeletes: code %v, quarantine %v; want Active, null", st["code"], st["quarantine"])
	}
	if n := e.loggedActions(t)["disable"] - after["disable"]; n != 10 {
		t.Errorf("Disable logs after ForceDeletes: %d, want 10", n)
	}
}

// With the scheduler running: a quarantined job's change-driven cycles
// wait for its nextAttempt instead of hammering a target that refuses it,
// and PUT secrets with the right token runs its next cycle at once, which
// carries what changed meanwhile and lifts the quarantine.
func TestQuarantinedJobBacksOffUntilNewCredentials(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	var users []string
	for i := range 3 {
		id, _ := e.user("Backoff", fmt.Sprintf("User%02d", i))
		e.assign(id)
		users = append(users, id)
	}
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the first cycle", func() bool { return len(e.scimUserNames(t)) == 3 })

	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": "revoked"}}}, 204)
	e.do("PATCH", "/users/"+users[0], map[string]any{"jobTitle": "First"}, 204)
	waitFor(t, "quarantine", func() bool { return e.jobStatus(t)["code"] == "Quarantine" })
	last := e.jobStatus(t)["lastExecution"].(map[string]any)["activityIdentifier"]

	e.do("PATCH", "/users/"+users[1], map[string]any{"jobTitle": "While Quarantined"}, 204)
	time.Sleep(2 * time.Second) // a change reaches an active job's cycle in about a second
	if got := e.jobStatus(t)["lastExecution"].(map[string]any)["activityIdentifier"]; got != last {
		t.Errorf("a cycle (%v) ran while the job was quarantined until its nextAttempt", got)
	}

	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok}}}, 204)
	waitFor(t, "Active after the right token", func() bool { return e.jobStatus(t)["code"] == "Active" })
	if got := e.scimFind("Users", "title", "While Quarantined"); len(got) != 1 {
		t.Errorf("SCIM users with the change made while quarantined: %d, want 1", len(got))
	}
}

// Over HTTP, against the SCIM server failing 30 % of its user creates with
// 500 (every attempt of theirs: the client's retries, which make each such
// create take seconds, do not get them through), fewer in each later cycle: each cycle escrows the failures and
// goes on, the later ones (on a clock moved an hour each time) retry them,
// and the escrow counts the Graph API shows go up, then down to 0 with
// every user in the target once.
func TestFailingCreatesConvergeOverHTTP(t *testing.T) {
	var mu sync.Mutex
	failing := map[string]bool{}
	e := newEnv(t, options{manualCycles: true, fixed: true, disrupt: func(r *http.Request) scimtest.Disruption {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/Users") {
			return scimtest.Disruption{}
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var u struct {
			UserName string `json:"userName"`
		}
		_ = json.Unmarshal(body, &u)
		mu.Lock()
		defer mu.Unlock()
		if failing[u.UserName] {
			return scimtest.Disruption{Status: 500}
		}
		return scimtest.Disruption{}
	}})
	e.setupApp()
	var upns []string
	for i := range 10 {
		id, upn := e.user("Flaky", fmt.Sprintf("User%02d", i))
		e.assign(id)
		upns = append(upns, upn)
	}
	e.activate(t)
	var raw []float64
	for _, n := range []int{3, 1, 0, 0} {
		mu.Lock()
		clear(failing)
		for _, upn := range upns[:n] {
			failing[upn] = true
		}
		mu.Unlock()
		e.cycle(t)
		le := e.jobStatus(t)["lastExecution"].(map[string]any)
		raw = append(raw, le["countEscrowedRaw"].(float64))
		if len(raw) == 1 && (le["countEscrowed"] != float64(3) || le["state"] != "EntryLevelErrors") {
			t.Errorf("first cycle: countEscrowed %v, state %v; want 3, EntryLevelErrors", le["countEscrowed"], le["state"])
		}
		if raw[len(raw)-1] == 0 {
			break
		}
		e.clock.n.Add(int64(time.Hour / time.Millisecond))
	}
	if got := fmt.Sprint(raw); got != "[3 1 0]" {
		t.Errorf("countEscrowedRaw by cycle = %s, want [3 1 0]", got)
	}
	if st := e.jobStatus(t); st["code"] != "Active" || st["lastExecution"].(map[string]any)["state"] != "Succeeded" {
		t.Errorf("after converging: code %v, lastExecution %v; want Active, Succeeded", st["code"], st["lastExecution"])
	}
	for _, upn := range upns {
		if got := len(e.scimFind("Users", "userName", upn)); got != 1 {
			t.Errorf("SCIM users %s: %d, want 1", upn, got)
		}
	}
}

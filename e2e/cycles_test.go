package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector/scim/scimtest"
	"provisiond/store"
	"provisiond/store/sqlstore"
)

// activate marks the job started without scheduling a cycle, so a test
// runs its cycles itself.
func (e *env) activate(t testing.TB) {
	t.Helper()
	_, err := e.st.UpdateJob(context.Background(), e.spID, e.jobID, func(j *store.Job) error {
		j.Schedule.State = store.ScheduleActive
		j.Schedule.Interval = "PT40M"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) cycle(t *testing.T) store.Status {
	t.Helper()
	if err := e.app.Jobs.RunCycle(context.Background(), e.spID, e.jobID); err != nil {
		t.Fatalf("RunCycle: %v", err)
	}
	j, err := e.st.GetJob(context.Background(), e.spID, e.jobID)
	if err != nil {
		t.Fatal(err)
	}
	return j.Status
}

func (e *env) scimUserNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, u := range e.scimFind("Users", "active", "true") {
		names = append(names, fmt.Sprint(u["userName"]))
	}
	slices.Sort(names)
	return names
}

// An initial cycle provisions every entitled user and group (with its
// members) and nothing else; an incremental cycle carries only what changed.
func TestCycleInitialThenIncremental(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		direct, directUPN := e.user("Ada", "Lovelace")
		m1, m1UPN := e.user("Alan", "Turing")
		m2, m2UPN := e.user("Joan", "Clarke")
		_, strangerUPN := e.user("Grace", "Hopper")
		team := e.group("Codebreakers "+e.jobID[len(e.jobID)-6:], m1, m2)
		e.assign(direct)
		e.assign(team)
		e.activate(t)

		st := e.cycle(t)
		want := []string{directUPN, m1UPN, m2UPN}
		slices.Sort(want)
		if got := e.scimUserNames(t); !slices.Equal(got, want) {
			t.Fatalf("SCIM users after the initial cycle = %v, want %v (not %s)", got, want, strangerUPN)
		}
		groups := e.scimFind("Groups", "displayName", "Codebreakers "+e.jobID[len(e.jobID)-6:])
		if len(groups) != 1 {
			t.Fatalf("SCIM groups: %d, want 1", len(groups))
		}
		full := e.scimGet("Groups", groups[0]["id"].(string))
		if ms, _ := full["members"].([]any); len(ms) != 2 {
			t.Errorf("SCIM group members = %v, want the 2 members", full["members"])
		}
		le := st.LastExecution
		if le == nil || le.State != store.ExecutionSucceeded || le.CountImported != 5 || le.CountExported != 4 || le.CountEntitled != 4 {
			t.Errorf("lastExecution = %+v; want Succeeded, 5 imported (4 users, 1 group), 4 entitled and exported", le)
		}
		if st.Code != store.StatusActive || st.SteadyStateLastAchieved.IsZero() || st.LastSuccessfulExecutionWithExports == nil {
			t.Errorf("status = %+v; want Active, steady state reached, a successful execution with exports", st)
		}
		wantCounts := []store.EntryCount{{Key: "group to Group", Value: 1}, {Key: "user to User", Value: 3}}
		if !slices.Equal(st.SynchronizedEntryCountByType, wantCounts) {
			t.Errorf("synchronizedEntryCountByType = %v, want %v", st.SynchronizedEntryCountByType, wantCounts)
		}
		// Every event of the cycle is logged with its cycleId.
		logs := e.do("GET", "/auditLogs/provisioning?$select=cycleId", nil, 200)["value"].([]any)
		if len(logs) != 5 {
			t.Errorf("%d provisioning logs after the initial cycle, want 5 (one per object)", len(logs))
		}
		for _, l := range logs {
			if id := l.(map[string]any)["cycleId"]; id != le.ActivityIdentifier {
				t.Errorf("log cycleId = %v, want the cycle's %s", id, le.ActivityIdentifier)
			}
		}

		// Nothing changed: an incremental cycle imports nothing.
		st = e.cycle(t)
		if le := st.LastExecution; le.CountImported != 0 || le.CountExported != 0 {
			t.Errorf("idle incremental cycle: %+v, want nothing imported", le)
		}

		// A rename reaches the target in the next incremental cycle, and only
		// that user is imported.
		e.do("PATCH", "/users/"+m1, map[string]any{"displayName": "Alan M. Turing"}, 204)
		st = e.cycle(t)
		if got := e.scimFind("Users", "userName", m1UPN)[0]["displayName"]; got != "Alan M. Turing" {
			t.Errorf("SCIM displayName after the rename = %v", got)
		}
		if le := st.LastExecution; le.CountImported != 1 || le.CountExported != 1 {
			t.Errorf("incremental cycle after one rename: %+v, want 1 imported and exported", le)
		}

		// A member leaves the group: removed from the target group, and
		// (no longer entitled) disabled.
		e.do("DELETE", "/groups/"+team+"/members/"+m2+"/$ref", nil, 204)
		e.cycle(t)
		full = e.scimGet("Groups", groups[0]["id"].(string))
		if ms, _ := full["members"].([]any); len(ms) != 1 {
			t.Errorf("SCIM group members after a removal = %v, want 1", full["members"])
		}
		if got := e.scimFind("Users", "userName", m2UPN)[0]["active"]; got != false {
			t.Errorf("removed member active = %v, want false", got)
		}
	})
}

// waitFor polls ok until it holds, failing the test after 15 seconds.
func waitFor(t *testing.T, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// A started job's cycles follow directory writes by themselves, within
// seconds: no call, no 40-minute wait. Paused, nothing reaches the target;
// started again, it does.
func TestCycleFollowsDirectoryChanges(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		jobPath, uid, upn, displayName := startedWithAUser(t, e)

		e.do("PATCH", "/users/"+uid, map[string]any{"displayName": "Katherine G. Johnson"}, 204)
		took := waitFor(t, "a rename", func() bool { return displayName() == "Katherine G. Johnson" })
		t.Logf("a rename reached the target %v after the write", took.Round(10*time.Millisecond))

		// A new assignment, then an unassignment: created, then disabled.
		other, otherUPN := e.user("Dorothy", "Vaughan")
		assignment := e.assign(other)
		waitFor(t, "a new assignment", func() bool { return len(e.scimFind("Users", "userName", otherUPN)) == 1 })
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+assignment, nil, 204)
		waitFor(t, "an unassignment", func() bool { return e.scimFind("Users", "userName", otherUPN)[0]["active"] == false })

		// A group's membership follows by itself: a member added, then
		// removed (and, no longer entitled, disabled).
		gname := "Followers " + e.jobID[len(e.jobID)-6:]
		team := e.group(gname)
		e.assign(team)
		waitFor(t, "a new group", func() bool { return len(e.scimFind("Groups", "displayName", gname)) == 1 })
		gid := e.scimFind("Groups", "displayName", gname)[0]["id"].(string)
		joiner, joinerUPN := e.user("Mary", "Jackson")
		e.do("POST", "/groups/"+team+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + joiner}, 204)
		groupMembers := func() int {
			ms, _ := e.scimGet("Groups", gid)["members"].([]any)
			return len(ms)
		}
		waitFor(t, "a member added to the group", func() bool {
			return len(e.scimFind("Users", "userName", joinerUPN)) == 1 && groupMembers() == 1
		})
		e.do("DELETE", "/groups/"+team+"/members/"+joiner+"/$ref", nil, 204)
		waitFor(t, "a member removed from the group", func() bool {
			return groupMembers() == 0 && e.scimFind("Users", "userName", joinerUPN)[0]["active"] == false
		})

		// Paused: a change stays in the directory.
		e.do("POST", jobPath+"/pause", nil, 204)
		if code := e.do("GET", jobPath, nil, 200)["status"].(map[string]any)["code"]; code != "Paused" {
			t.Errorf("status.code after pause = %v, want Paused", code)
		}
		e.do("PATCH", "/users/"+uid, map[string]any{"displayName": "K. Johnson"}, 204)
		time.Sleep(2 * time.Second) // ample: a change normally arrives in well under a second
		if got := displayName(); got != "Katherine G. Johnson" {
			t.Fatalf("a paused job exported a change: displayName %v", got)
		}
		// Started again: the change made while paused arrives.
		e.do("POST", jobPath+"/start", nil, 204)
		waitFor(t, "the change made while paused", func() bool { return displayName() == "K. Johnson" })

		// A deleted user (soft-deleted, as Graph's DELETE does) is disabled.
		e.do("DELETE", "/users/"+uid, nil, 204)
		waitFor(t, "a deletion", func() bool { return e.scimFind("Users", "userName", upn)[0]["active"] == false })

		job := e.do("GET", jobPath, nil, 200)
		st := job["status"].(map[string]any)
		if st["code"] != "Active" || st["lastSuccessfulExecution"] == nil || job["schedule"].(map[string]any)["state"] != "Active" {
			t.Errorf("job after its cycles: status %v, schedule %v", st, job["schedule"])
		}
	})
}

// An initial cycle reads the target once, in pages, and matches in memory:
// no filtered query and no read per object, whether the object is new,
// anchored, or only matching by userName. So does a cycle big enough to
// go in chunks (of 6 users here: 4 chunks, worked by the scheduler): the
// node reads the target once for the cycle and all its chunks, and the
// chunks' figures add up.
func TestInitialCycleReadsTargetOnce(t *testing.T) {
	for _, chunk := range []int{0, 6} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) { initialCycleReadsTargetOnce(t, chunk) })
	}
}

func initialCycleReadsTargetOnce(t *testing.T, chunk int) {
	e := newEnv(t, options{chunk: chunk})
	e.setupApp()
	var ids []string
	for i := range 20 {
		id, _ := e.user("Bulk", fmt.Sprintf("User%02d", i))
		ids = append(ids, id)
		e.assign(id)
	}
	for _, id := range ids[:5] {
		e.onDemand(userSubject(id)) // provisioned and anchored already
	}
	// Forget two anchors: those users exist in the target but must be
	// matched by userName, from memory.
	for _, id := range ids[:2] {
		if err := e.st.DeleteAnchor(context.Background(), e.jobID, "User", id); err != nil {
			t.Fatal(err)
		}
	}
	// The directory writes' change-driven scheduling passes first: the
	// job is not started yet, so it runs no cycle beside this one.
	time.Sleep(time.Second)
	before := len(e.scimSrv.Requests())
	e.activate(t)
	st := e.cycle(t)
	var lists, queries, reads, creates int
	for _, r := range e.scimSrv.Requests()[before:] {
		switch {
		case r.Method == "GET" && r.Query.Get("filter") != "":
			queries++
		case r.Method == "GET" && (r.Path == "/Users" || r.Path == "/Groups"):
			lists++
		case r.Method == "GET" && (strings.HasPrefix(r.Path, "/Users/") || strings.HasPrefix(r.Path, "/Groups/")):
			reads++
		case r.Method == "POST" && r.Path == "/Users":
			creates++
		}
	}
	if queries != 0 || reads != 0 || lists != 2 || creates != 15 {
		t.Errorf("initial cycle: %d list pages, %d filtered queries, %d reads, %d creates; want 2 pages (users, groups) only and 15 creates", lists, queries, reads, creates)
	}
	if le := st.LastExecution; le.CountImported != 20 || le.CountExported != 15 {
		t.Errorf("lastExecution = %+v, want 20 imported and 15 exported (5 already in sync)", le)
	}
	if n := len(e.scimFind("Users", "active", "true")); n != 20 {
		t.Errorf("SCIM users after the cycle: %d, want 20 (no duplicates)", n)
	}
	want := 0
	if chunk > 0 {
		want = (20 + chunk - 1) / chunk
	}
	var chunks int
	if err := e.st.(*sqlstore.Store).SchedulerDB().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'provisiond_chunk' AND state = 'completed'`).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if chunks != want {
		t.Errorf("the cycle was worked in %d chunks, want %d", chunks, want)
	}
}

// A running cycle shows its progress in the job's status; a finished one
// clears it. A target that fails for a whole cycle leaves the watermark
// where it was, and the status says the cycle failed.
func TestCycleProgressAndFailure(t *testing.T) {
	var slow, down atomic.Bool
	e := newEnv(t, options{manualCycles: true, disrupt: func(r *http.Request) scimtest.Disruption {
		switch {
		case down.Load() && r.Method != "GET":
			return scimtest.Disruption{Status: 503}
		case slow.Load() && r.Method == "POST":
			return scimtest.Disruption{Delay: 300 * time.Millisecond}
		}
		return scimtest.Disruption{}
	}})
	e.setupApp()
	for i := range 40 {
		id, _ := e.user("Slow", fmt.Sprintf("User%02d", i))
		e.assign(id)
	}
	e.activate(t)
	slow.Store(true)
	done := make(chan error, 1)
	go func() { done <- e.app.Jobs.RunCycle(context.Background(), e.spID, e.jobID) }()
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	var progress map[string]any
	waitFor(t, "progress in the job's status", func() bool {
		ps, _ := e.do("GET", jobPath, nil, 200)["status"].(map[string]any)["progress"].([]any)
		if len(ps) > 0 {
			progress = ps[0].(map[string]any)
		}
		return progress != nil
	})
	if err := <-done; err != nil {
		t.Fatalf("RunCycle: %v", err)
	}
	done2, _ := progress["completedUnits"].(float64)
	total, _ := progress["totalUnits"].(float64)
	if progress["units"] != "objects" || total < 1 || done2 > total || progress["progressObservationDateTime"] == nil {
		t.Errorf("progress = %v; want objects done of objects read, with a time", progress)
	}
	if ps, _ := e.do("GET", jobPath, nil, 200)["status"].(map[string]any)["progress"].([]any); len(ps) != 0 {
		t.Errorf("progress after the cycle = %v, want none", ps)
	}

	// The target refuses every write: the changed user is escrowed, the
	// cycle says so and moves the watermark past it; once the target
	// recovers, the next cycle retries it, though the feed has moved on.
	slow.Store(false)
	down.Store(true)
	before, _ := e.st.GetJob(context.Background(), e.spID, e.jobID)
	e.do("PATCH", "/users/"+e.someUser(t), map[string]any{"displayName": "Changed While Down"}, 204)
	if err := e.app.Jobs.RunCycle(context.Background(), e.spID, e.jobID); err != nil {
		t.Fatalf("RunCycle with a target refusing one write: %v", err)
	}
	after, _ := e.st.GetJob(context.Background(), e.spID, e.jobID)
	le := after.Status.LastExecution
	if le == nil || le.State != store.ExecutionEntryLevelErrors || le.CountEscrowed != 1 || le.CountEscrowedRaw != 1 {
		t.Errorf("lastExecution after a failing write = %+v; want EntryLevelErrors with 1 escrowed", le)
	}
	if after.Watermark == before.Watermark {
		t.Errorf("watermark %q did not move past the escrowed change", after.Watermark)
	}
	down.Store(false)
	st := e.cycle(t)
	if got := e.scimFind("Users", "displayName", "Changed While Down"); len(got) != 1 {
		t.Errorf("after the target recovered, SCIM users with the retried change: %d, want 1", len(got))
	}
	if st.LastExecution.CountEscrowedRaw != 0 {
		t.Errorf("escrows after the retry: %d, want 0", st.LastExecution.CountEscrowedRaw)
	}
}

// someUser returns the id of one of the env's directory users.
func (e *env) someUser(t *testing.T) string {
	t.Helper()
	us := e.do("GET", "/users?$top=1", nil, 200)["value"].([]any)
	return us[0].(map[string]any)["id"].(string)
}

// restart with each resetScope does what Graph documents, carried out by the
// cycle it starts: Watermark re-evaluates everything, Escrows alone does
// not, Full (and ConnectorDataStore) also forget the links, which the full
// cycle finds again without duplicating anything.
func TestRestartScopes(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	var ids []string
	for i := range 4 {
		id, _ := e.user("Restart", fmt.Sprintf("User%d", i))
		e.assign(id)
		ids = append(ids, id)
	}
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	lastID := ""
	// nextCycle waits for a cycle after the last one seen and returns it.
	nextCycle := func(what string) map[string]any {
		t.Helper()
		var le map[string]any
		waitFor(t, what, func() bool {
			st := e.do("GET", jobPath, nil, 200)["status"].(map[string]any)
			le, _ = st["lastSuccessfulExecution"].(map[string]any)
			return le != nil && le["activityIdentifier"] != lastID
		})
		lastID = le["activityIdentifier"].(string)
		return le
	}
	e.do("POST", jobPath+"/start", nil, 204)
	if le := nextCycle("the initial cycle"); le["countImported"] != float64(4) {
		t.Fatalf("initial cycle imported %v, want 4", le["countImported"])
	}
	anchors := func() int {
		as, err := e.st.ListAnchors(context.Background(), e.jobID)
		if err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	// matchedBy says how the cycle's events found their target objects.
	matchedBy := func(cycleID string) map[string]int {
		n := map[string]int{}
		for _, l := range e.do("GET", "/auditLogs/provisioning?$top=100", nil, 200)["value"].([]any) {
			l := l.(map[string]any)
			if l["cycleId"] != cycleID {
				continue
			}
			for _, st := range l["provisioningSteps"].([]any) {
				d := fmt.Sprint(st.(map[string]any)["description"])
				if i := strings.Index(d, "(matched by "); i >= 0 {
					n[strings.TrimSuffix(d[i+len("(matched by "):], ")")]++
				}
			}
		}
		return n
	}
	for _, tc := range []struct {
		scope    string
		imported float64
		matched  map[string]int
	}{
		{"Escrows", 0, map[string]int{}},                                        // nothing held back: an ordinary incremental cycle
		{"Watermark", 4, map[string]int{"anchor": 4}},                           // everything again
		{"Watermark, Escrows, QuarantineState", 4, map[string]int{"anchor": 4}}, // the portal's restart
		{"Full", 4, map[string]int{"userName": 4}},                              // and the links are rebuilt
		{"ConnectorDataStore", 4, map[string]int{"userName": 4}},
		{"None", 0, map[string]int{}},
		{"ForceDeletes", 0, map[string]int{}},
	} {
		e.do("POST", jobPath+"/restart", map[string]any{"criteria": map[string]any{"resetScope": tc.scope}}, 204)
		le := nextCycle("the cycle after restart " + tc.scope)
		if le["countImported"] != tc.imported {
			t.Errorf("restart %q: the next cycle imported %v, want %v", tc.scope, le["countImported"], tc.imported)
		}
		if got := matchedBy(lastID); fmt.Sprint(got) != fmt.Sprint(tc.matched) {
			t.Errorf("restart %q: events matched %v, want %v", tc.scope, got, tc.matched)
		}
		if n := anchors(); n != 4 {
			t.Errorf("restart %q: %d anchors after the cycle, want 4 (links rebuilt)", tc.scope, n)
		}
		if n := len(e.scimFind("Users", "active", "true")); n != 4 {
			t.Errorf("restart %q: %d SCIM users, want 4 (no duplicates)", tc.scope, n)
		}
	}
	// An empty body is the portal's restart: a full cycle.
	e.do("POST", jobPath+"/restart", nil, 204)
	if le := nextCycle("the cycle after an empty restart"); le["countImported"] != float64(4) {
		t.Errorf("empty restart: the next cycle imported %v, want 4", le["countImported"])
	}
	status, m, _ := e.send("POST", jobPath+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Watermark, Everything"}}, e.token)
	if status != 400 || !strings.Contains(errMessage(m), "Everything") {
		t.Errorf("unknown resetScope: %d %v, want 400 naming it", status, m)
	}
}

// Pausing a job cancels the cycle scheduled for its interval: a paused job
// has nothing left in the queue; starting it again schedules one.
func TestPauseCancelsScheduledCycles(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	uid, _ := e.user("Annie", "Easley")
	e.assign(uid)
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	scheduled := func() int {
		t.Helper()
		db := e.st.(interface{ SchedulerDB() *sql.DB }).SchedulerDB()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'provisiond_cycle' AND state = 'scheduled' AND args ->> 'job' = ?`, e.jobID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the interval cycle to be scheduled", func() bool { return scheduled() == 1 })
	e.do("POST", jobPath+"/pause", nil, 204)
	if n := scheduled(); n != 0 {
		t.Errorf("%d cycles scheduled after pause, want 0", n)
	}
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "a cycle to be scheduled again after start", func() bool { return scheduled() == 1 })
}

// startedWithAUser assigns a user, starts the job and waits for the user
// in the target; it returns the job's path, the user's id and UPN, and a
// function reading its displayName in the target.
func startedWithAUser(t *testing.T, e *env) (jobPath, uid, upn string, displayName func() any) {
	jobPath = "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	uid, upn = e.user("Katherine", "Johnson")
	e.assign(uid)
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the initial cycle", func() bool { return len(e.scimFind("Users", "userName", upn)) == 1 })
	return jobPath, uid, upn, func() any { return e.scimFind("Users", "userName", upn)[0]["displayName"] }
}

// A schema PUT to a started job reaches the objects it has already
// provisioned by itself: the next cycle is a full one, and it runs at
// once, as Entra re-evaluates its managed objects after a mapping change.
// DELETE of the schema (back to the template) does the same.
func TestSchemaChangeReachesAStartedJob(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	jobPath, _, _, displayName := startedWithAUser(t, e)
	before := displayName()

	sch := e.do("GET", jobPath+"/schema", nil, 200)
	delete(sch, "@odata.context")
	mappings := sch["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any)[0].(map[string]any)["attributeMappings"].([]any)
	found := false
	for _, m := range mappings {
		if m := m.(map[string]any); m["targetAttributeName"] == "displayName" {
			m["source"] = map[string]any{"type": "Function", "expression": `Join(" ", [givenName], "(new mapping)")`}
			found = true
		}
	}
	if !found {
		t.Fatal("the schema maps no displayName")
	}
	e.do("PUT", jobPath+"/schema", sch, 204)
	took := waitFor(t, "the new mapping reaching the provisioned user", func() bool { return displayName() == "Katherine (new mapping)" })
	t.Logf("schema PUT → the provisioned user remapped: %v", took)

	e.do("DELETE", jobPath+"/schema", nil, 204)
	waitFor(t, "the template's mapping back on the provisioned user", func() bool { return displayName() == before })
}

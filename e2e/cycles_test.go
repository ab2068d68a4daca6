package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"provisiond/store"
)

// activate marks the job started without scheduling a cycle, so a test
// runs its cycles itself.
func (e *env) activate(t *testing.T) {
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
		jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
		uid, upn := e.user("Katherine", "Johnson")
		e.assign(uid)
		e.do("POST", jobPath+"/start", nil, 204)
		waitFor(t, "the initial cycle", func() bool { return len(e.scimFind("Users", "userName", upn)) == 1 })
		displayName := func() any { return e.scimFind("Users", "userName", upn)[0]["displayName"] }

		e.do("PATCH", "/users/"+uid, map[string]any{"displayName": "Katherine G. Johnson"}, 204)
		took := waitFor(t, "a rename", func() bool { return displayName() == "Katherine G. Johnson" })
		t.Logf("a rename reached the target %v after the write", took.Round(10*time.Millisecond))

		// A new assignment, then an unassignment: created, then disabled.
		other, otherUPN := e.user("Dorothy", "Vaughan")
		assignment := e.assign(other)
		waitFor(t, "a new assignment", func() bool { return len(e.scimFind("Users", "userName", otherUPN)) == 1 })
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+assignment, nil, 204)
		waitFor(t, "an unassignment", func() bool { return e.scimFind("Users", "userName", otherUPN)[0]["active"] == false })

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

package jobs

import (
	"testing"

	"provisiond/directory"
	"provisiond/schema"
	"provisiond/store"
)

// TestCyclesCountLinksOnlyWhenTheyChanged: synchronizedEntryCountByType
// is counted from the anchors only when they changed since the last
// count (AnchorsVersion): an incremental cycle that only updates (a
// rename) reuses the count; one that links a new user, or a link made on
// demand between cycles, counts again, and the counts stay right.
func TestCyclesCountLinksOnlyWhenTheyChanged(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(3)
	users := func(j store.Job) int64 {
		t.Helper()
		for _, c := range j.Status.SynchronizedEntryCountByType {
			if c.Key == "user to User" {
				return c.Value
			}
		}
		t.Fatalf("no user count in %+v", j.Status.SynchronizedEntryCountByType)
		return 0
	}
	cycle := func(what string, wantUsers, wantCounts int64) {
		t.Helper()
		before := f.counts.Load()
		j := f.okCycle()
		if got := users(j); got != wantUsers {
			t.Errorf("%s: %d users linked, want %d", what, got, wantUsers)
		}
		if n := f.counts.Load() - before; n != wantCounts {
			t.Errorf("%s: the anchors were counted %d times, want %d", what, n, wantCounts)
		}
	}
	cycle("initial cycle", 3, 1)

	u, err := f.st.GetUser(t.Context(), ids[0])
	f.must(err)
	u.Props["displayName"] = "renamed"
	f.must(f.st.UpdateUser(t.Context(), u))
	cycle("a rename", 3, 0)
	cycle("nothing changed", 3, 0)

	more := "u99"
	f.must(f.st.CreateUser(t.Context(), store.User{ID: more, UserPrincipalName: "user99@contoso.test", AccountEnabled: true,
		Props: map[string]any{"displayName": "user99", "mailNickname": "user99"}}))
	f.must(f.st.CreateAppRoleAssignment(t.Context(), store.AppRoleAssignment{ID: "a-" + more, AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: more, PrincipalType: "User", ResourceID: fxSP}))
	cycle("a new user", 4, 1)

	// A link made on demand, which no cycle saw: the next cycle counts.
	f.must(f.st.DeleteAnchor(t.Context(), fxJob, "User", more))
	sp, err := f.st.GetServicePrincipal(t.Context(), fxSP)
	f.must(err)
	j, err := f.st.GetJob(t.Context(), fxSP, fxJob)
	f.must(err)
	if _, err := f.svc.ProvisionOnDemand(t.Context(), sp, j, OnDemand{RuleID: schema.SCIMUserRuleID,
		Subject: Subject{ObjectID: more, ObjectTypeName: "User"}}); err != nil {
		t.Fatal(err)
	}
	cycle("after links changed outside cycles", 4, 1)
	cycle("and then nothing", 4, 0)
}

package jobs

import (
	"testing"

	"provisiond/store"
)

// A full cycle deprovisions the linked objects its listing no longer
// returns: one deleted for good while the job's watermark was reset (a
// restart with Watermark), whose deletion the change feed's replay no
// longer brings. The others are left as they are.
func TestFullCycleSweepsObjectsGoneFromTheSource(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(3)
	f.okCycle()
	if n := f.sweeps.Load(); n != 0 {
		t.Errorf("the initial cycle of a job that had linked nothing listed %d pages of anchors to sweep, want none", n)
	}
	if active, _ := f.activeUsers(); active != 3 {
		t.Fatalf("after the initial cycle: %d active users in the target, want 3", active)
	}
	f.must(f.st.PurgeUser(t.Context(), ids[1]))
	_, err := f.st.UpdateJob(t.Context(), fxSP, fxJob, func(j *store.Job) error {
		j.Watermark = "" // restart with Watermark
		return nil
	})
	f.must(err)
	j := f.okCycle()
	if f.sweeps.Load() == 0 {
		t.Errorf("the full cycle of a job with linked users listed no anchors to sweep")
	}
	active, inactive := f.activeUsers()
	if active != 2 || inactive > 1 {
		t.Errorf("after the full cycle: %d active, %d inactive users in the target; want the purged one gone or disabled, the 2 others active", active, inactive)
	}
	if _, err := f.st.GetAnchor(t.Context(), fxJob, "User", ids[1]); err == nil && inactive == 0 {
		t.Errorf("the purged user is still linked and active")
	}
	if n := f.loggedActions()["Delete"] + f.loggedActions()["Disable"]; n != 1 {
		t.Errorf("logged actions %v, want one Delete or Disable", f.loggedActions())
	}
	if le := j.Status.LastExecution; le == nil || le.State != store.ExecutionSucceeded {
		t.Errorf("the full cycle: %+v, want Succeeded", le)
	}
}

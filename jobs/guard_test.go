package jobs

import (
	"errors"
	"strings"
	"testing"

	"provisiond/directory"
	"provisiond/store"
)

// unassign removes the app role assignments of the users.
func (f *cycleFixture) unassign(ids []string) {
	f.t.Helper()
	for _, id := range ids {
		f.must(f.st.DeleteAppRoleAssignment(f.t.Context(), "a-"+id))
	}
}

func (f *cycleFixture) staged() []store.StagedDelete {
	f.t.Helper()
	ds, err := f.st.ListStagedDeletes(f.t.Context(), fxJob)
	f.must(err)
	return ds
}

// Threshold 5, 10 provisioned users unassigned: the cycle makes none of the
// 10 disables, logs each as a StagedDelete, keeps them and quarantines
// with TooManyDeletes; no cycle runs until a restart; restart ForceDeletes
// carries them out and lifts the quarantine.
func TestTooManyDeletesThenForceDeletes(t *testing.T) {
	f := newCycleFixture(t, map[string]string{DeleteThresholdSetting: "5"})
	ids := f.users(10)
	f.okCycle()
	f.unassign(ids)
	j := f.okCycle()
	q := j.Status.Quarantine
	if j.Status.Code != store.StatusQuarantine || q == nil || q.Reason != ReasonTooManyDeletes || q.Error == nil ||
		!strings.Contains(q.Error.Message, "10 objects") || !strings.Contains(q.Error.Message, "of 5") || !q.CurrentBegan.Equal(f.clock()) {
		t.Fatalf("after unassigning 10 with threshold 5: code %s, quarantine %+v; want Quarantine TooManyDeletes saying 10 of 5", j.Status.Code, q)
	}
	if active, inactive := f.activeUsers(); active != 10 || inactive != 0 {
		t.Errorf("target users: %d active, %d disabled; want the 10 still active", active, inactive)
	}
	if n := f.loggedActions(); n["StagedDelete"] != 10 || n["Disable"] != 0 {
		t.Errorf("logged actions %v; want 10 StagedDelete, no Disable", n)
	}
	if ds := f.staged(); len(ds) != 10 || ds[0].Action != "Disable" || ds[0].SourceType != "User" {
		t.Errorf("staged deletes = %+v; want 10 User disables", ds)
	}
	if le := j.Status.LastExecution; le.CountImported != 10 || le.CountExported != 0 {
		t.Errorf("the guarded cycle: imported %d, exported %d; want 10, 0", le.CountImported, le.CountExported)
	}
	if _, err := f.cycle(); !errors.Is(err, ErrDeletesHeld) {
		t.Errorf("a cycle while the deletes are held: %v, want ErrDeletesHeld", err)
	}

	f.must(f.svc.Restart(t.Context(), fxSP, fxJob, store.ResetForceDeletes))
	j = f.okCycle()
	if active, inactive := f.activeUsers(); active != 0 || inactive != 10 {
		t.Errorf("after restart ForceDeletes: %d active, %d disabled; want 10 disabled", active, inactive)
	}
	if n := f.loggedActions(); n["Disable"] != 10 {
		t.Errorf("logged actions %v; want 10 Disable", n)
	}
	if ds := f.staged(); len(ds) != 0 || j.Status.Code != store.StatusActive || j.Status.Quarantine != nil {
		t.Errorf("after ForceDeletes: %d staged, code %s, quarantine %+v; want none, Active, none", len(ds), j.Status.Code, j.Status.Quarantine)
	}
}

// Fixing the cause (assigning the users again) and restarting discards the
// staged deletes: nothing is disabled.
func TestTooManyDeletesFixedAndRestarted(t *testing.T) {
	f := newCycleFixture(t, map[string]string{DeleteThresholdSetting: "5"})
	ids := f.users(10)
	f.okCycle()
	f.unassign(ids)
	f.okCycle()
	if len(f.staged()) != 10 {
		t.Fatalf("staged %d, want 10", len(f.staged()))
	}
	for _, id := range ids {
		f.must(f.st.CreateAppRoleAssignment(t.Context(), store.AppRoleAssignment{ID: "a-" + id, AppRoleID: directory.DefaultAppRoleID,
			PrincipalID: id, PrincipalType: "User", ResourceID: fxSP}))
	}
	f.must(f.svc.Restart(t.Context(), fxSP, fxJob, store.ResetWatermark))
	if len(f.staged()) != 0 {
		t.Errorf("restart without ForceDeletes kept %d staged deletes", len(f.staged()))
	}
	j := f.okCycle()
	if active, inactive := f.activeUsers(); active != 10 || inactive != 0 || j.Status.Code != store.StatusActive {
		t.Errorf("after the fix and a restart: %d active, %d disabled, code %s; want 10 active, Active", active, inactive, j.Status.Code)
	}
}

// Up to the threshold, the held disables are made in the same cycle; with
// the guard off (0), all are.
func TestDeletesUnderThresholdAreMade(t *testing.T) {
	for _, tt := range []struct {
		threshold string
		users     int
	}{{"5", 5}, {"0", 12}} {
		f := newCycleFixture(t, map[string]string{DeleteThresholdSetting: tt.threshold})
		ids := f.users(tt.users)
		f.okCycle()
		f.unassign(ids)
		j := f.okCycle()
		if _, inactive := f.activeUsers(); inactive != tt.users || j.Status.Code != store.StatusActive || len(f.staged()) != 0 {
			t.Errorf("threshold %s, %d unassigned: %d disabled, code %s, %d staged; want all disabled, Active, none staged",
				tt.threshold, tt.users, inactive, j.Status.Code, len(f.staged()))
		}
		if n := f.loggedActions(); n["StagedDelete"] != 0 || n["Disable"] != tt.users {
			t.Errorf("threshold %s: logged actions %v; want %d Disable and no StagedDelete", tt.threshold, n, tt.users)
		}
		if le := j.Status.LastExecution; le.CountExported != int64(tt.users) || le.CountImported != int64(tt.users) {
			t.Errorf("threshold %s: exported %d, imported %d; want %d each (a held then made disable counts once)", tt.threshold, le.CountExported, le.CountImported, tt.users)
		}
	}
}

func TestDeleteThresholdSetting(t *testing.T) {
	for v, want := range map[string]int{"": DefaultDeleteThreshold, "0": 0, " 12 ": 12} {
		got, err := deleteThreshold(map[string]string{DeleteThresholdSetting: v})
		if err != nil || got != want {
			t.Errorf("deleteThreshold(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	if got, err := deleteThreshold(nil); err != nil || got != DefaultDeleteThreshold {
		t.Errorf("no setting: %d, %v; want the default %d", got, err, DefaultDeleteThreshold)
	}
	for _, v := range []string{"-1", "many", "1.5"} {
		if _, err := deleteThreshold(map[string]string{DeleteThresholdSetting: v}); err == nil || !strings.Contains(err.Error(), DeleteThresholdSetting) {
			t.Errorf("deleteThreshold(%q): %v; want an error naming the setting", v, err)
		}
	}
}

// FuzzDeleteThreshold: any setting value is a whole number of 0 or more
// or an error naming the setting; never a negative threshold or a panic.
func FuzzDeleteThreshold(f *testing.F) {
	for _, seed := range []string{"", "0", "500", " 12 ", "-1", "many", "1.5", "+7", "99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, err := deleteThreshold(map[string]string{DeleteThresholdSetting: v})
		switch {
		case err != nil && !strings.Contains(err.Error(), DeleteThresholdSetting):
			t.Errorf("deleteThreshold(%q): %v does not name the setting", v, err)
		case err == nil && n < 0:
			t.Errorf("deleteThreshold(%q) = %d, a negative threshold", v, n)
		case err == nil && strings.TrimSpace(v) == "" && n != DefaultDeleteThreshold:
			t.Errorf("deleteThreshold(%q) = %d, want the default", v, n)
		}
	})
}

package jobs

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/directory"
	"provisiond/store"
)

func TestRetryDelay(t *testing.T) {
	h := time.Hour
	tests := []struct {
		kind     connector.Kind
		attempts int64
		want     time.Duration
	}{
		{connector.KindTransient, 1, 0}, // the next cycle
		{connector.KindTransient, 2, 10 * time.Minute},
		{connector.KindTransient, 3, 20 * time.Minute},
		{connector.KindTransient, 7, 320 * time.Minute},
		{connector.KindTransient, 8, 6 * h}, // then Entra's schedule
		{connector.KindTransient, 9, 12 * h},
		{connector.KindTransient, 10, 24 * h},
		{connector.KindTransient, 40, 24 * h},
		{connector.KindUnauthorized, 1, 6 * h},
		{connector.KindUnauthorized, 2, 12 * h},
		{connector.KindUnauthorized, 3, 24 * h},
		{connector.KindUnauthorized, 30, 24 * h},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.kind, tt.attempts); got != tt.want {
			t.Errorf("retryDelay(%v, %d) = %v, want %v", tt.kind, tt.attempts, got, tt.want)
		}
	}
}

func TestEscrowReason(t *testing.T) {
	tests := []struct {
		base, ref, processed int64
		want                 string
	}{
		{4_999, 0, 4_999, ""}, // under 5,000 failures nothing is evaluated
		{5_000, 0, 100_000, ""},
		{5_000, 0, 12_500, ""}, // exactly 40 %
		{5_000, 0, 12_499, ReasonEscrowProportionThreshold},
		{40_001, 0, 1_000_000, ReasonBaseEscrowThreshold},
		{40_000, 0, 1_000_000, ""},
		{1_000, 50_000, 60_000, ""},                             // references do not count toward the base thresholds
		{20_000, 40_001, 1_000_000, ReasonTotalEscrowThreshold}, // but do toward the absolute one
		{4_000, 4_000, 8_000, ""},
	}
	for _, tt := range tests {
		if got := escrowReason(tt.base, tt.ref, tt.processed); got != tt.want {
			t.Errorf("escrowReason(%d, %d, %d) = %q, want %q", tt.base, tt.ref, tt.processed, got, tt.want)
		}
	}
}

func TestQuarantineBackoff(t *testing.T) {
	m := time.Minute
	for n, want := range map[int64]time.Duration{1: 40 * m, 2: 80 * m, 3: 160 * m, 6: 1280 * m, 7: 24 * time.Hour, 50: 24 * time.Hour} {
		if got := quarantineBackoff(40*m, n); got != want {
			t.Errorf("quarantineBackoff(40m, %d) = %v, want %v", n, got, want)
		}
	}
}

// A target failing 30 % of its creates with 500: every cycle goes on past
// the failures, escrows them and moves the watermark; the later cycles
// (incremental, with no change in the directory) retry what is due, until
// every user is there, once, and no escrow is left.
func TestCyclesConvergeOverFailingCreates(t *testing.T) {
	f := newCycleFixture(t, nil)
	f.users(30)
	var creates atomic.Int64
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate && (creates.Add(1)-1)%10 < 3 {
			return &connector.Error{Kind: connector.KindTransient, Status: http.StatusInternalServerError, Message: "status 500: try again"}
		}
		return nil
	})
	var raw []int64
	for cycle := 0; cycle < 10; cycle++ {
		j := f.okCycle()
		le := j.Status.LastExecution
		raw = append(raw, le.CountEscrowedRaw)
		if int64(len(f.escrows())) != le.CountEscrowedRaw {
			t.Fatalf("cycle %d: countEscrowedRaw %d, but %d escrows stored", cycle, le.CountEscrowedRaw, len(f.escrows()))
		}
		if cycle == 0 {
			if le.CountEscrowed != 9 || le.CountExported != 21 || le.State != store.ExecutionEntryLevelErrors || j.Watermark == "" {
				t.Fatalf("initial cycle: escrowed %d, exported %d, state %s, watermark %q; want 9, 21, EntryLevelErrors and a watermark",
					le.CountEscrowed, le.CountExported, le.State, j.Watermark)
			}
			for _, e := range f.escrows() {
				if e.Kind != store.EscrowBase || e.Attempts != 1 || !e.NextAttempt.Equal(f.clock()) || e.ErrorKind != "Transient" || e.Code == "" {
					t.Fatalf("escrow after one failure = %+v; want a Base, Transient escrow due at once (the next cycle)", e)
				}
			}
		}
		if le.CountEscrowedRaw == 0 {
			if le.State != store.ExecutionSucceeded || j.Status.Code != store.StatusActive {
				t.Errorf("converged cycle: state %s, code %s; want Succeeded, Active", le.State, j.Status.Code)
			}
			break
		}
		f.advance(time.Hour) // past every quick retry's back-off
	}
	want := []int64{9, 3, 2, 1, 0}
	if len(raw) != len(want) {
		t.Fatalf("countEscrowedRaw by cycle = %v, want %v", raw, want)
	}
	for i := range want {
		if raw[i] != want[i] {
			t.Fatalf("countEscrowedRaw by cycle = %v, want %v", raw, want)
		}
	}
	if active, _ := f.activeUsers(); active != 30 || len(f.tgt.Objects(connector.TypeUser)) != 30 {
		t.Errorf("target users: %d active of %d; want 30 of 30 (nothing lost, nothing twice)", active, len(f.tgt.Objects(connector.TypeUser)))
	}
}

// An escrow is retried only when due: a transient failure's second retry
// waits 10 minutes; a permanent error (400) is escrowed once and retried
// only when the object changes; success clears it; restart Escrows drops
// them all; and an escrow failing for 28 days is dropped.
func TestEscrowSchedule(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(2)
	bad := map[string]*connector.Error{
		"user00@contoso.test": {Kind: connector.KindTransient, Status: 503, Message: "status 503"},
		"user01@contoso.test": {Kind: connector.KindInvalid, Status: 400, Message: "status 400: invalid value for userName"},
	}
	var attempts atomic.Int64
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op != memtarget.OpCreate {
			return nil
		}
		attempts.Add(1)
		v, _ := c.Attrs.Get("userName")
		return bad[v]
	})
	f.okCycle() // both fail
	f.okCycle() // the transient one is retried at once, the permanent one not
	if n := attempts.Load(); n != 3 {
		t.Errorf("creates after two cycles: %d, want 3 (the transient failure retried once, the 400 not)", n)
	}
	es := f.escrows()
	if len(es) != 2 || es[0].SourceID != ids[0] || es[0].Attempts != 2 || !es[0].NextAttempt.Equal(f.clock().Add(10*time.Minute)) ||
		es[1].SourceID != ids[1] || es[1].Attempts != 1 || !es[1].NextAttempt.IsZero() || es[1].ErrorKind != "Invalid" {
		t.Fatalf("escrows = %+v; want u00 at attempt 2 due in 10 min, u01 permanent (no next attempt)", es)
	}
	f.okCycle() // nothing due
	if n := attempts.Load(); n != 3 {
		t.Errorf("creates after a cycle with nothing due: %d, want still 3", n)
	}
	// The permanent error's object changes and the target takes it now.
	delete(bad, "user01@contoso.test")
	u, err := f.st.GetUser(t.Context(), ids[1])
	f.must(err)
	u.Props["displayName"] = "fixed"
	f.must(f.st.UpdateUser(t.Context(), u))
	j := f.okCycle()
	if es := f.escrows(); len(es) != 1 || es[0].SourceID != ids[0] || j.Status.LastExecution.CountEscrowedRaw != 1 {
		t.Fatalf("after the fix: escrows %+v, countEscrowedRaw %d; want only u00's", es, j.Status.LastExecution.CountEscrowedRaw)
	}

	// restart Escrows drops them, before its cycle.
	f.must(f.svc.Restart(t.Context(), fxSP, fxJob, store.ResetEscrows))
	before := attempts.Load()
	j = f.okCycle()
	if es := f.escrows(); len(es) != 0 || attempts.Load() != before || j.Status.LastExecution.CountEscrowedRaw != 0 {
		t.Errorf("after restart Escrows: %d escrows, %d creates; want none and no retry", len(es), attempts.Load()-before)
	}

	// 28 days of failing: dropped.
	f.must(f.st.PutEscrow(t.Context(), store.Escrow{JobID: fxJob, SourceType: "User", SourceID: ids[0], Kind: store.EscrowBase,
		FirstFailed: f.clock().Add(-EscrowLifetime), Attempts: 30, NextAttempt: f.clock().Add(time.Hour), Code: "x", ErrorKind: "Transient"}))
	f.okCycle()
	if es := f.escrows(); len(es) != 0 {
		t.Errorf("an escrow 28 days old is kept: %+v", es)
	}
}

// A target that refuses every call with 401: the cycle fails, the job
// quarantines with EncounteredQuarantineException, and each failing cycle
// backs off further, keeping the series; after 4 weeks the job is
// disabled. New credentials make the quarantined job try at once, and the
// cycle that succeeds lifts the quarantine.
func TestQuarantineOnRefusedCredentials(t *testing.T) {
	f := newCycleFixture(t, nil)
	f.users(3)
	f.putToken("wrong")
	f.tgt.FailWhen(func(memtarget.Call) *connector.Error {
		if f.token.Load() != "right" {
			return memtarget.Failure(connector.KindUnauthorized, 0)
		}
		return nil
	})
	began := f.clock()
	j, err := f.cycle()
	if !errors.Is(err, errTargetDown) {
		t.Fatalf("RunCycle against a target answering 401: %v, want the target down", err)
	}
	q := j.Status.Quarantine
	if j.Status.Code != store.StatusQuarantine || q == nil || q.Reason != ReasonQuarantineException ||
		q.Error == nil || q.Error.Code != "SystemForCrossDomainIdentityManagementCredentialValidationFailure" || !q.Error.TenantActionable ||
		!q.CurrentBegan.Equal(began) || !q.SeriesBegan.Equal(began) || q.SeriesCount != 1 || !q.NextAttempt.Equal(began.Add(40*time.Minute)) {
		t.Fatalf("status after 401s: code %s, quarantine %+v; want Quarantine, EncounteredQuarantineException, the credential error, series of 1, next attempt after the 40 min interval", j.Status.Code, q)
	}
	if j.Status.LastExecution.State != store.ExecutionFailed || j.Watermark != "" {
		t.Errorf("lastExecution %s, watermark %q; want Failed and no watermark", j.Status.LastExecution.State, j.Watermark)
	}
	f.advance(40 * time.Minute)
	second := f.clock()
	j, _ = f.cycle()
	if q := j.Status.Quarantine; q == nil || q.SeriesCount != 2 || !q.SeriesBegan.Equal(began) || !q.CurrentBegan.Equal(began) ||
		!q.NextAttempt.Equal(second.Add(80*time.Minute)) || j.Status.CountSuccessiveCompleteFailures != 2 {
		t.Fatalf("second failing cycle: quarantine %+v, failures %d; want series 2 from %v, next attempt 80 min on", q, j.Status.CountSuccessiveCompleteFailures, began)
	}

	// The right token: PUT secrets makes it try at once; the cycle lifts the quarantine.
	f.putToken("right")
	f.must(f.svc.CredentialsChanged(t.Context(), fxSP))
	j, err = f.st.GetJob(t.Context(), fxSP, fxJob)
	f.must(err)
	if q := j.Status.Quarantine; q == nil || !q.NextAttempt.Equal(f.clock()) {
		t.Fatalf("after new credentials: quarantine %+v, want the next attempt now (%v)", q, f.clock())
	}
	j = f.okCycle()
	if j.Status.Code != store.StatusActive || j.Status.Quarantine != nil || len(f.tgt.Objects(connector.TypeUser)) != 3 {
		t.Fatalf("after a cycle with the right token: code %s, quarantine %+v, %d target users; want Active, none, 3",
			j.Status.Code, j.Status.Quarantine, len(f.tgt.Objects(connector.TypeUser)))
	}

	// Four weeks of a refused target: disabled.
	f.putToken("wrong")
	touch := func() {
		u, err := f.st.GetUser(t.Context(), "u00")
		f.must(err)
		u.Props["jobTitle"] = f.clock().String()
		f.must(f.st.UpdateUser(t.Context(), u))
	}
	touch()
	if j, _ = f.cycle(); j.Status.Code != store.StatusQuarantine || j.Schedule.State != store.ScheduleActive {
		t.Fatalf("a refused incremental cycle: code %s, schedule %s; want Quarantine, still Active", j.Status.Code, j.Schedule.State)
	}
	f.advance(QuarantineDisableAfter)
	touch()
	j, _ = f.cycle()
	if j.Schedule.State != store.ScheduleDisabled || j.Status.Code != store.StatusQuarantine {
		t.Errorf("after 4 weeks in quarantine: schedule %s, code %s; want Disabled, Quarantine", j.Schedule.State, j.Status.Code)
	}
}

// An incremental cycle against a target that went down: it stops after
// targetDownAfter objects in a row fail with none answered, keeps its
// watermark and quarantines.
func TestTargetDownForWholeIncrementalCycle(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(2 * targetDownAfter)
	before := f.okCycle()
	var calls atomic.Int64
	f.tgt.FailWhen(func(memtarget.Call) *connector.Error {
		calls.Add(1)
		return memtarget.Failure(connector.KindTransient, 0)
	})
	for _, id := range ids {
		u, err := f.st.GetUser(t.Context(), id)
		f.must(err)
		u.Props["jobTitle"] = "changed"
		f.must(f.st.UpdateUser(t.Context(), u))
	}
	j, err := f.cycle()
	if !errors.Is(err, errTargetDown) || j.Watermark != before.Watermark || j.Status.Code != store.StatusQuarantine ||
		j.Status.Quarantine.Reason != ReasonQuarantineException {
		t.Fatalf("cycle against a down target: err %v, watermark moved %v, code %s; want the target down, the watermark kept, quarantined",
			err, j.Watermark != before.Watermark, j.Status.Code)
	}
	if n := j.Status.LastExecution.CountImported; n >= int64(len(ids)) {
		t.Errorf("the cycle went through all %d objects of a down target; want it to stop early", n)
	}
}

// A group whose membership the target refuses is a reference escrow: it
// does not count toward the base thresholds, and its retry adds the
// members once the target takes them.
func TestMembershipFailureIsReferenceEscrow(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(2)
	ctx := t.Context()
	f.must(f.st.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "Team"}))
	for _, id := range ids {
		f.must(f.st.AddMember(ctx, "g1", id))
	}
	f.must(f.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a-g1", AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: "g1", PrincipalType: "Group", ResourceID: fxSP}))
	var refuse atomic.Bool
	refuse.Store(true)
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpAddMembers && refuse.Load() {
			return &connector.Error{Kind: connector.KindTransient, Status: 502, Message: "status 502"}
		}
		return nil
	})
	j := f.okCycle()
	es := f.escrows()
	if len(es) != 1 || es[0].SourceType != "Group" || es[0].SourceID != "g1" || es[0].Kind != store.EscrowReference {
		t.Fatalf("escrows after a refused membership = %+v; want one Reference escrow of the group", es)
	}
	if le := j.Status.LastExecution; le.CountEscrowed != 1 || len(f.tgt.Objects(connector.TypeGroup)) != 1 {
		t.Errorf("countEscrowed %d, target groups %d; want 1, 1 (the group itself was created)", le.CountEscrowed, len(f.tgt.Objects(connector.TypeGroup)))
	}
	refuse.Store(false)
	f.okCycle()
	groups := f.tgt.Objects(connector.TypeGroup)
	if len(f.escrows()) != 0 || len(groups) != 1 || len(groups[0].Attrs["members"]) != 2 {
		t.Errorf("after the retry: %d escrows, group %+v; want none and both members", len(f.escrows()), groups)
	}
}

// An initial cycle in which over 40 % of at least 5,000 objects fail
// quarantines the job with EncounteredEscrowProportionThreshold and, being
// initial, prunes its escrows (escrowsPruned).
func TestEscrowThresholdInInitialCyclePrunes(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 objects")
	}
	f := newCycleFixture(t, nil)
	f.users(escrowEvaluatedFrom)
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate {
			return &connector.Error{Kind: connector.KindInvalid, Status: 400, Message: "status 400: schema violation"}
		}
		return nil
	})
	j := f.okCycle()
	q := j.Status.Quarantine
	if j.Status.Code != store.StatusQuarantine || q == nil || q.Reason != ReasonEscrowProportionThreshold || !j.Status.EscrowsPruned {
		t.Fatalf("after 5,000 of 5,000 failing: code %s, quarantine %+v, escrowsPruned %v; want Quarantine, EncounteredEscrowProportionThreshold, true",
			j.Status.Code, q, j.Status.EscrowsPruned)
	}
	if le := j.Status.LastExecution; le.CountEscrowed != escrowEvaluatedFrom || le.CountEscrowedRaw != 0 || len(f.escrows()) != 0 {
		t.Errorf("countEscrowed %d, countEscrowedRaw %d, %d stored; want 5000, 0, 0 (pruned)", le.CountEscrowed, le.CountEscrowedRaw, len(f.escrows()))
	}
}

// A target that goes down in the middle of a cycle: after targetDownRun
// objects in a row fail, the cycle stops rather than failing every object
// one by one, keeps its watermark and quarantines.
func TestTargetDownMidCycle(t *testing.T) {
	f := newCycleFixture(t, nil)
	// One worker, so "in a row" is the order the target saw (with several,
	// a success can finish after later failures and restart the count).
	f.svc.workers = 1
	f.users(targetDownRun + 50)
	var creates atomic.Int64
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate && creates.Add(1) > 20 {
			return memtarget.Failure(connector.KindTransient, 0)
		}
		return nil
	})
	j, err := f.cycle()
	if !errors.Is(err, errTargetDown) || j.Watermark != "" || j.Status.Code != store.StatusQuarantine {
		t.Fatalf("cycle whose target went down: err %v, watermark %q, code %s; want the target down, no watermark, Quarantine", err, j.Watermark, j.Status.Code)
	}
	if n := j.Status.LastExecution.CountImported; n >= targetDownRun+50 {
		t.Errorf("the cycle processed all %d objects; want it to stop after %d failures in a row", n, targetDownRun)
	}
}

// A cycle that a pause (or a delete, or a shutdown) cuts short is
// interrupted, not failed, whatever error the request cut short returns
// (a SCIM client's says "stopped", not context.Canceled): no Failed
// execution, no failure counted, no quarantine, and no progress left
// behind as if a cycle still ran.
func TestPausedCycleIsNotAFailure(t *testing.T) {
	f := newCycleFixture(t, nil)
	f.users(3)
	before := f.okCycle()
	stale := []store.Progress{{CompletedUnits: 1, TotalUnits: 3, Units: "objects"}}
	_, err := f.st.UpdateJob(t.Context(), fxSP, fxJob, func(j *store.Job) error { j.Status.Progress = stale; return nil })
	f.must(err)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op != memtarget.OpList {
			return nil
		}
		cancel(errors.New("stopped")) // the pause, while the target is read
		return &connector.Error{Kind: connector.KindTransient, Code: "SystemForCrossDomainIdentityManagementServiceIncompatible",
			Message: "GET /Users: stopped"}
	})
	f.must(f.svc.Restart(t.Context(), fxSP, fxJob, store.ResetFull)) // the next cycle reads the target again
	err = f.svc.RunCycle(ctx, fxSP, fxJob)
	j, gerr := f.st.GetJob(t.Context(), fxSP, fxJob)
	f.must(gerr)
	if err == nil {
		t.Fatal("RunCycle cut short returned no error")
	}
	st := j.Status
	if st.Code == store.StatusQuarantine || st.Quarantine != nil || st.CountSuccessiveCompleteFailures != 0 ||
		st.LastExecution == nil || st.LastExecution.State == store.ExecutionFailed ||
		st.LastExecution.ActivityIdentifier != before.Status.LastExecution.ActivityIdentifier {
		t.Errorf("after a paused cycle: code %s, quarantine %+v, failures %d, last execution %+v; want the previous cycle's status kept",
			st.Code, st.Quarantine, st.CountSuccessiveCompleteFailures, st.LastExecution)
	}
	if len(st.Progress) != 0 {
		t.Errorf("progress %+v after the paused cycle; want none", st.Progress)
	}
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, `msg="cycle ended"`) || !strings.Contains(last, " state=Interrupted ") {
		t.Errorf("the cycle's log line %q; want it to say state=Interrupted", last)
	}
}

package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"provisiond/store"
)

func testJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")
	jb := mkJob(t, s, sp1.ID, "scim.b")
	ja := mkJob(t, s, sp1.ID, "scim.a")
	jc := mkJob(t, s, sp2.ID, "scim.c")

	got, err := s.GetJob(ctx, sp1.ID, "scim.a")
	ok(t, err, "get job")
	same(t, got, ja, "job")
	_, err = s.GetJob(ctx, sp1.ID, "nope")
	isErr(t, err, store.ErrNotFound, "get missing job")
	_, err = s.GetJob(ctx, sp2.ID, "scim.a")
	isErr(t, err, store.ErrNotFound, "get a job through another service principal")
	_, err = s.GetJob(ctx, "nope", "scim.a")
	isErr(t, err, store.ErrNotFound, "get a job through a missing service principal")

	isErr(t, s.CreateJob(ctx, newJob("nope", "scim.x")), store.ErrNotFound, "create a job of a missing service principal")
	_, err = s.GetJob(ctx, "nope", "scim.x")
	isErr(t, err, store.ErrNotFound, "get job of a failed create")
	dup := newJob(sp1.ID, "scim.a")
	dup.TemplateID = "other"
	isErr(t, s.CreateJob(ctx, dup), store.ErrConflict, "create a job with a taken id")
	isErr(t, s.CreateJob(ctx, newJob(sp2.ID, "scim.a")), store.ErrConflict,
		"create a job with an id taken under another service principal")
	got, err = s.GetJob(ctx, sp1.ID, "scim.a")
	ok(t, err, "get job after conflicts")
	same(t, got, ja, "job after conflicts")

	list, err := s.ListJobs(ctx, sp1.ID)
	ok(t, err, "list jobs")
	same(t, list, []store.Job{ja, jb}, "jobs of sp1")
	list, err = s.ListJobs(ctx, sp2.ID)
	ok(t, err, "list jobs of sp2")
	same(t, list, []store.Job{jc}, "jobs of sp2")

	// Documents are kept byte for byte, including absent ones.
	bare := store.Job{ID: "bare", ServicePrincipalID: sp2.ID, TemplateID: "t", Created: at(1), Updated: at(1)}
	ok(t, s.CreateJob(ctx, bare), "create bare job")
	got, err = s.GetJob(ctx, sp2.ID, "bare")
	ok(t, err, "get bare job")
	same(t, got, bare, "bare job")
}

// fullStatus is a status with every field set, its times in zone.
func fullStatus(zone *time.Location) store.Status {
	when := func(n int) time.Time { return at(n).In(zone) }
	exec := func(n int64, state store.ExecutionState) *store.Execution {
		return &store.Execution{
			ActivityIdentifier: fmt.Sprintf("activity-%d", n), CountEntitled: n + 1, CountEntitledForProvisioning: n + 2,
			CountEscrowed: n + 3, CountEscrowedRaw: n + 4, CountExported: n + 5, CountExports: n + 6,
			CountImported: n + 7, CountImportedDeltas: n + 8, CountImportedReferenceDeltas: n + 9,
			Error: &store.SyncError{Code: "E" + fmt.Sprint(n), Message: "failed " + fmt.Sprint(n), TenantActionable: n%2 == 0},
			State: state, TimeBegan: when(int(n)), TimeEnded: when(int(n) + 1),
		}
	}
	return store.Status{
		Code:                               store.StatusQuarantine,
		CountSuccessiveCompleteFailures:    3,
		EscrowsPruned:                      true,
		LastExecution:                      exec(10, store.ExecutionFailed),
		LastSuccessfulExecution:            exec(20, store.ExecutionSucceeded),
		LastSuccessfulExecutionWithExports: exec(30, store.ExecutionEntryLevelErrors),
		Progress: []store.Progress{
			{CompletedUnits: 5, TotalUnits: 10, Units: "Users", Observed: when(40)},
			{CompletedUnits: 0, TotalUnits: 2, Units: "Groups", Observed: when(41)},
		},
		Quarantine: &store.Quarantine{
			Reason: "EncounteredQuarantineException", Error: &store.SyncError{Code: "SecretTokenInvalid", Message: "401"},
			CurrentBegan: when(50), NextAttempt: when(51), SeriesBegan: when(52), SeriesCount: 2,
		},
		SteadyStateFirstAchieved:     when(60),
		SteadyStateLastAchieved:      when(61),
		SynchronizedEntryCountByType: []store.EntryCount{{Key: "user to User", Value: 12}, {Key: "group to Group", Value: 0}},
		TroubleshootingURL:           "https://example.com/help",
		ResetPending:                 store.ResetWatermark | store.ResetForceDeletes,
	}
}

func testUpdateJob(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	j := mkJob(t, s, sp1.ID, "scim.a")

	want := j
	want.TemplateID = "scim2"
	want.Schema = []byte(`{"directories":[{"name":"x"}]}`)
	want.Status = fullStatus(time.UTC)
	want.Schedule = store.Schedule{Interval: "PT20M", State: store.ScheduleActive, Expiration: ptr(at(62))}
	want.Settings = nil
	want.Created = at(60)
	want.Updated = at(61)
	calls := 0
	got, err := s.UpdateJob(ctx, sp1.ID, j.ID, func(cur *store.Job) error {
		calls++
		same(t, *cur, j, "job fn is given")
		*cur = want
		return nil
	})
	ok(t, err, "update job")
	if calls != 1 {
		t.Errorf("fn called %d times, want 1", calls)
	}
	same(t, got, want, "job UpdateJob returns (the record is replaced)")
	got, err = s.GetJob(ctx, sp1.ID, j.ID)
	ok(t, err, "get updated job")
	same(t, got, want, "updated job")

	// A second update sees the first; fields fn leaves alone stay.
	got, err = s.UpdateJob(ctx, sp1.ID, j.ID, func(cur *store.Job) error {
		same(t, *cur, want, "job fn is given after an update")
		cur.Status.Code = store.StatusActive
		cur.Status.Quarantine = nil
		return nil
	})
	ok(t, err, "second update")
	want.Status.Code, want.Status.Quarantine = store.StatusActive, nil
	same(t, got, want, "job after the second update")

	// Clearing the schedule's expiration and the status lists.
	got, err = s.UpdateJob(ctx, sp1.ID, j.ID, func(cur *store.Job) error {
		cur.Schedule.Expiration = nil
		cur.Status.Progress, cur.Status.LastExecution = nil, nil
		return nil
	})
	ok(t, err, "third update")
	want.Schedule.Expiration, want.Status.Progress, want.Status.LastExecution = nil, nil, nil
	same(t, got, want, "job after the third update")
	got, err = s.GetJob(ctx, sp1.ID, j.ID)
	ok(t, err, "get job")
	same(t, got, want, "stored job after the third update")
}

var errBoom = errors.New("boom")

func testUpdateJobErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")
	j := mkJob(t, s, sp1.ID, "scim.a")

	// fn cannot move the job: the keys are kept.
	got, err := s.UpdateJob(ctx, sp1.ID, j.ID, func(cur *store.Job) error {
		cur.ID, cur.ServicePrincipalID, cur.TemplateID = "scim.moved", sp2.ID, "moved"
		return nil
	})
	ok(t, err, "update job changing its keys")
	want := j
	want.TemplateID = "moved"
	same(t, got, want, "job after an update changing its keys")
	_, err = s.GetJob(ctx, sp2.ID, "scim.moved")
	isErr(t, err, store.ErrNotFound, "get a job under the keys fn set")
	list, err := s.ListJobs(ctx, sp2.ID)
	ok(t, err, "list jobs of sp2")
	same(t, list, nil, "jobs of sp2")

	// An error from fn aborts the update, even after fn changed the job,
	// and is returned as is.
	for _, fnErr := range []error{errBoom, fmt.Errorf("wrapped: %w", store.ErrConflict)} {
		_, err = s.UpdateJob(ctx, sp1.ID, j.ID, func(cur *store.Job) error {
			cur.TemplateID = "aborted"
			cur.Status.Code = store.StatusPaused
			return fnErr
		})
		if err != fnErr {
			t.Errorf("update job with fn failing with %v: err = %v, want fn's error as is", fnErr, err)
		}
	}
	got, err = s.GetJob(ctx, sp1.ID, j.ID)
	ok(t, err, "get job")
	same(t, got, want, "job after aborted updates")

	// No such job: ErrNotFound, and fn is not called.
	for _, tt := range []struct{ sp, job, what string }{
		{sp2.ID, j.ID, "update a job through another service principal"},
		{sp1.ID, "nope", "update a missing job"},
		{"nope", j.ID, "update a job of a missing service principal"},
	} {
		_, err := s.UpdateJob(ctx, tt.sp, tt.job, func(*store.Job) error {
			t.Errorf("%s: fn called", tt.what)
			return nil
		})
		isErr(t, err, store.ErrNotFound, "%s", tt.what)
	}
	_, err = s.GetJob(ctx, sp1.ID, "nope")
	isErr(t, err, store.ErrNotFound, "update of a missing job must not create it")
	got, err = s.GetJob(ctx, sp1.ID, j.ID)
	ok(t, err, "get job")
	same(t, got, want, "job after failed updates")
}

// testJobStatusRoundTrip stores every field of a status and a schedule,
// through CreateJob, GetJob and ListJobs.
func testJobStatusRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j := newJob(sp.ID, "scim.full")
	j.Status = fullStatus(time.FixedZone("UTC-03:00", -3*3600))
	j.Schedule = store.Schedule{Interval: "P10675199DT2H48M5.4775807S", State: store.SchedulePaused, Expiration: ptr(at(70))}
	ok(t, s.CreateJob(ctx, j), "create job")
	got, err := s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job")
	same(t, got, j, "job with a full status")
	list, err := s.ListJobs(ctx, sp.ID)
	ok(t, err, "list jobs")
	same(t, list, []store.Job{j}, "jobs with a full status")

	// What GetJob returned is a copy: changing it changes nothing stored.
	got.Status.LastExecution.CountExported = 999
	got.Status.Progress[0].Units = "changed"
	got.Status.SynchronizedEntryCountByType[0].Value = 999
	got.Schedule.Expiration = ptr(at(999))
	again, err := s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job again")
	same(t, again, j, "job after changing a returned copy")
}

// testConcurrentJobUpdates has workers update different fields of one job
// at once, each many times; every update must land.
func testConcurrentJobUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const perWorker = 25
	sp := mkApp(t, s, "1")
	j := mkJob(t, s, sp.ID, "scim.busy")

	type counter struct{ N int }
	updates := []func(*store.Job) error{
		func(j *store.Job) error { j.Status.CountSuccessiveCompleteFailures++; return nil },
		func(j *store.Job) error {
			if j.Status.LastExecution == nil {
				j.Status.LastExecution = &store.Execution{}
			}
			j.Status.LastExecution.CountExported++
			return nil
		},
		func(j *store.Job) error {
			var kvs []map[string]string
			if err := json.Unmarshal(j.Settings, &kvs); err != nil {
				return err
			}
			kvs = append(kvs, map[string]string{"name": fmt.Sprintf("s%03d", len(kvs)), "value": "x"})
			b, err := json.Marshal(kvs)
			j.Settings = b
			return err
		},
		func(j *store.Job) error {
			var c counter
			_ = json.Unmarshal(j.Schema, &c)
			c.N++
			b, err := json.Marshal(c)
			j.Schema = b
			return err
		},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(updates))
	for w, fn := range updates {
		wg.Go(func() {
			for i := range perWorker {
				if _, err := s.UpdateJob(ctx, sp.ID, j.ID, fn); err != nil {
					errs <- fmt.Errorf("worker %d, update %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got, err := s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job")
	if n := got.Status.CountSuccessiveCompleteFailures; n != perWorker {
		t.Errorf("countSuccessiveCompleteFailures = %d, want %d", n, perWorker)
	}
	if got.Status.LastExecution == nil || got.Status.LastExecution.CountExported != perWorker {
		t.Errorf("lastExecution = %+v, want countExported %d", got.Status.LastExecution, perWorker)
	}
	var kvs []map[string]string
	ok(t, json.Unmarshal(got.Settings, &kvs), "decode settings")
	if len(kvs) != 1+perWorker {
		t.Errorf("%d settings, want %d", len(kvs), 1+perWorker)
	}
	var c counter
	ok(t, json.Unmarshal(got.Schema, &c), "decode schema")
	if c.N != perWorker {
		t.Errorf("schema counter = %d, want %d", c.N, perWorker)
	}
	// The fields no worker touched are as created.
	same(t, got.Schedule, j.Schedule, "schedule")
	same(t, got.Status.Code, j.Status.Code, "status code")
}

func testDeleteJobCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")
	gone := mkJob(t, s, sp1.ID, "scim.gone")
	kept := mkJob(t, s, sp1.ID, "scim.kept")
	for _, j := range []store.Job{gone, kept} {
		for _, src := range []string{"u1", "u2"} {
			ok(t, s.PutAnchor(ctx, newAnchor(j.ID, src, "t-"+src)), "put anchor")
		}
		ok(t, s.AddProvisioningLog(ctx, newLog("log-"+j.ID, j.ID, sp1.ID, at(1))), "add log")
	}
	ok(t, s.PutSecrets(ctx, sp1.ID, []byte("sealed")), "put secrets")

	isErr(t, s.DeleteJob(ctx, sp2.ID, gone.ID), store.ErrNotFound, "delete a job through another service principal")
	_, err := s.GetJob(ctx, sp1.ID, gone.ID)
	ok(t, err, "get job after a failed delete")

	ok(t, s.DeleteJob(ctx, sp1.ID, gone.ID), "delete job")
	_, err = s.GetJob(ctx, sp1.ID, gone.ID)
	isErr(t, err, store.ErrNotFound, "get deleted job")
	isErr(t, s.DeleteJob(ctx, sp1.ID, gone.ID), store.ErrNotFound, "delete deleted job")
	anchors, err := s.ListAnchors(ctx, gone.ID)
	ok(t, err, "list anchors of deleted job")
	same(t, anchors, nil, "anchors of deleted job")
	_, err = s.GetAnchor(ctx, gone.ID, "User", "u1")
	isErr(t, err, store.ErrNotFound, "get anchor of deleted job")
	logs, err := s.ListProvisioningLogs(ctx, gone.ID, store.ListOptions{})
	ok(t, err, "list logs of deleted job")
	same(t, logs, []store.ProvisioningLog{newLog("log-"+gone.ID, gone.ID, sp1.ID, at(1))}, "logs of deleted job, which outlive it")
	ok(t, s.AddProvisioningLog(ctx, newLog("late-"+gone.ID, gone.ID, sp1.ID, at(2))), "add a log of a deleted job")
	page, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Where: &store.LogCond{Field: store.LogJobID, Op: store.LogEq, Value: gone.ID}})
	ok(t, err, "query logs of deleted job")
	same(t, len(page.Logs), 2, "logs of deleted job found by jobId eq")

	list, err := s.ListJobs(ctx, sp1.ID)
	ok(t, err, "list jobs")
	same(t, list, []store.Job{kept}, "jobs left")
	anchors, err = s.ListAnchors(ctx, kept.ID)
	ok(t, err, "list anchors of kept job")
	same(t, anchors, []store.Anchor{newAnchor(kept.ID, "u1", "t-u1"), newAnchor(kept.ID, "u2", "t-u2")}, "kept anchors")
	logs, err = s.ListProvisioningLogs(ctx, kept.ID, store.ListOptions{})
	ok(t, err, "list logs")
	same(t, logs, []store.ProvisioningLog{newLog("log-"+kept.ID, kept.ID, sp1.ID, at(1))}, "logs of the kept job")
	sec, err := s.GetSecrets(ctx, sp1.ID)
	ok(t, err, "get secrets")
	same(t, sec, []byte("sealed"), "secrets are the service principal's, not the job's")

	// The id is free again, with nothing left over.
	mkJob(t, s, sp1.ID, gone.ID)
	anchors, err = s.ListAnchors(ctx, gone.ID)
	ok(t, err, "list anchors of recreated job")
	same(t, anchors, nil, "anchors of recreated job")
}

func testSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")

	got, err := s.GetSecrets(ctx, sp1.ID)
	if err != nil || got != nil {
		t.Errorf("get secrets never put = %q, %v; want nil, nil", got, err)
	}
	ok(t, s.PutSecrets(ctx, sp1.ID, []byte{0, 1, 2, 0xff, 'x'}), "put secrets")
	got, err = s.GetSecrets(ctx, sp1.ID)
	ok(t, err, "get secrets")
	same(t, got, []byte{0, 1, 2, 0xff, 'x'}, "secrets (binary-safe)")

	ok(t, s.PutSecrets(ctx, sp1.ID, []byte("v2")), "replace secrets")
	got, err = s.GetSecrets(ctx, sp1.ID)
	ok(t, err, "get replaced secrets")
	same(t, got, []byte("v2"), "replaced secrets")

	got, err = s.GetSecrets(ctx, sp2.ID)
	if err != nil || got != nil {
		t.Errorf("get secrets of another service principal = %q, %v; want nil, nil", got, err)
	}
	isErr(t, s.PutSecrets(ctx, "nope", []byte("x")), store.ErrNotFound, "put secrets of a missing service principal")
	got, err = s.GetSecrets(ctx, "nope")
	if err != nil || got != nil {
		t.Errorf("get secrets of a failed put = %q, %v; want nil, nil", got, err)
	}
}

func testAnchors(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")

	a := newAnchor(j1.ID, "u1", "scim-1")
	ok(t, s.PutAnchor(ctx, a), "put anchor")
	got, err := s.GetAnchor(ctx, j1.ID, "User", "u1")
	ok(t, err, "get anchor")
	same(t, got, a, "anchor")

	_, err = s.GetAnchor(ctx, j1.ID, "User", "nope")
	isErr(t, err, store.ErrNotFound, "get missing anchor")
	_, err = s.GetAnchor(ctx, j1.ID, "Group", "u1")
	isErr(t, err, store.ErrNotFound, "get anchor of another source type")
	_, err = s.GetAnchor(ctx, j2.ID, "User", "u1")
	isErr(t, err, store.ErrNotFound, "get anchor of another job")

	// Put replaces.
	a.TargetType = "Other"
	a.TargetID = "scim-1b"
	a.Updated = at(70)
	ok(t, s.PutAnchor(ctx, a), "replace anchor")
	got, err = s.GetAnchor(ctx, j1.ID, "User", "u1")
	ok(t, err, "get replaced anchor")
	same(t, got, a, "replaced anchor")

	// The same source in another job, and other sources, are separate.
	other := newAnchor(j2.ID, "u1", "other")
	ok(t, s.PutAnchor(ctx, other), "put anchor in j2")
	g := store.Anchor{JobID: j1.ID, SourceType: "Group", SourceID: "u1", TargetType: "Group", TargetID: "sg", Updated: at(71)}
	b := newAnchor(j1.ID, "u0", "scim-0")
	c := newAnchor(j1.ID, "u2", "scim-2")
	for _, x := range []store.Anchor{c, g, b} {
		ok(t, s.PutAnchor(ctx, x), "put anchor %s/%s", x.SourceType, x.SourceID)
	}
	list, err := s.ListAnchors(ctx, j1.ID)
	ok(t, err, "list anchors")
	same(t, list, []store.Anchor{g, b, a, c}, "anchors of j1 (by source type, then id)")
	list, err = s.ListAnchors(ctx, j2.ID)
	ok(t, err, "list anchors of j2")
	same(t, list, []store.Anchor{other}, "anchors of j2")

	byTarget, err := s.GetAnchorByTarget(ctx, j1.ID, c.TargetType, "scim-2")
	ok(t, err, "get anchor by target")
	same(t, byTarget, c, "anchor of j1 linking to scim-2")
	byTarget, err = s.GetAnchorByTarget(ctx, j1.ID, "Group", "sg")
	ok(t, err, "get group anchor by target")
	same(t, byTarget, g, "anchor of j1 linking to group sg")
	for _, tt := range []struct{ job, typ, id, what string }{
		{j1.ID, c.TargetType, "nope", "an unlinked target object"},
		{j1.ID, "Group", "scim-2", "a target id of another type"},
		{j2.ID, c.TargetType, "scim-2", "a target object another job links"},
	} {
		_, err = s.GetAnchorByTarget(ctx, tt.job, tt.typ, tt.id)
		isErr(t, err, store.ErrNotFound, "get anchor by target: %s", tt.what)
	}

	ok(t, s.DeleteAnchor(ctx, j1.ID, "User", "u1"), "delete anchor")
	_, err = s.GetAnchor(ctx, j1.ID, "User", "u1")
	isErr(t, err, store.ErrNotFound, "get deleted anchor")
	isErr(t, s.DeleteAnchor(ctx, j1.ID, "User", "u1"), store.ErrNotFound, "delete deleted anchor")
	got, err = s.GetAnchor(ctx, j2.ID, "User", "u1")
	ok(t, err, "get anchor of j2")
	same(t, got, other, "anchor of j2 after delete in j1")
	list, err = s.ListAnchors(ctx, j1.ID)
	ok(t, err, "list anchors")
	same(t, list, []store.Anchor{g, b, c}, "anchors of j1 after delete")
}

func testProvisioningLogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")

	// Activities tie on purpose: ties are broken by ID, descending.
	l1 := newLog("l1", j1.ID, sp.ID, at(10))
	l2 := newLog("l2", j2.ID, sp.ID, at(30))
	l3 := newLog("l3", j1.ID, sp.ID, at(20))
	l4 := newLog("l4", j1.ID, sp.ID, at(20))
	l5 := newLog("l5", j2.ID, sp.ID, at(5))
	l0 := newLog("l0", j1.ID, sp.ID, at(20))
	l0.Data = nil
	for _, l := range []store.ProvisioningLog{l1, l2, l3, l4, l5, l0} {
		ok(t, s.AddProvisioningLog(ctx, l), "add log %s", l.ID)
	}
	dup := newLog("l1", j2.ID, sp.ID, at(99))
	isErr(t, s.AddProvisioningLog(ctx, dup), store.ErrConflict, "add a log with a taken id")

	tests := []struct {
		job  string
		opt  store.ListOptions
		want []store.ProvisioningLog
	}{
		{"", store.ListOptions{}, []store.ProvisioningLog{l2, l4, l3, l0, l1, l5}},
		{j1.ID, store.ListOptions{}, []store.ProvisioningLog{l4, l3, l0, l1}},
		{j2.ID, store.ListOptions{}, []store.ProvisioningLog{l2, l5}},
		{"nope", store.ListOptions{}, nil},
		{"", store.ListOptions{Limit: 2}, []store.ProvisioningLog{l2, l4}},
		{"", store.ListOptions{Limit: 2, After: "l4"}, []store.ProvisioningLog{l3, l0}},
		{"", store.ListOptions{After: "l0"}, []store.ProvisioningLog{l1, l5}},
		{j1.ID, store.ListOptions{Limit: 2, After: "l3"}, []store.ProvisioningLog{l0, l1}},
		{j1.ID, store.ListOptions{After: "l1"}, nil},
		{"", store.ListOptions{After: "l5"}, nil},
	}
	for _, tt := range tests {
		got, err := s.ListProvisioningLogs(ctx, tt.job, tt.opt)
		ok(t, err, "list logs of %q %+v", tt.job, tt.opt)
		same(t, got, tt.want, "logs of %q %+v", tt.job, tt.opt)
	}
}

func testProvisioningLogPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")

	// 40 logs over 7 distinct times, so that pages split ties.
	var all, of1 []store.ProvisioningLog
	for i := range 40 {
		job := j1.ID
		if i%3 == 0 {
			job = j2.ID
		}
		l := newLog(fmt.Sprintf("log-%02d", (i*17)%40), job, sp.ID, at(i%7))
		ok(t, s.AddProvisioningLog(ctx, l), "add log %s", l.ID)
		all = append(all, l)
		if job == j1.ID {
			of1 = append(of1, l)
		}
	}
	newestFirst := func(a, b store.ProvisioningLog) int {
		if c := b.Activity.Compare(a.Activity); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	}
	slices.SortFunc(all, newestFirst)
	slices.SortFunc(of1, newestFirst)

	for _, tt := range []struct {
		job  string
		want []store.ProvisioningLog
	}{{"", all}, {j1.ID, of1}} {
		for _, limit := range []int{1, 3, 7, 100} {
			var got []store.ProvisioningLog
			after := ""
			for range 100 {
				page, err := s.ListProvisioningLogs(ctx, tt.job, store.ListOptions{Limit: limit, After: after})
				ok(t, err, "list logs page")
				if len(page) > limit {
					t.Fatalf("page of %d logs with limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].ID
			}
			same(t, got, tt.want, "logs of %q paged by %d", tt.job, limit)
		}
	}
}

func testUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := t0.Add(10 * time.Minute)
	ok(t, s.UseOnce(ctx, "code-1", exp, t0), "use a code")
	isErr(t, s.UseOnce(ctx, "code-1", exp, t0.Add(time.Minute)), store.ErrConflict, "use a code again")
	ok(t, s.UseOnce(ctx, "code-2", exp, t0), "use another code")
	// Still within its expiry: the record must survive pruning by a later use.
	isErr(t, s.UseOnce(ctx, "code-1", exp, exp), store.ErrConflict, "use a code again at its expiry")
	// Past its expiry the record is dropped (the code itself is refused by
	// then), so the key may be recorded anew.
	ok(t, s.UseOnce(ctx, "code-1", exp.Add(10*time.Minute), exp.Add(time.Second)), "use an expired key again")

	// WasUsed sees a record until it expires, and only the key's own.
	later := t0.Add(time.Hour)
	ok(t, s.UseOnce(ctx, "session-1", later, t0), "record a session's end")
	for _, c := range []struct {
		key  string
		at   time.Time
		want bool
	}{
		{"session-1", t0, true}, {"session-1", later, true}, {"session-1", later.Add(time.Microsecond), false},
		{"session-2", t0, false}, {"session-", t0, false},
	} {
		used, err := s.WasUsed(ctx, c.key, c.at)
		ok(t, err, "was %q used", c.key)
		if used != c.want {
			t.Errorf("WasUsed(%q, %v) = %v; want %v", c.key, c.at, used, c.want)
		}
	}
}

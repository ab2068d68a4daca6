package jobs

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"provisiond/isoduration"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/memory"
)

func TestParseResetScope(t *testing.T) {
	tests := []struct {
		in   string
		want store.ResetScope
	}{
		{"", DefaultResetScope},
		{"   ", DefaultResetScope},
		{"None", store.ResetNone},
		{"Watermark", store.ResetWatermark},
		{"Watermark, Escrows", store.ResetWatermark | store.ResetEscrows},
		{"Watermark,Escrows,QuarantineState", DefaultResetScope}, // the Go SDK's spelling
		{" watermark ,ESCROWS,  Watermark ", store.ResetWatermark | store.ResetEscrows},
		{"Full", store.ResetConnectorDataStore | store.ResetEscrows | store.ResetWatermark | store.ResetQuarantineState},
		{"Full, ForceDeletes", store.ResetFull | store.ResetForceDeletes},
		{"ForceDeletes", store.ResetForceDeletes},
		{"ConnectorDataStore", store.ResetConnectorDataStore},
		{"None, Escrows", store.ResetEscrows},
		{"\tQuarantineState\t", store.ResetQuarantineState},
	}
	for _, tt := range tests {
		got, err := ParseResetScope(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseResetScope(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseResetScopeErrors(t *testing.T) {
	valid := "None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes"
	tests := []struct{ in, want string }{
		{"Foo", "'Foo' is not a synchronizationJobRestartScope"},
		{"Watermark, Foo", "'Foo'"},
		{"15", "'15'"},
		{"Watermark,,Escrows", "value 2 of the comma-separated list is empty"},
		{"Watermark,", "value 2"},
		{",", "value 1"},
		{"Water mark", "'Water mark'"},
		{strings.Repeat("x", 1000), strings.Repeat("x", 64) + "..."},
	}
	for _, tt := range tests {
		got, err := ParseResetScope(tt.in)
		if err == nil {
			t.Errorf("ParseResetScope(%q) = %v, want an error", tt.in, got)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, valid) {
			t.Errorf("ParseResetScope(%q) error %q, want it to contain %q and list %s", tt.in, msg, tt.want, valid)
		}
	}
}

func TestResetScopeString(t *testing.T) {
	tests := []struct {
		in   store.ResetScope
		want string
	}{
		{store.ResetNone, "None"},
		{store.ResetWatermark | store.ResetEscrows, "Escrows,Watermark"},
		{store.ResetFull, "Full"},
		{store.ResetFull | store.ResetForceDeletes, "Full,ForceDeletes"},
		{store.ResetWatermark | 64, "Watermark,64"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ResetScope(%d).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseResetScope checks the parser never panics, yields only member
// bits, and reads back what String writes.
func FuzzParseResetScope(f *testing.F) {
	for _, s := range []string{"", "Watermark, Escrows", "full,forceDeletes", "None", "Foo", ",,", " Watermark ,", "ConnectorDataStore,QuarantineState"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scope, err := ParseResetScope(s)
		if err != nil {
			if !strings.Contains(err.Error(), "ForceDeletes") {
				t.Fatalf("ParseResetScope(%q) error does not list the members: %v", s, err)
			}
			return
		}
		if scope&^(store.ResetFull|store.ResetForceDeletes) != 0 {
			t.Fatalf("ParseResetScope(%q) = %d: bits that are no member", s, scope)
		}
		back, err := ParseResetScope(scope.String())
		if err != nil || back != scope {
			t.Fatalf("ParseResetScope(%q) = %v; its String %q reads back as %v, %v", s, scope, scope.String(), back, err)
		}
	})
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"PT1M": time.Minute, "PT10M": 10 * time.Minute, "PT60S": time.Minute, "P1D": 24 * time.Hour,
		"P365D": MaxInterval} {
		if got, err := ParseInterval(in); err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"PT59S": "shorter than the minimum interval, PT1M", "PT0S": "minimum", "-PT5M": "minimum",
		isoduration.MaxValue: "pause it instead", "10m": "not an ISO 8601 duration",
		// Over a year, the scheduler's bound, up to what overflows a duration.
		"P365DT1S": "P365DT1S is longer than the maximum interval, P365D", "P400D": "longer than the maximum interval",
		"P106752D": "longer than the maximum interval", "PT2562047H47M16.854775807S": "longer than the maximum interval",
	} {
		if _, err := ParseInterval(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseInterval(%q) error %v, want one saying %q", in, err, want)
		}
	}
}

// recorder is a Scheduler that records its calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
	err   error
	// hold, when set, keeps Schedule from returning until it is closed.
	hold chan struct{}
}

func (r *recorder) Schedule(_ context.Context, spID, jobID string, at time.Time) error {
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "Schedule "+spID+"/"+jobID+" "+at.Format(time.RFC3339))
	return r.err
}

func (r *recorder) Stop(_ context.Context, spID, jobID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "Stop "+spID+"/"+jobID)
	return r.err
}

var epoch = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// lifecycleService is a Service over a memory store holding service
// principal "sp" with job "job" (new: Disabled, NotRun) and credentials.
func lifecycleService(t *testing.T, sched Scheduler) (*Service, store.Store) {
	t.Helper()
	st := memory.New()
	box, err := secrets.NewBox(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := st.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateJob(ctx, store.Job{ID: "job", ServicePrincipalID: "sp", TemplateID: "scim",
		Status:   store.Status{Code: store.StatusNotRun},
		Schedule: store.Schedule{Interval: isoduration.MaxValue, State: store.ScheduleDisabled}}); err != nil {
		t.Fatal(err)
	}
	sealed, err := box.SealPairs([]secrets.Pair{{Key: "BaseAddress", Value: "https://scim.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSecrets(ctx, "sp", sealed); err != nil {
		t.Fatal(err)
	}
	return New(Options{Store: st, Secrets: box, Scheduler: sched, Now: func() time.Time { return epoch }}), st
}

func TestRestartAccumulatesPendingResets(t *testing.T) {
	s, st := lifecycleService(t, nil)
	ctx := t.Context()
	if _, err := st.UpdateJob(ctx, "sp", "job", func(j *store.Job) error {
		j.Status.Code = store.StatusQuarantine
		j.Status.CountSuccessiveCompleteFailures = 4
		j.Status.Quarantine = &store.Quarantine{Reason: "EncounteredQuarantineException", SeriesCount: 1}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx, "sp", "job", store.ResetWatermark); err != nil {
		t.Fatal(err)
	}
	// Only QuarantineState lifts the quarantine and clears the count; a
	// restart without it keeps the quarantine and retries now.
	j, _ := st.GetJob(ctx, "sp", "job")
	q := j.Status.Quarantine
	if j.Status.ResetPending != store.ResetWatermark || j.Status.Code != store.StatusQuarantine || q == nil ||
		!q.NextAttempt.Equal(epoch) || j.Status.CountSuccessiveCompleteFailures != 4 {
		t.Errorf("after Restart(Watermark): pending %v, code %s, quarantine %+v, failures %d; want Watermark, Quarantine with nextAttempt %v, 4",
			j.Status.ResetPending, j.Status.Code, q, j.Status.CountSuccessiveCompleteFailures, epoch)
	}
	// A second restart before any cycle adds to what is pending;
	// QuarantineState is done at once, never left pending.
	if err := s.Restart(ctx, "sp", "job", store.ResetFull|store.ResetForceDeletes); err != nil {
		t.Fatal(err)
	}
	j, _ = st.GetJob(ctx, "sp", "job")
	want := store.ResetConnectorDataStore | store.ResetEscrows | store.ResetWatermark | store.ResetForceDeletes
	if j.Status.ResetPending != want || j.Status.CountSuccessiveCompleteFailures != 0 || j.Status.Code != store.StatusActive {
		t.Errorf("after Restart(Full, ForceDeletes): pending %v, failures %d, code %s; want %v, 0, Active",
			j.Status.ResetPending, j.Status.CountSuccessiveCompleteFailures, j.Status.Code, want)
	}
	// Start keeps what restarts asked.
	if err := s.Start(ctx, "sp", "job"); err != nil {
		t.Fatal(err)
	}
	if j, _ = st.GetJob(ctx, "sp", "job"); j.Status.ResetPending != want {
		t.Errorf("after Start: pending %v, want %v", j.Status.ResetPending, want)
	}
}

func TestLifecycleTellsScheduler(t *testing.T) {
	rec := &recorder{}
	s, st := lifecycleService(t, rec)
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { return s.Start(ctx, "sp", "job") },
		func() error { return s.Start(ctx, "sp", "job") }, // an active job: one more Schedule, no more
		func() error { return s.Pause(ctx, "sp", "job") },
		func() error { return s.Restart(ctx, "sp", "job", store.ResetNone) },
		func() error { return s.Delete(ctx, "sp", "job") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	at := epoch.Format(time.RFC3339)
	want := []string{"Schedule sp/job " + at, "Schedule sp/job " + at, "Stop sp/job", "Schedule sp/job " + at, "Stop sp/job"}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("scheduler calls:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
	if _, err := st.GetJob(ctx, "sp", "job"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job after Delete: %v, want ErrNotFound", err)
	}
}

// TestSchedulerFailure: the state change stands (the store is the truth)
// and the error says so; a failing Stop keeps a job from being deleted.
func TestSchedulerFailure(t *testing.T) {
	rec := &recorder{err: errors.New("queue down")}
	s, st := lifecycleService(t, rec)
	ctx := t.Context()
	err := s.Start(ctx, "sp", "job")
	if err == nil || !strings.Contains(err.Error(), "queue down") || !strings.Contains(err.Error(), "start it again") {
		t.Errorf("Start with a failing scheduler: %v", err)
	}
	if j, _ := st.GetJob(ctx, "sp", "job"); j.Schedule.State != store.ScheduleActive {
		t.Errorf("schedule state %s after a failed Schedule, want Active", j.Schedule.State)
	}
	if err := s.Delete(ctx, "sp", "job"); err == nil || !strings.Contains(err.Error(), "queue down") {
		t.Errorf("Delete with a failing Stop: %v", err)
	}
	if _, err := st.GetJob(ctx, "sp", "job"); err != nil {
		t.Errorf("job deleted although its cycles could not be stopped: %v", err)
	}
}

func TestStartRefusals(t *testing.T) {
	rec := &recorder{}
	s, st := lifecycleService(t, rec)
	ctx := t.Context()
	var je *Error
	if err := s.Start(ctx, "sp", "nosuch"); !errors.As(err, &je) || !je.NotFound {
		t.Errorf("Start of a missing job: %v, want a NotFound *Error", err)
	}
	if err := s.Pause(ctx, "sp", "nosuch"); !errors.As(err, &je) || !je.NotFound {
		t.Errorf("Pause of a missing job: %v, want a NotFound *Error", err)
	}
	if err := st.PutSecrets(ctx, "sp", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, "sp", "nosuch"); !errors.As(err, &je) || !je.NotFound {
		t.Errorf("Start of a missing job without credentials: %v, want a NotFound *Error", err)
	}
	err := s.Restart(ctx, "sp", "job", DefaultResetScope)
	if !errors.As(err, &je) || !je.Connect || !strings.Contains(je.Message, "PUT .../synchronization/secrets") {
		t.Errorf("Restart without credentials: %v, want a Connect *Error naming PUT secrets", err)
	}
	j, _ := st.GetJob(ctx, "sp", "job")
	if j.Schedule.State != store.ScheduleDisabled || j.Status.Code != store.StatusNotRun || j.Status.ResetPending != 0 || len(rec.calls) != 0 {
		t.Errorf("a refused start changed the job (%+v, %+v) or called the scheduler %v", j.Schedule, j.Status, rec.calls)
	}
}

// TestSchedulerHearsInStoreOrder holds a start inside Schedule (its state
// already stored) while a pause of the same job comes in: the pause must
// wait, so that the scheduler's last word (Stop) matches the stored state
// (Paused). Without the per-job lock the pause would overtake the start's
// Schedule and leave a paused job scheduled.
func TestSchedulerHearsInStoreOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{hold: make(chan struct{})}
		s, st := lifecycleService(t, rec)
		ctx := t.Context()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.Start(ctx, "sp", "job"); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait() // the start is stored and waits in Schedule
		if j, _ := st.GetJob(ctx, "sp", "job"); j.Schedule.State != store.ScheduleActive {
			t.Fatalf("start not stored before Schedule: %s", j.Schedule.State)
		}
		wg.Go(func() {
			if err := s.Pause(ctx, "sp", "job"); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait() // the pause waits for the start, or (wrongly) is done
		close(rec.hold)
		wg.Wait()
		j, _ := st.GetJob(ctx, "sp", "job")
		if got := strings.Join(rec.calls, "; "); j.Schedule.State != store.SchedulePaused || !strings.HasPrefix(got, "Schedule") || !strings.HasSuffix(got, "Stop sp/job") {
			t.Errorf("stored %s, scheduler heard %s; want Paused, Schedule then Stop", j.Schedule.State, got)
		}
	})
}

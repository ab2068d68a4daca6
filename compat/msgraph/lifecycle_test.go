package msgraph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// TestGraphSDKJobLifecycle starts, pauses and restarts the demo job
// through the SDK's request builders and reads the job back through its
// typed models: a property provisiond sends in a shape the SDK cannot
// parse fails the Get, and an enum value it does not know reads as nil.
func TestGraphSDKJobLifecycle(t *testing.T) {
	client := demoClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jobs, listed := demoJob(ctx, t, client)
	job := jobs.BySynchronizationJobId(*listed.GetId())

	// A job never started has Graph's "never" interval, .NET's
	// TimeSpan.MaxValue. The SDK parses it (dropping the fraction), but
	// its ToDuration overflows: no time.Duration holds 29,000 years, so a
	// client must read "never run" from the state, not the interval.
	if s := listed.GetSchedule().GetState(); s == nil || *s != models.DISABLED_SYNCHRONIZATIONSCHEDULESTATE {
		t.Errorf("new job: schedule.state = %v, want Disabled", s)
	}
	if listed.GetSchedule().GetInterval() == nil {
		t.Error("new job: schedule.interval = nil, want TimeSpan.MaxValue")
	}

	if err := job.Start().Post(ctx, nil); err != nil {
		t.Fatalf("start: %v", describe(err))
	}
	// The demo assigns adele directly and brian through Demo Engineers.
	j := waitFor(ctx, t, job, "a successful cycle", func(j models.SynchronizationJobable) bool {
		return j.GetStatus().GetLastSuccessfulExecution() != nil
	})
	status, schedule := j.GetStatus(), j.GetSchedule()
	wantCodes(t, "after start", j, models.ACTIVE_SYNCHRONIZATIONSTATUSCODE, models.ACTIVE_SYNCHRONIZATIONSCHEDULESTATE)

	// The SDK parses Edm.Duration into kiota's ISODuration.
	if iv := schedule.GetInterval(); iv == nil {
		t.Error("schedule.interval = nil, want PT40M")
	} else if d, err := iv.ToDuration(); err != nil || d != 40*time.Minute {
		t.Errorf("schedule.interval = %s (%v, %v), want 40 minutes", iv, d, err)
	}

	last := status.GetLastExecution()
	if last == nil {
		t.Fatal("status.lastExecution = nil after a successful cycle")
	}
	if n := last.GetCountExported(); n == nil || *n < 2 {
		t.Errorf("lastExecution.countExported = %v, want >= 2 (adele and brian)", deref(n))
	}
	if n := last.GetCountImported(); n == nil || *n < 3 {
		t.Errorf("lastExecution.countImported = %v, want >= 3", deref(n))
	}
	if s := last.GetState(); s == nil || *s != models.SUCCEEDED_SYNCHRONIZATIONTASKEXECUTIONRESULT {
		t.Errorf("lastExecution.state = %v, want Succeeded", s)
	}
	firstActivity := last.GetActivityIdentifier()
	if firstActivity == nil || *firstActivity == "" {
		t.Error("lastExecution.activityIdentifier is empty")
	}
	began, ended := last.GetTimeBegan(), last.GetTimeEnded()
	if began == nil || ended == nil || began.IsZero() || began.After(*ended) {
		t.Errorf("lastExecution timeBegan %v, timeEnded %v: want both set, began <= ended", began, ended)
	}
	if ts := status.GetSteadyStateLastAchievedTime(); ts == nil || ts.IsZero() {
		t.Errorf("status.steadyStateLastAchievedTime = %v, want set", ts)
	}
	noUnknownProperties(t, j)
	counts := status.GetSynchronizedEntryCountByType()
	if len(counts) == 0 {
		t.Error("status.synchronizedEntryCountByType is empty")
	}
	for i, c := range counts {
		if c.GetKey() == nil || *c.GetKey() == "" || c.GetValue() == nil {
			t.Errorf("synchronizedEntryCountByType[%d] = {%v, %v}, want a key and a value", i, c.GetKey(), c.GetValue())
		}
	}

	if err := job.Pause().Post(ctx, nil); err != nil {
		t.Fatalf("pause: %v", describe(err))
	}
	wantCodes(t, "after pause", get(ctx, t, job), models.PAUSED_SYNCHRONIZATIONSTATUSCODE, models.PAUSED_SYNCHRONIZATIONSCHEDULESTATE)

	// resetScope is a flags enum: the SDK sends "Escrows,Watermark". A
	// scope name the enum lacks cannot be sent through the typed SDK.
	scope := models.SynchronizationJobRestartScope(models.WATERMARK_SYNCHRONIZATIONJOBRESTARTSCOPE | models.ESCROWS_SYNCHRONIZATIONJOBRESTARTSCOPE)
	criteria := models.NewSynchronizationJobRestartCriteria()
	criteria.SetResetScope(&scope)
	body := serviceprincipals.NewItemSynchronizationJobsItemRestartPostRequestBody()
	body.SetCriteria(criteria)
	if err := job.Restart().Post(ctx, body, nil); err != nil {
		t.Fatalf("restart with resetScope %s: %v", scope, describe(err))
	}
	wantCodes(t, "after restart", get(ctx, t, job), models.ACTIVE_SYNCHRONIZATIONSTATUSCODE, models.ACTIVE_SYNCHRONIZATIONSCHEDULESTATE)

	// The restart runs a cycle of its own; with the watermark reset it
	// reads every object again (an incremental cycle would import none).
	j = waitFor(ctx, t, job, "a cycle after the restart", func(j models.SynchronizationJobable) bool {
		e := j.GetStatus().GetLastSuccessfulExecution()
		return e != nil && e.GetActivityIdentifier() != nil && *e.GetActivityIdentifier() != *firstActivity
	})
	last = j.GetStatus().GetLastExecution()
	if s := last.GetState(); s == nil || *s != models.SUCCEEDED_SYNCHRONIZATIONTASKEXECUTIONRESULT {
		t.Errorf("lastExecution.state after restart = %v, want Succeeded", s)
	}
	if n := last.GetCountImported(); n == nil || *n < 3 {
		t.Errorf("lastExecution.countImported after a Watermark reset = %v, want >= 3", deref(n))
	}
	noUnknownProperties(t, j)
}

// noUnknownProperties fails for a property the SDK's models do not
// declare (a misspelt or invented name lands in their additional data).
func noUnknownProperties(t *testing.T, j models.SynchronizationJobable) {
	t.Helper()
	parts := map[string]interface{ GetAdditionalData() map[string]any }{
		"job": j, "schedule": j.GetSchedule(), "status": j.GetStatus(),
		"status.lastExecution":           j.GetStatus().GetLastExecution(),
		"status.lastSuccessfulExecution": j.GetStatus().GetLastSuccessfulExecution(),
	}
	for name, p := range parts {
		for k := range p.GetAdditionalData() {
			if !strings.HasPrefix(k, "@odata.") {
				t.Errorf("%s has a property the SDK does not know: %q", name, k)
			}
		}
	}
}

type jobBuilder = *serviceprincipals.ItemSynchronizationJobsSynchronizationJobItemRequestBuilder

func get(ctx context.Context, t *testing.T, job jobBuilder) models.SynchronizationJobable {
	t.Helper()
	j, err := job.Get(ctx, nil)
	if err != nil {
		t.Fatalf("get job: %v", describe(err))
	}
	if j.GetStatus() == nil || j.GetSchedule() == nil {
		t.Fatalf("job without status or schedule: %v, %v", j.GetStatus(), j.GetSchedule())
	}
	return j
}

// waitFor gets the job until done holds, for at most 30 seconds.
func waitFor(ctx context.Context, t *testing.T, job jobBuilder, what string, done func(models.SynchronizationJobable) bool) models.SynchronizationJobable {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := get(ctx, t, job)
		if done(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s: status code %v, lastExecution %v", what, j.GetStatus().GetCode(), j.GetStatus().GetLastExecution())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func wantCodes(t *testing.T, when string, j models.SynchronizationJobable, code models.SynchronizationStatusCode, state models.SynchronizationScheduleState) {
	t.Helper()
	if c := j.GetStatus().GetCode(); c == nil || *c != code {
		t.Errorf("%s: status.code = %v, want %s", when, c, code)
	}
	if s := j.GetSchedule().GetState(); s == nil || *s != state {
		t.Errorf("%s: schedule.state = %v, want %s", when, s, state)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

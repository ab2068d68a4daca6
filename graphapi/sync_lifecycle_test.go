package graphapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"provisiond/auth"
	"provisiond/jobs"
	"provisiond/store"
)

// fakeScheduler records the calls the jobs service makes. It stands in for
// the River scheduler, which is tested end to end with real cycles.
type fakeScheduler struct {
	mu    sync.Mutex
	calls []schedCall
	// onStop runs inside Stop (the delete test checks the job still exists).
	onStop func(spID, jobID string)
}

type schedCall struct {
	Op, SP, Job string
	At          time.Time
}

func (f *fakeScheduler) Schedule(_ context.Context, spID, jobID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, schedCall{"Schedule", spID, jobID, at})
	return nil
}

func (f *fakeScheduler) Stop(_ context.Context, spID, jobID string) error {
	if f.onStop != nil {
		f.onStop(spID, jobID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, schedCall{Op: "Stop", SP: spID, Job: jobID})
	return nil
}

func (f *fakeScheduler) took() []schedCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

var lifecycleNow = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// lifecycleTest is a server whose jobs service has a fakeScheduler, with
// one service principal and one new job (no credentials yet).
type lifecycleTest struct {
	*apiTest
	sched *fakeScheduler
	spID  string
	jobID string
	base  string // .../synchronization
	job   string // .../synchronization/jobs/{jobId}
}

func newLifecycleTest(t *testing.T) *lifecycleTest {
	t.Helper()
	box := testBox(t)
	fs := &fakeScheduler{}
	now := func() time.Time { return lifecycleNow }
	a := newAPITest(t, func(c *Config) {
		c.Now = now
		c.Sync = &Sync{Jobs: jobs.New(jobs.Options{Store: c.Store, Secrets: box, Scheduler: fs, Now: now})}
	})
	sp := a.instantiate("Lifecycle SCIM")
	l := &lifecycleTest{apiTest: a, sched: fs, spID: sp["id"].(string)}
	l.base = "/v1.0/servicePrincipals/" + l.spID + "/synchronization"
	l.jobID = a.must(http.StatusCreated, "POST", l.base+"/jobs", map[string]any{"templateId": "scim"}).object(t)["id"].(string)
	l.job = l.base + "/jobs/" + l.jobID
	return l
}

func (l *lifecycleTest) putSecrets() {
	l.t.Helper()
	l.must(http.StatusNoContent, "PUT", l.base+"/secrets", map[string]any{"value": []any{
		map[string]any{"key": "BaseAddress", "value": "https://scim.example.com"},
		map[string]any{"key": "SecretToken", "value": "t"}}})
}

// get returns the job as GET shows it.
func (l *lifecycleTest) get() map[string]any {
	l.t.Helper()
	return l.must(http.StatusOK, "GET", l.job, nil).object(l.t)
}

// stored returns the job as the store has it.
func (l *lifecycleTest) stored() store.Job {
	l.t.Helper()
	j, err := l.store.GetJob(l.t.Context(), l.spID, l.jobID)
	if err != nil {
		l.t.Fatal(err)
	}
	return j
}

func (l *lifecycleTest) update(fn func(*store.Job)) {
	l.t.Helper()
	if _, err := l.store.UpdateJob(l.t.Context(), l.spID, l.jobID, func(j *store.Job) error { fn(j); return nil }); err != nil {
		l.t.Fatal(err)
	}
}

// graphStatus is a synchronizationStatus as Graph shows a job that never
// ran, with code and changes applied.
func graphStatus(code string, changes map[string]any) map[string]any {
	s := map[string]any{
		"code": code, "countSuccessiveCompleteFailures": float64(0), "escrowsPruned": false,
		"lastExecution": nil, "lastSuccessfulExecution": nil, "lastSuccessfulExecutionWithExports": nil,
		"progress": []any{}, "quarantine": nil,
		"steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z", "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
		"synchronizedEntryCountByType": []any{}, "troubleshootingUrl": nil,
	}
	for k, v := range changes {
		s[k] = v
	}
	return s
}

func graphSchedule(interval, state string) map[string]any {
	return map[string]any{"expiration": nil, "interval": interval, "state": state}
}

// wantJob checks the schedule and status GET job shows.
func (l *lifecycleTest) wantJob(step string, schedule, status map[string]any) {
	l.t.Helper()
	got := l.get()
	diff(l.t, step+": schedule", got["schedule"], schedule)
	diff(l.t, step+": status", got["status"], status)
}

func (l *lifecycleTest) wantCalls(step string, ops ...string) {
	l.t.Helper()
	var want []schedCall
	for _, op := range ops {
		c := schedCall{Op: op, SP: l.spID, Job: l.jobID}
		if op == "Schedule" {
			c.At = lifecycleNow
		}
		want = append(want, c)
	}
	diff(l.t, step+": scheduler calls", l.sched.took(), want)
}

// TestJobLifecycle walks a job through every transition and checks, after
// each call, the job as GET shows it and what the scheduler was told.
func TestJobLifecycle(t *testing.T) {
	l := newLifecycleTest(t)
	disabled := graphSchedule("P10675199DT2H48M5.4775807S", "Disabled")

	// Without credentials a job cannot start.
	for _, action := range []string{"start", "restart"} {
		l.call("POST", l.job+"/"+action, nil).wantError(t, 400, "BadRequest", "no credentials", "PUT .../synchronization/secrets")
	}
	l.wantJob("refused start", disabled, graphStatus("NotConfigured", nil))
	l.wantCalls("refused start")

	l.putSecrets()
	l.wantJob("credentials saved", disabled, graphStatus("NotRun", nil))

	l.must(http.StatusNoContent, "POST", l.job+"/start", nil)
	l.wantJob("start", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	l.wantCalls("start", "Schedule")

	// Starting an active job is allowed. The action has no parameters:
	// one sent (a reset meant for restart) is a 400, not ignored.
	l.call("POST", l.job+"/start", map[string]any{"criteria": map[string]any{"resetScope": "Full"}}).
		wantError(t, 400, "RequestParameterInvalid", "Property 'criteria' does not exist in the request body, which takes no properties.")
	l.call("POST", l.job+"/start", "not json").wantError(t, 400, "BadRequest", "not valid JSON")
	l.call("POST", l.job+"/pause", `{"force":true}`).wantError(t, 400, "RequestParameterInvalid", "'force'")
	l.wantCalls("refused start and pause")
	l.must(http.StatusNoContent, "POST", l.job+"/start", `{}`)
	l.must(http.StatusNoContent, "POST", l.job+"/start", `{"@odata.type":"#microsoft.graph.synchronizationJob"}`)
	l.wantJob("start again", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	l.wantCalls("start again", "Schedule", "Schedule")
	if p := l.stored().Status.ResetPending; p != 0 {
		t.Errorf("start with a restart body left resets pending: %v", p)
	}

	l.must(http.StatusNoContent, "POST", l.job+"/pause", nil)
	l.wantJob("pause", graphSchedule("PT40M", "Paused"), graphStatus("Paused", nil))
	l.wantCalls("pause", "Stop")
	l.must(http.StatusNoContent, "POST", l.job+"/pause", "{}")
	l.wantJob("pause again", graphSchedule("PT40M", "Paused"), graphStatus("Paused", nil))
	l.wantCalls("pause again", "Stop")

	l.must(http.StatusNoContent, "POST", l.job+"/start", nil)
	l.wantJob("start after pause", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	l.wantCalls("start after pause", "Schedule")

	// Restart with no body: the portal's restart, kept for the next cycle
	// (never shown in the status).
	l.must(http.StatusNoContent, "POST", l.job+"/pause", nil)
	l.must(http.StatusNoContent, "POST", l.job+"/restart", nil)
	l.wantJob("restart", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	l.wantCalls("restart", "Stop", "Schedule")
	if p := l.stored().Status.ResetPending; p != store.ResetWatermark|store.ResetEscrows {
		t.Errorf("after restart: pending %v, want Escrows,Watermark", p)
	}

	// Start lifts a quarantine; the count of failed cycles stays until a
	// restart resets the QuarantineState.
	quarantine := func() {
		l.update(func(j *store.Job) {
			j.Status.Code = store.StatusQuarantine
			j.Status.CountSuccessiveCompleteFailures = 3
			j.Status.Quarantine = &store.Quarantine{Reason: "EncounteredQuarantineException",
				CurrentBegan: lifecycleNow, NextAttempt: lifecycleNow.Add(time.Hour), SeriesBegan: lifecycleNow, SeriesCount: 1}
		})
	}
	quarantine()
	l.wantJob("quarantined", graphSchedule("PT40M", "Active"), graphStatus("Quarantine", map[string]any{
		"countSuccessiveCompleteFailures": float64(3),
		"quarantine": map[string]any{"currentBegan": "2026-02-03T04:05:06Z", "error": nil, "nextAttempt": "2026-02-03T05:05:06Z",
			"reason": "EncounteredQuarantineException", "seriesBegan": "2026-02-03T04:05:06Z", "seriesCount": float64(1)},
	}))
	l.must(http.StatusNoContent, "POST", l.job+"/start", nil)
	l.wantJob("start from quarantine", graphSchedule("PT40M", "Active"), graphStatus("Active", map[string]any{
		"countSuccessiveCompleteFailures": float64(3)}))
	quarantine()
	l.must(http.StatusNoContent, "POST", l.job+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "QuarantineState"}})
	l.wantJob("restart QuarantineState", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	l.wantCalls("from quarantine", "Schedule", "Schedule")

	// Pausing a quarantined job keeps its quarantine record (state kept).
	quarantine()
	l.must(http.StatusNoContent, "POST", l.job+"/pause", nil)
	if j := l.stored(); j.Status.Code != store.StatusPaused || j.Status.Quarantine == nil || j.Schedule.State != store.SchedulePaused {
		t.Errorf("pause of a quarantined job: code %s, quarantine %v, schedule %s", j.Status.Code, j.Status.Quarantine, j.Schedule.State)
	}
}

// TestRestartResetScope sends every form of restart and checks what is
// left for the next cycle.
func TestRestartResetScope(t *testing.T) {
	l := newLifecycleTest(t)
	l.putSecrets()
	portal := store.ResetWatermark | store.ResetEscrows // QuarantineState is done at once
	tests := []struct {
		name string
		body any
		want store.ResetScope
	}{
		{"no body", nil, portal},
		{"empty object", "{}", portal},
		{"null body", "null", portal},
		{"null criteria", `{"criteria":null}`, portal},
		{"empty criteria", `{"criteria":{}}`, portal},
		{"null resetScope", `{"criteria":{"resetScope":null}}`, portal},
		{"empty resetScope", `{"criteria":{"resetScope":""}}`, portal},
		{"docs example", `{"criteria":{"resetScope":"Watermark, Escrows, QuarantineState"}}`, portal},
		{"Go SDK spelling", `{"criteria":{"resetScope":"Watermark,Escrows"}}`, portal},
		{"case and spaces, duplicates", `{"criteria":{"resetScope":" watermark ,WATERMARK"}}`, store.ResetWatermark},
		{"None", `{"criteria":{"resetScope":"None"}}`, 0},
		{"Full", `{"criteria":{"resetScope":"Full"}}`, store.ResetConnectorDataStore | store.ResetEscrows | store.ResetWatermark},
		{"ForceDeletes", `{"criteria":{"resetScope":"ForceDeletes"}}`, store.ResetForceDeletes},
		{"ConnectorDataStore", `{"criteria":{"resetScope":"ConnectorDataStore"}}`, store.ResetConnectorDataStore},
		{"gzip, as the SDKs send it", gzipBody(t, `{"criteria":{"resetScope":"Escrows"}}`), store.ResetEscrows},
		{"OData annotations", `{"criteria":{"@odata.type":"#microsoft.graph.synchronizationJobRestartCriteria","resetScope":"Escrows"}}`, store.ResetEscrows},
	}
	for _, tt := range tests {
		l.update(func(j *store.Job) { j.Status.ResetPending = 0 })
		l.sched.took()
		l.must(http.StatusNoContent, "POST", l.job+"/restart", tt.body)
		j := l.stored()
		if j.Status.ResetPending != tt.want {
			t.Errorf("%s: pending %v, want %v", tt.name, j.Status.ResetPending, tt.want)
		}
		if j.Status.Code != store.StatusActive || j.Schedule.State != store.ScheduleActive {
			t.Errorf("%s: code %s, schedule %s; want Active, Active", tt.name, j.Status.Code, j.Schedule.State)
		}
		l.wantCalls(tt.name, "Schedule")
	}
}

// TestLifecycleErrors: every refusal is a Graph error envelope, changes
// nothing and tells no scheduler.
func TestLifecycleErrors(t *testing.T) {
	l := newLifecycleTest(t)
	l.putSecrets()
	valid := "None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes"
	restart := func(body any) response { return l.call("POST", l.job+"/restart", body) }

	restart(`{"criteria":{"resetScope":"Watermark, Foo"}}`).wantError(t, 400, "RequestParameterInvalid", "criteria.resetScope", "'Foo'", valid)
	restart(`{"criteria":{"resetScope":"15"}}`).wantError(t, 400, "RequestParameterInvalid", "'15'", valid)
	restart(`{"criteria":{"resetScope":"Watermark,,Escrows"}}`).wantError(t, 400, "RequestParameterInvalid", "empty", valid)
	restart(`{"criteria":{"resetScope":15}}`).wantError(t, 400, "BadRequest", "criteria.resetScope", "Edm.String", "a JSON number")
	restart(`{"criteria":"Full"}`).wantError(t, 400, "BadRequest", "'criteria'", "microsoft.graph.synchronizationJobRestartCriteria")
	restart(`{"criteria":`).wantError(t, 400, "BadRequest", "not valid JSON")
	restart(`{"criteria":{"resetScope":"Full","resetscope":"None"}}`).wantError(t, 400, "BadRequest", "resetscope", "'criteria'")
	restart(`[1]`).wantError(t, 400, "BadRequest", "JSON object")
	l.wantJob("after refused restarts", graphSchedule("P10675199DT2H48M5.4775807S", "Disabled"), graphStatus("NotRun", nil))
	l.wantCalls("refused restarts")

	for _, action := range []string{"start", "pause", "restart"} {
		l.call("POST", l.base+"/jobs/scim.nosuch/"+action, nil).wantError(t, 404, "Request_ResourceNotFound", "scim.nosuch")
		l.call("POST", "/v1.0/servicePrincipals/nosuch/synchronization/jobs/"+l.jobID+"/"+action, nil).wantError(t, 404, "Request_ResourceNotFound")
		l.call("GET", l.job+"/"+action, nil).wantError(t, 405, "Request_BadRequest", "POST")
	}

	// Read permission is not enough; the OData key syntax and any case
	// reach the same action.
	l.auth.principals["reader"] = auth.Principal{TenantID: adminPrincipal.TenantID, ObjectID: "7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b",
		Roles: []string{"Synchronization.Read.All"}}
	l.call("POST", l.job+"/start", nil, as("reader")).wantError(t, 403, "Authorization_RequestDenied")
	l.wantCalls("forbidden start")
	l.must(http.StatusNoContent, "POST", "/v1.0/servicePrincipals('"+l.spID+"')/synchronization/jobs('"+l.jobID+"')/Start", nil)
	l.wantCalls("OData key syntax", "Schedule")
}

// TestPatchJobSchedule: PATCH sets schedule.interval (canonical, at least
// PT1M), never the state; settings PATCH keeps working alongside.
func TestPatchJobSchedule(t *testing.T) {
	l := newLifecycleTest(t)
	patch := func(body any) response { return l.call("PATCH", l.job, body) }

	res := l.must(http.StatusOK, "PATCH", l.job, map[string]any{"schedule": map[string]any{"interval": "PT10M"}}).object(t)
	diff(t, "PATCH answer's schedule", res["schedule"], graphSchedule("PT10M", "Disabled"))
	diff(t, "GET schedule after PATCH", l.get()["schedule"], graphSchedule("PT10M", "Disabled"))

	l.must(http.StatusOK, "PATCH", l.job, map[string]any{"schedule": map[string]any{"interval": "PT1200S"}})
	diff(t, "interval written canonically", l.get()["schedule"], graphSchedule("PT20M", "Disabled"))

	// Start keeps a set interval; echoing the current state is no change.
	l.putSecrets()
	l.must(http.StatusNoContent, "POST", l.job+"/start", nil)
	diff(t, "schedule after start", l.get()["schedule"], graphSchedule("PT20M", "Active"))
	l.must(http.StatusOK, "PATCH", l.job, map[string]any{"schedule": map[string]any{"interval": "PT1H30M", "state": "Active", "expiration": nil}})
	diff(t, "schedule after PATCH echoing the state", l.get()["schedule"], graphSchedule("PT1H30M", "Active"))

	// Settings and schedule together, settings alone.
	l.must(http.StatusOK, "PATCH", l.job, map[string]any{"schedule": map[string]any{"interval": "PT5M"},
		"synchronizationJobSettings": []any{map[string]any{"name": "Custom", "value": "1"}}})
	l.must(http.StatusOK, "PATCH", l.job, map[string]any{"synchronizationJobSettings": []any{map[string]any{"name": "Other", "value": "2"}}})
	got := l.get()
	diff(t, "schedule after settings PATCH", got["schedule"], graphSchedule("PT5M", "Active"))
	diff(t, "settings", got["synchronizationJobSettings"], []any{
		map[string]any{"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
		map[string]any{"name": "Custom", "value": "1"}, map[string]any{"name": "Other", "value": "2"}})

	patch(map[string]any{"schedule": map[string]any{"interval": "PT30S"}}).wantError(t, 400, "BadRequest", "schedule.interval", "shorter than the minimum interval, PT1M")
	patch(map[string]any{"schedule": map[string]any{"interval": "10 minutes"}}).wantError(t, 400, "BadRequest", "schedule.interval", `"10 minutes" is not an ISO 8601 duration`, `"PT40M"`)
	patch(map[string]any{"schedule": map[string]any{"interval": "P1M"}}).wantError(t, 400, "BadRequest", "schedule.interval", "months")
	patch(map[string]any{"schedule": map[string]any{"interval": "P10675199DT2H48M5.4775807S"}}).wantError(t, 400, "BadRequest", "schedule.interval", "pause")
	patch(map[string]any{"schedule": map[string]any{"interval": 600}}).wantError(t, 400, "BadRequest", "schedule.interval", "Edm.Duration")
	patch(map[string]any{"schedule": "PT10M"}).wantError(t, 400, "BadRequest", "'schedule'", "microsoft.graph.synchronizationSchedule")
	patch(map[string]any{"schedule": map[string]any{}}).wantError(t, 400, "BadRequest", "schedule.interval", "required")
	patch(map[string]any{"schedule": map[string]any{"interval": "PT10M", "state": "Paused"}}).wantError(t, 400, "BadRequest", "schedule.state", "start", "pause")
	patch(map[string]any{"schedule": map[string]any{"state": "Disabled"}}).wantError(t, 400, "BadRequest")
	patch(map[string]any{"schedule": map[string]any{"interval": "PT10M", "expiration": "2030-01-01T00:00:00Z"}}).wantError(t, 400, "BadRequest", "schedule.expiration")
	patch(map[string]any{}).wantError(t, 400, "BadRequest", "synchronizationJobSettings", "schedule.interval")
	diff(t, "schedule after refused PATCHes", l.get()["schedule"], graphSchedule("PT5M", "Active"))
}

// TestLifecycleConcurrent sends starts and pauses of one job at once: the
// job must end with schedule and status agreeing, and the scheduler's
// last word must match them.
func TestLifecycleConcurrent(t *testing.T) {
	l := newLifecycleTest(t)
	l.putSecrets()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		action := []string{"start", "pause", "restart"}[i%3]
		wg.Go(func() {
			if res := l.call("POST", l.job+"/"+action, nil); res.status != http.StatusNoContent {
				errs <- fmt.Sprintf("%s: %d %s", action, res.status, res.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	calls := l.sched.took()
	if len(calls) != n {
		t.Fatalf("%d scheduler calls for %d requests", len(calls), n)
	}
	job := l.get()
	state := job["schedule"].(map[string]any)["state"]
	code := job["status"].(map[string]any)["code"]
	last := calls[n-1].Op
	switch {
	case state == "Active" && code == "Active" && last == "Schedule":
	case state == "Paused" && code == "Paused" && last == "Stop":
	default:
		t.Errorf("job ended with schedule %v, status %v, last scheduler call %s", state, code, last)
	}
}

// TestDeleteJobStopsCycles: DELETE stops the job's cycles while the job
// still exists, then deletes it.
func TestDeleteJobStopsCycles(t *testing.T) {
	l := newLifecycleTest(t)
	existed := false
	l.sched.onStop = func(spID, jobID string) {
		_, err := l.store.GetJob(context.Background(), spID, jobID)
		existed = err == nil
	}
	l.must(http.StatusNoContent, "DELETE", l.job, nil)
	l.wantCalls("delete", "Stop")
	if !existed {
		t.Error("the job was deleted before its cycles were stopped")
	}
	l.call("GET", l.job, nil).wantError(t, 404, "Request_ResourceNotFound")
	l.call("DELETE", l.job, nil).wantError(t, 404, "Request_ResourceNotFound")
	if c := l.sched.took(); len(c) != 0 {
		t.Errorf("deleting a missing job called the scheduler: %v", c)
	}
}

// A restart body naming a property its type lacks is a 400, not the
// default scope: a misspelt resetScope would lift a quarantine and drop
// escrows.
func TestRestartRefusesUnknownProperties(t *testing.T) {
	l := newLifecycleTest(t)
	l.putSecrets()
	l.must(http.StatusNoContent, "POST", l.job+"/start", nil)
	l.must(http.StatusNoContent, "POST", l.job+"/pause", nil)
	for _, body := range []string{
		`{"criteria":{"resetScopes":"Watermark"}}`,
		`{"criteria":{"resetScope":"Watermark","force":true}}`,
		`{"criterion":{"resetScope":"Watermark"}}`,
	} {
		res := l.call("POST", l.job+"/restart", body)
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "does not exist on type") {
			t.Errorf("restart %s: %d %s, want 400 naming the property", body, res.status, res.body)
		}
	}
	l.wantJob("after refused restarts", graphSchedule("PT40M", "Paused"), graphStatus("Paused", nil))
	// Annotations are not properties; names match as Graph's do, case folded.
	l.must(http.StatusNoContent, "POST", l.job+"/restart",
		`{"@odata.type":"#microsoft.graph.synchronizationJobRestartParameters","Criteria":{"@odata.type":"#microsoft.graph.synchronizationJobRestartCriteria","ResetScope":"Watermark"}}`)
	l.wantJob("restart", graphSchedule("PT40M", "Active"), graphStatus("Active", nil))
	if p := l.stored().Status.ResetPending; p != store.ResetWatermark {
		t.Errorf("after restart: pending %v, want Watermark", p)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector/scim/scimtest"
	"provisiond/logbuf"
	"provisiond/store"
)

// TestMetricsAfterOnDemandAndCycles scrapes /metrics over HTTP, without a
// token, on the production wiring: provisionOnDemand calls are timed by
// result, cycles are counted by kind and state with their objects by
// outcome, every request the SCIM target received is counted by method and
// status, the queue depth is read at scrape time, and nothing secret or
// identifying (the target's address, its token, object ids) is exposed.
func TestMetricsAfterOnDemandAndCycles(t *testing.T) {
	var reject atomic.Value // a SCIM path whose POSTs the target refuses with 400
	reject.Store("")
	var logs logbuf.Buffer
	e := newEnv(t, options{manualCycles: true, log: &logs, disrupt: func(r *http.Request) scimtest.Disruption {
		if r.Method == "POST" && r.URL.Path == reject.Load().(string) {
			return scimtest.Disruption{Status: 400}
		}
		return scimtest.Disruption{}
	}})
	e.setupApp()
	job := "job=" + strconv.Quote(e.jobID)

	samples, _ := e.scrape(t)
	if got := samples["provisiond_queue_depth"]; got != 0 {
		t.Errorf("queue depth before anything is scheduled = %v, want 0", got)
	}

	// provisionOnDemand: a success, a target's refusal, a request to fix.
	ada, _ := e.user("Ada", "Lovelace")
	bob, _ := e.user("Bob", "Bemer")
	e.assign(ada)
	e.assign(bob)
	if key, _ := e.onDemand(userSubject(ada)); key["result"] != "Success" {
		t.Fatalf("onDemand Ada: %v", key)
	}
	reject.Store("/Users")
	if key, _ := e.onDemand(userSubject(bob)); key["result"] != "Failure" {
		t.Fatalf("onDemand Bob with POST /Users refused: %v, want Failure", key)
	}
	reject.Store("")
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/provisionOnDemand",
		map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject("00000000-0000-0000-0000-00000000dead")}}}}, 404)
	samples, _ = e.scrape(t)
	want(t, samples, map[string]float64{
		`provisiond_ondemand_duration_seconds_count{result="Success"}`: 1,
		`provisiond_ondemand_duration_seconds_count{result="Failure"}`: 1,
		`provisiond_ondemand_duration_seconds_count{result="Refused"}`: 1,
	})
	if s := samples[`provisiond_ondemand_duration_seconds_sum{result="Success"}`]; s <= 0 {
		t.Errorf("provisionOnDemand duration sum = %v, want the time it took", s)
	}

	// An initial cycle: Bob and Carl created, Ada already there and Grace
	// not assigned (skipped), the group refused by the target.
	carl, _ := e.user("Carl", "Adam")
	e.user("Grace", "Hopper")
	e.assign(e.group("Metrics team", carl))
	e.activate(t)
	reject.Store("/Groups")
	st := e.cycle(t)
	reject.Store("")
	if le := st.LastExecution; le == nil || le.State != store.ExecutionEntryLevelErrors || le.CountEscrowed != 1 {
		t.Fatalf("initial cycle: %+v, want EntryLevelErrors with the group escrowed", le)
	}
	// The cycle's one log line has every count.
	var ended string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `msg="cycle ended"`) {
			ended = line
		}
	}
	for _, count := range []string{"state=EntryLevelErrors", "imported=5", "entitled=4", "skipped=1", "exported=2", "escrowed=1", "took="} {
		if !strings.Contains(ended, " "+count) {
			t.Errorf("the cycle's log line %q lacks %s", ended, count)
		}
	}
	// Nothing changed since: an idle incremental cycle.
	if st := e.cycle(t); st.LastExecution.State != store.ExecutionSucceeded {
		t.Fatalf("incremental cycle: %+v", st.LastExecution)
	}

	// Cycles waiting: one due now, one scheduled after the interval.
	ctx := context.Background()
	if err := e.app.Runner.Schedule(ctx, e.spID, e.jobID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Runner.Schedule(ctx, e.spID, e.jobID, time.Now()); err != nil {
		t.Fatal(err)
	}

	samples, raw := e.scrape(t)
	want(t, samples, map[string]float64{
		`provisiond_cycles_total{` + job + `,kind="initial",state="EntryLevelErrors"}`: 1,
		`provisiond_cycles_total{` + job + `,kind="incremental",state="Succeeded"}`:    1,
		`provisiond_cycle_duration_seconds_count{kind="initial"}`:                      1,
		`provisiond_cycle_duration_seconds_count{kind="incremental"}`:                  1,
		`provisiond_objects_total{action="Create",` + job + `,status="Success"}`:       2,
		`provisiond_objects_total{action="Other",` + job + `,status="Skipped"}`:        2,
		`provisiond_objects_total{action="Other",` + job + `,status="Failure"}`:        1,
		`provisiond_ondemand_duration_seconds_count{result="Success"}`:                 1,
		"provisiond_queue_depth": 2,
	})
	objects := 0
	for series := range samples {
		if strings.HasPrefix(series, "provisiond_objects_total{") {
			objects++
		}
	}
	if objects != 3 {
		t.Errorf("%d provisiond_objects_total series, want the 3 outcomes above", objects)
	}

	// Every request the target received, and only those, by method and
	// status.
	requests := map[string]float64{}
	for _, r := range e.scimSrv.Requests() {
		status := strconv.Itoa(r.Status)
		if r.Status == 0 {
			status = "error"
		}
		requests[fmt.Sprintf(`provisiond_target_requests_total{method=%q,status=%q}`, r.Method, status)]++
	}
	if requests[`provisiond_target_requests_total{method="POST",status="400"}`] != 2 {
		t.Fatalf("the target log has %v; want the two refused POSTs", requests)
	}
	got := map[string]float64{}
	var timed float64
	for series, v := range samples {
		if strings.HasPrefix(series, "provisiond_target_requests_total{") {
			got[series] = v
		}
		if strings.HasPrefix(series, "provisiond_target_request_duration_seconds_count{") {
			timed += v
		}
	}
	if d := cmp.Diff(requests, got); d != "" {
		t.Errorf("target requests counted (+) differ from those the target received (-):\n%s", d)
	}
	if n := float64(len(e.scimSrv.Requests())); timed != n {
		t.Errorf("%v target requests timed, want %v", timed, n)
	}

	for _, secret := range []string{strings.TrimPrefix(e.scimURL, "http://"), e.scimTok, ada, bob, carl, "/Users", "/Groups"} {
		if strings.Contains(raw, secret) {
			t.Errorf("/metrics exposes %q", secret)
		}
	}
}

// want checks samples against the series and values in w.
func want(t *testing.T, samples map[string]float64, w map[string]float64) {
	t.Helper()
	for series, v := range w {
		if got, ok := samples[series]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
}

// TestMetricsRoute: /metrics answers only GET, with Graph's 405 otherwise.
func TestMetricsRoute(t *testing.T) {
	e := newEnv(t, options{manualCycles: true})
	req, _ := http.NewRequest("POST", e.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /metrics: %d Allow %q, want 405 Allow GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scrape serves GET /metrics from m's handler and returns the status and
// body.
func scrape(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestHandlerExposesRecorded: what is recorded is served in Prometheus'
// text format with its labels, beside the Go runtime's metrics.
func TestHandlerExposesRecorded(t *testing.T) {
	m := New(nil)
	m.CycleEnded("scim.1", true, "Succeeded", 3*time.Second)
	m.CycleEnded("scim.1", false, "EntryLevelErrors", time.Second)
	m.CycleEnded("scim.1", false, "EntryLevelErrors", time.Second)
	m.ObjectProcessed("scim.1", "Success", "Create")
	m.ObjectProcessed("scim.1", "Failure", "Update")
	m.OnDemandEnded("Refused", 100*time.Millisecond)
	depth := 7
	m.QueueDepth(func(context.Context) (int, error) { return depth, nil })

	code, body := scrape(t, m)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	for _, want := range []string{
		`provisiond_cycles_total{job="scim.1",kind="initial",state="Succeeded"} 1`,
		`provisiond_cycles_total{job="scim.1",kind="incremental",state="EntryLevelErrors"} 2`,
		`provisiond_cycle_duration_seconds_count{kind="incremental"} 2`,
		`provisiond_cycle_duration_seconds_sum{kind="incremental"} 2`,
		`provisiond_cycle_duration_seconds_sum{kind="initial"} 3`,
		`provisiond_objects_total{action="Create",job="scim.1",status="Success"} 1`,
		`provisiond_objects_total{action="Update",job="scim.1",status="Failure"} 1`,
		`provisiond_ondemand_duration_seconds_count{result="Refused"} 1`,
		`provisiond_ondemand_duration_seconds_sum{result="Refused"} 0.1`,
		"provisiond_queue_depth 7",
		"# TYPE provisiond_queue_depth gauge",
	} {
		if !strings.Contains("\n"+body, "\n"+want+"\n") {
			t.Errorf("missing the line %q in:\n%s", want, body)
		}
	}
	if !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("no Go runtime metrics in:\n%s", body)
	}

	// The depth is read at each scrape.
	depth = 2
	if _, body := scrape(t, m); !strings.Contains(body, "provisiond_queue_depth 2\n") {
		t.Errorf("queue depth not read again at the second scrape:\n%s", body)
	}
}

// TestQueueDepthFailureKeepsTheRest: a queue that cannot be read leaves
// its gauge out and is logged; every other metric is still served.
func TestQueueDepthFailureKeepsTheRest(t *testing.T) {
	var logs bytes.Buffer
	m := New(slog.New(slog.NewTextHandler(&logs, nil)))
	m.CycleEnded("j", true, "Failed", time.Second)
	m.QueueDepth(func(context.Context) (int, error) { return 0, errors.New("database is locked") })
	code, body := scrape(t, m)
	if code != 200 {
		t.Fatalf("status %d, want 200 with what could be collected", code)
	}
	if strings.Contains(body, "provisiond_queue_depth ") {
		t.Errorf("a failed depth is served:\n%s", body)
	}
	if !strings.Contains(body, `provisiond_cycles_total{job="j",kind="initial",state="Failed"} 1`) {
		t.Errorf("the other metrics are missing:\n%s", body)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the failure is not logged: %q", logs.String())
	}
}

// TestRegistryIsOwn: two Metrics do not share (or clash on) a registry,
// and neither touches the process-wide default.
func TestRegistryIsOwn(t *testing.T) {
	a, b := New(nil), New(nil)
	a.OnDemandEnded("Success", time.Second)
	if _, body := scrape(t, b); strings.Contains(body, `provisiond_ondemand_duration_seconds_count{result="Success"}`) {
		t.Error("a call recorded on one Metrics shows on another")
	}
}

// TestNodeLabel: every metric of a node's Metrics, runtime ones included,
// says which node it is.
func TestNodeLabel(t *testing.T) {
	m := NewForNode(nil, "node-7")
	m.OnDemandEnded("Success", time.Second)
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) == 0 {
		t.Fatal("no metrics")
	}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			found := false
			for _, l := range metric.GetLabel() {
				found = found || (l.GetName() == "node" && l.GetValue() == "node-7")
			}
			if !found {
				t.Errorf("%s: labels %v lack node=node-7", f.GetName(), metric.GetLabel())
			}
		}
	}
}

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetricsFlag: serve answers GET /metrics without a token by
// default, and --metrics=false takes the path away (a Graph 404).
func TestServeMetricsFlag(t *testing.T) {
	get := func(base string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	on, _ := startDemo(t)
	if code, body := get(on); code != 200 || !strings.Contains(body, "# TYPE provisiond_queue_depth gauge") {
		t.Errorf("GET /metrics by default: %d\n%.300s", code, body)
	}
	off, _ := startDemo(t, "--metrics=false")
	if code, body := get(off); code != 404 || !strings.Contains(body, `"innerError"`) || strings.Contains(body, "provisiond_") {
		t.Errorf("GET /metrics with --metrics=false: %d %s, want a Graph 404", code, body)
	}
}

package metrics

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// roundTripFunc is a RoundTripper made of a function: the target.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// family returns the gathered metric family name, failing the test when
// it is missing.
func family(t *testing.T, m *Metrics, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no metric family %s", name)
	return nil
}

// series returns the metric of family name whose labels are exactly
// labels ("k=v" pairs), or nil.
func series(t *testing.T, m *Metrics, name string, labels ...string) *dto.Metric {
	t.Helper()
	for _, mt := range family(t, m, name).GetMetric() {
		var got []string
		for _, lp := range mt.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		if strings.Join(got, ",") == strings.Join(labels, ",") {
			return mt
		}
	}
	return nil
}

func counter(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	s := series(t, m, name, labels...)
	if s == nil {
		return 0
	}
	return s.GetCounter().GetValue()
}

// TestTransportCountsAndTimes: every request through the transport is
// counted by method and status code, or "error" when it got no response,
// and timed; the response and the error pass through untouched.
func TestTransportCountsAndTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(nil)
		errRefused := errors.New("connection refused")
		target := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			switch strings.TrimPrefix(r.URL.Path, "/scim/v2") {
			case "/slow":
				time.Sleep(2 * time.Second) // the bubble's clock: exact
			case "/down":
				time.Sleep(500 * time.Millisecond)
				return nil, errRefused
			case "/busy":
				return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("busy"))}, nil
			}
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok"))}, nil
		})
		c := &http.Client{Transport: m.Transport(target)}
		do := func(method, path string) (*http.Response, error) {
			req, _ := http.NewRequest(method, "https://scim.example.com/scim/v2"+path+"?filter=secret", nil)
			req.Header.Set("Authorization", "Bearer secret-token")
			return c.Do(req)
		}
		for _, path := range []string{"/slow", "/Users/1", "/Users/2"} {
			resp, err := do("GET", path)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
				t.Errorf("GET %s body = %q, want the target's", path, b)
			}
			resp.Body.Close()
		}
		if resp, err := do("POST", "/busy"); err != nil || resp.StatusCode != 503 {
			t.Fatalf("POST /busy: %v %v, want the target's 503", resp, err)
		}
		if _, err := do("DELETE", "/down"); !errors.Is(err, errRefused) {
			t.Fatalf("DELETE /down: %v, want the transport's error", err)
		}
		if _, err := do("PROPFIND", "/Users"); err != nil {
			t.Fatal(err)
		}

		counts := []struct {
			method, status string
			want           float64
		}{
			{"GET", "200", 3}, {"POST", "503", 1}, {"DELETE", "error", 1}, {"other", "200", 1},
		}
		for _, c := range counts {
			if got := counter(t, m, "provisiond_target_requests_total", "method="+c.method, "status="+c.status); got != c.want {
				t.Errorf("requests{method=%s,status=%s} = %v, want %v", c.method, c.status, got, c.want)
			}
		}
		total := len(family(t, m, "provisiond_target_requests_total").GetMetric())
		if total != len(counts) {
			t.Errorf("%d request series, want %d (no other labels)", total, len(counts))
		}

		durations := []struct {
			method string
			count  uint64
			sum    float64
		}{
			{"GET", 3, 2}, {"POST", 1, 0}, {"DELETE", 1, 0.5}, {"other", 1, 0},
		}
		for _, d := range durations {
			s := series(t, m, "provisiond_target_request_duration_seconds", "method="+d.method)
			if s == nil {
				t.Errorf("no duration series for %s", d.method)
				continue
			}
			if h := s.GetHistogram(); h.GetSampleCount() != d.count || h.GetSampleSum() != d.sum {
				t.Errorf("duration{method=%s}: %d samples summing %vs, want %d summing %vs", d.method, h.GetSampleCount(), h.GetSampleSum(), d.count, d.sum)
			}
		}
	})
}

// TestTransportNil: with metrics off the target's transport is used as it
// is, and recording does nothing.
func TestTransportNil(t *testing.T) {
	var m *Metrics
	next := http.DefaultTransport
	if got := m.Transport(next); got != next {
		t.Errorf("nil Metrics wrapped the transport: %T", got)
	}
	m.CycleEnded("job", true, "Succeeded", time.Second)
	m.ObjectProcessed("job", "Success", "Create")
	m.OnDemandEnded("Success", time.Second)
	m.QueueDepth(nil)
}

// TestTransportClosesIdleConnections: http.Client.CloseIdleConnections
// reaches the wrapped transport.
func TestTransportClosesIdleConnections(t *testing.T) {
	next := &closer{}
	(&http.Client{Transport: New(nil).Transport(next)}).CloseIdleConnections()
	if !next.closed {
		t.Error("CloseIdleConnections did not reach the wrapped transport")
	}
}

type closer struct {
	http.RoundTripper
	closed bool
}

func (c *closer) CloseIdleConnections() { c.closed = true }

package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Transport returns next counting and timing every request it sends:
// provisiond_target_requests_total{method,status} and
// provisiond_target_request_duration_seconds{method}. A request that gets
// no response (refused, timed out, cancelled) has status "error". The
// time is until the response headers arrive, as http.RoundTripper returns
// then. With a nil *Metrics it returns next.
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next, m: m}
}

type transport struct {
	next http.RoundTripper
	m    *Metrics
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	took := time.Since(start)
	method, status := methodLabel(r.Method), "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.targetRequests.WithLabelValues(method, status).Inc()
	t.m.targetDuration.WithLabelValues(method).Observe(took.Seconds())
	return resp, err
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// methodLabel keeps the label's values few: the methods HTTP defines, and
// "other" for anything else.
func methodLabel(m string) string {
	switch m {
	case "", http.MethodGet:
		return http.MethodGet // net/http sends an empty method as GET
	case http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

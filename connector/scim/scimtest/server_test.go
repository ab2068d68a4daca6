package scimtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector/scim/scimserver"
)

const tok = "t0k"

// send serves one request with the test token and returns the status, the
// header and the decoded body.
func send(t *testing.T, h http.Handler, method, target, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, target, rec.Body.String())
		}
	}
	return rec.Code, rec.Header(), m
}

func TestStatusDisruptionAndLog(t *testing.T) {
	fail := true
	s := NewServer(Options{Options: scimserver.Options{Token: tok}, Disrupt: func(r *http.Request) Disruption {
		if fail && r.Method == http.MethodPost {
			return Disruption{Status: http.StatusServiceUnavailable, RetryAfter: "7"}
		}
		return Disruption{}
	}})
	mux := http.NewServeMux()
	mux.Handle("/scim/", http.StripPrefix("/scim", s))
	status, hdr, body := send(t, mux, "POST", "/scim/Users?x=1", `{"userName":"f"}`)
	if status != 503 || hdr.Get("Retry-After") != "7" || body["status"] != "503" || len(s.Users()) != 0 {
		t.Errorf("disrupted POST = %d %v %v", status, hdr, body)
	}
	fail = false
	if status, _, body := send(t, mux, "POST", "/scim/Users", `{"userName":"f"}`); status != 201 {
		t.Fatalf("POST = %d %v", status, body)
	}
	reqs := s.Requests()
	want := Request{Method: "POST", Path: "/Users", Query: url.Values{"x": {"1"}}, Body: `{"userName":"f"}`, Status: 503}
	if diff := cmp.Diff(want, reqs[0]); diff != "" || len(reqs) != 2 || reqs[1].Status != 201 {
		t.Errorf("request log (-want +got):\n%s\n%+v", diff, reqs)
	}
	s.Reset()
	if len(s.Users()) != 0 || len(s.Requests()) != 0 {
		t.Error("Reset kept data")
	}
}

func TestDisrupt(t *testing.T) {
	var next Disruption
	s := NewServer(Options{Disrupt: func(*http.Request) Disruption { d := next; next = Disruption{}; return d }})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	post := func(timeout time.Duration) (int, error) {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/Users", strings.NewReader(`{"userName":"x`+time.Now().String()+`"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.ReadAll(resp.Body)
		return resp.StatusCode, nil
	}
	for _, tc := range []struct {
		name    string
		d       Disruption
		timeout time.Duration
		status  int  // the client sees; 0 for an error
		created bool // the user was stored
		logged  int  // the logged status
	}{
		{"status", Disruption{Status: 503, RetryAfter: "1"}, time.Second, 503, false, 503},
		{"status after effect", Disruption{Status: 500, AfterEffect: true}, time.Second, 500, true, 500},
		{"drop", Disruption{Drop: true}, time.Second, 0, false, 0},
		{"drop after effect", Disruption{Drop: true, AfterEffect: true}, time.Second, 0, true, 0},
		{"timeout", Disruption{Delay: 5 * time.Second, Status: 504}, 50 * time.Millisecond, 0, false, 504},
		{"timeout after effect", Disruption{Delay: 5 * time.Second, AfterEffect: true}, 50 * time.Millisecond, 0, true, 201},
		{"slow", Disruption{Delay: 10 * time.Millisecond}, time.Second, 201, true, 201},
	} {
		s.Reset()
		next = tc.d
		// A delayed answer shows as the client's own timeout (an error), not
		// as a late status: no wall-clock ceiling needed.
		status, err := post(tc.timeout)
		if status != tc.status || (err != nil) != (tc.status == 0) {
			t.Errorf("%s: POST = %d, %v; want %d", tc.name, status, err, tc.status)
		}
		deadline := time.Now().Add(2 * time.Second)
		for len(s.Requests()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := len(s.Users()) == 1; got != tc.created {
			t.Errorf("%s: created = %v, want %v", tc.name, got, tc.created)
		}
		if reqs := s.Requests(); len(reqs) != 1 || reqs[0].Status != tc.logged {
			t.Errorf("%s: log = %+v, want status %d", tc.name, reqs, tc.logged)
		}
		if tc.name == "timeout" && errors.Is(err, context.DeadlineExceeded) == false {
			t.Errorf("%s: error = %v, want a deadline", tc.name, err)
		}
	}
}

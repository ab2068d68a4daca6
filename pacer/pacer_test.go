package pacer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

type status int

func (s status) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	rec.WriteHeader(int(s))
	return rec.Result(), nil
}

type scripted struct{ codes []int }

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	c := s.codes[0]
	if len(s.codes) > 1 {
		s.codes = s.codes[1:]
	}
	return status(c).RoundTrip(r)
}

func get(t *testing.T, tr http.RoundTripper) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://target/Users", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// The ceiling holds: 20 requests at 10/s take about two seconds of (fake)
// time, never less.
func TestCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := New(status(200), 10)
		start := time.Now()
		for range 20 {
			get(t, tr)
		}
		if took := time.Since(start); took < time.Second {
			t.Errorf("20 requests at 10/s took %v, want at least 1s", took)
		}
		if tr.Limit() != 10 {
			t.Errorf("Limit = %v after successes, want the ceiling 10", tr.Limit())
		}
	})
}

// Overload halves the pace, down to the floor; successes bring it back up
// one request per second at a time, to the ceiling and no further.
func TestBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{codes: []int{429, 503, 500, 200}}
		tr := New(s, 8)
		want := []rate.Limit{4, 2, 1, 2}
		for i, w := range want {
			get(t, tr)
			if got := tr.Limit(); got != w {
				t.Fatalf("after answer %d: Limit = %v, want %v", i, got, w)
			}
		}
		for range 20 {
			get(t, tr)
		}
		if got := tr.Limit(); got != 8 {
			t.Errorf("Limit after recovering = %v, want the ceiling 8", got)
		}
		s.codes = []int{429}
		for range 10 {
			get(t, tr)
		}
		if got := tr.Limit(); got != minRate {
			t.Errorf("Limit under sustained overload = %v, want the floor %v", got, minRate)
		}
	})
}

// Without a ceiling, requests are unpaced until the target is overloaded.
func TestUnpacedUntilOverload(t *testing.T) {
	s := &scripted{codes: []int{200, 200, 429, 200}}
	tr := New(s, 0)
	get(t, tr)
	get(t, tr)
	if tr.Limit() != rate.Inf {
		t.Fatalf("Limit = %v, want unpaced", tr.Limit())
	}
	get(t, tr)
	if tr.Limit() != 50 {
		t.Fatalf("Limit after a 429 = %v, want 50", tr.Limit())
	}
}

// A caller that gives up stops waiting for its turn.
func TestWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := New(status(429), 1)
		get(t, tr) // now at the floor
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest("GET", "http://target/Users", nil).WithContext(ctx)
		get(t, tr)
		// The limiter says at once that the wait would outlast the context.
		if _, err := tr.RoundTrip(req); err == nil {
			t.Error("RoundTrip that cannot get its turn before its deadline succeeded")
		}
	})
}

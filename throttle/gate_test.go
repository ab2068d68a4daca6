package throttle

import (
	"testing"
	"time"
)

// Window decides exactly as a Limiter does, request by request.
func TestWindowMatchesLimiter(t *testing.T) {
	base := time.Unix(1000, 0)
	now := base
	lim := New(5, 10*time.Second, func() time.Time { return now })
	var accepts []time.Time
	// Bursts, gaps shorter and longer than the window, a clock that
	// steps back once.
	steps := []time.Duration{0, 0, time.Second, 0, 2 * time.Second, 0, 0, 3 * time.Second, 4 * time.Second,
		500 * time.Millisecond, -time.Second, 11 * time.Second, 0, 0, 0, 0, 0, 0, 9999 * time.Millisecond, time.Millisecond}
	for i, d := range steps {
		now = now.Add(d)
		wantOK, wantWait := lim.Allow("k")
		var ok bool
		var wait time.Duration
		ok, wait, accepts = Window(accepts, 5, 10*time.Second, now)
		if ok != wantOK || wait != wantWait {
			t.Fatalf("step %d (t=%v): Window = %v, %v; Limiter = %v, %v", i, now.Sub(base), ok, wait, wantOK, wantWait)
		}
		if len(accepts) > 5 {
			t.Fatalf("step %d: keeps %d accepts, want at most 5", i, len(accepts))
		}
	}
}

func TestSharedDisabled(t *testing.T) {
	var nilShared *Shared
	for _, g := range []Gate{nilShared, NewShared(0, 0, nil)} {
		if ok, _, err := g.Check(t.Context(), "k"); !ok || err != nil {
			t.Errorf("a disabled Shared refused: %v, %v", ok, err)
		}
	}
}

package throttle

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is a settable clock for table tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = epoch.Add(d)
}

// step is one Allow call at offset at from the epoch.
type step struct {
	at        time.Duration
	key       string
	wantOK    bool
	wantRetry time.Duration
}

func ok(at time.Duration, key string) step { return step{at: at, key: key, wantOK: true} }
func no(at time.Duration, key string, retry time.Duration) step {
	return step{at: at, key: key, wantRetry: retry}
}

func TestAllow(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		name  string
		limit int
		per   time.Duration
		steps []step
	}{
		{
			name: "burst then exact waits", limit: 5, per: 10 * s,
			steps: []step{
				ok(0, "a"), ok(0, "a"), ok(0, "a"), ok(0, "a"), ok(0, "a"),
				no(0, "a", 10*s), no(0, "a", 10*s),
				ok(0, "b"), // keys are independent
				no(2100*ms, "a", 7900*ms),
				no(9999*ms, "a", 1*ms),
				ok(10*s, "a"), ok(10*s, "a"), ok(10*s, "a"), ok(10*s, "a"), ok(10*s, "a"),
				no(10*s, "a", 10*s),
			},
		},
		{
			name: "spaced accepts leave one by one", limit: 5, per: 10 * s,
			steps: []step{
				ok(0, "a"), ok(1*s, "a"), ok(2*s, "a"), ok(3*s, "a"), ok(4*s, "a"),
				no(5*s, "a", 5*s),
				ok(10*s, "a"), // the t=0 accept left
				no(10*s, "a", 1*s),
				no(10500*ms, "a", 500*ms),
				ok(11*s, "a"),
				ok(12*s, "a"), ok(13*s, "a"), ok(14*s, "a"),
				no(14*s, "a", 6*s), // window now holds 10,11,12,13,14
				ok(20*s, "a"),
			},
		},
		{
			name: "rejections are not counted", limit: 2, per: 10 * s,
			steps: []step{
				ok(0, "k"), ok(0, "k"),
				no(5*s, "k", 5*s), no(9*s, "k", 1*s), no(9*s, "k", 1*s),
				ok(10*s, "k"), ok(10*s, "k"),
				no(10*s, "k", 10*s),
			},
		},
		{
			name: "limit one", limit: 1, per: time.Minute,
			steps: []step{
				ok(0, "x"), no(1*ms, "x", time.Minute-1*ms), no(59*s, "x", 1*s), ok(60*s, "x"), no(61*s, "x", 59*s),
			},
		},
		{
			name: "window boundary is inclusive of per", limit: 3, per: 100 * ms,
			steps: []step{
				ok(0, "k"), ok(50*ms, "k"), ok(99*ms, "k"),
				no(99*ms, "k", 1*ms),
				ok(100*ms, "k"),
				no(100*ms, "k", 50*ms),
				ok(150*ms, "k"),
				ok(199*ms, "k"),
			},
		},
		{
			name: "clock running backwards is clamped", limit: 2, per: 10 * s,
			steps: []step{
				ok(5*s, "k"), ok(5*s, "k"),
				no(3*s, "k", 10*s), // read as 5s: the latest reading
				no(14*s, "k", 1*s),
				ok(15*s, "k"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{}
			l := New(tt.limit, tt.per, clk.now)
			for i, st := range tt.steps {
				clk.set(st.at)
				gotOK, gotRetry := l.Allow(st.key)
				if gotOK != st.wantOK || gotRetry != st.wantRetry {
					t.Fatalf("step %d (t=%v key %q): Allow = (%v, %v), want (%v, %v)",
						i, st.at, st.key, gotOK, gotRetry, st.wantOK, st.wantRetry)
				}
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	var nilLimiter *Limiter
	for name, l := range map[string]*Limiter{"nil": nilLimiter, "zero": New(0, 0, nil), "negative": New(-1, time.Second, nil)} {
		for i := range 100 {
			if ok, retry := l.Allow("k"); !ok || retry != 0 {
				t.Fatalf("%s: call %d: Allow = (%v, %v), want (true, 0)", name, i, ok, retry)
			}
		}
	}
}

func TestNewPanicsOnNonPositivePer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(5, 0, nil) did not panic")
		}
	}()
	New(5, 0, nil)
}

func TestEvictsIdleKeys(t *testing.T) {
	clk := &fakeClock{}
	l := New(3, 10*time.Second, clk.now)
	clk.set(0)
	for i := range 1000 {
		l.Allow("key-" + strconv.Itoa(i))
	}
	clk.set(5 * time.Second)
	l.Allow("recent")
	if got := len(l.keys); got != 1001 {
		t.Fatalf("tracked keys = %d, want 1001", got)
	}
	// At 10 s the 1000 keys' accepts have left the window; "recent" has not.
	clk.set(10 * time.Second)
	l.Allow("other")
	if got := len(l.keys); got != 2 {
		t.Fatalf("after a window: tracked keys = %d, want 2 (recent, other)", got)
	}
	// An evicted key starts afresh, as if never seen.
	for range 3 {
		if ok, _ := l.Allow("key-1"); !ok {
			t.Fatal("evicted key was not allowed a fresh burst")
		}
	}
	if ok, retry := l.Allow("key-1"); ok || retry != 10*time.Second {
		t.Fatalf("Allow = (%v, %v), want (false, 10s)", ok, retry)
	}
}

// TestSynctest drives time.Now itself through bursts inside a synctest bubble.
func TestSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(5, 10*time.Second, nil)
		start := time.Now()
		check := func(wantOK bool, wantRetry time.Duration) {
			t.Helper()
			if ok, retry := l.Allow("sp1/job1"); ok != wantOK || retry != wantRetry {
				t.Fatalf("at +%v: Allow = (%v, %v), want (%v, %v)", time.Since(start), ok, retry, wantOK, wantRetry)
			}
		}
		for range 5 {
			check(true, 0)
		}
		check(false, 10*time.Second)
		check(false, 10*time.Second)

		time.Sleep(2100 * time.Millisecond)
		check(false, 7900*time.Millisecond)

		// A client honouring Retry-After exactly is accepted (at +10 s).
		_, retry := l.Allow("sp1/job1")
		time.Sleep(retry)
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("slept until +%v, want +10s", got)
		}
		check(true, 0)
		for range 4 {
			check(true, 0)
		}
		check(false, 10*time.Second)

		// Spread requests, one every 3 s, at +20, 23, 26, 29 and 32 s. At
		// +35 s the window (25 s, 35 s] holds three of them: two more fit,
		// then the wait is until the +26 s accept leaves, at +36 s.
		time.Sleep(10 * time.Second)
		for range 5 {
			check(true, 0)
			time.Sleep(3 * time.Second)
		}
		check(true, 0)
		check(true, 0)
		check(false, 1*time.Second)
		if got := RetryAfterHeader(7900 * time.Millisecond); got != "8" {
			t.Errorf("RetryAfterHeader(7.9s) = %q, want 8", got)
		}
	})
}

// TestConcurrentExact hammers one key from 50 goroutines while a fake clock
// advances on every reading, then replays all decisions in clock order and
// checks each one: an accept when fewer than limit accepts are in the
// preceding window, a reject with the exact wait otherwise, and no window
// of length per holding more than limit accepts.
func TestConcurrentExact(t *testing.T) {
	const (
		limit      = 5
		per        = 100 * time.Millisecond
		goroutines = 50
		calls      = 400
	)
	var ticks atomic.Int64
	clock := func() time.Time {
		n := ticks.Add(1)
		// Strictly increasing, uneven steps of 100.3 µs .. 299.7 µs.
		return epoch.Add(time.Duration(n)*200*time.Microsecond + time.Duration(n*n%997)*100*time.Nanosecond)
	}
	// The clock must be strictly increasing for the replay to be exact.
	var prev time.Time
	for i := range int64(100000) {
		ticks.Store(i)
		now := clock()
		if !now.After(prev) {
			t.Fatalf("test clock not increasing at tick %d", i)
		}
		prev = now
	}
	ticks.Store(0)

	l := New(limit, per, clock)
	type decision struct {
		at    time.Time
		ok    bool
		retry time.Duration
	}
	results := make([][]decision, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range calls {
				ok, retry, at := l.allow("sp/job")
				results[g] = append(results[g], decision{at, ok, retry})
			}
		})
	}
	wg.Wait()

	var all []decision
	for _, r := range results {
		all = append(all, r...)
	}
	slices.SortFunc(all, func(a, b decision) int { return a.at.Compare(b.at) })
	var accepted []time.Time
	var window []time.Time // accepts in (at-per, at]
	for i, d := range all {
		if i > 0 && !d.at.After(all[i-1].at) {
			t.Fatalf("two decisions at the same instant %v", d.at)
		}
		for len(window) > 0 && !window[0].After(d.at.Add(-per)) {
			window = window[1:]
		}
		switch {
		case d.ok && len(window) >= limit:
			t.Fatalf("decision %d at %v accepted with %d accepts in the window", i, d.at, len(window))
		case d.ok:
			window = append(window, d.at)
			accepted = append(accepted, d.at)
		case len(window) < limit:
			t.Fatalf("decision %d at %v rejected with only %d accepts in the window", i, d.at, len(window))
		case d.retry != window[0].Add(per).Sub(d.at):
			t.Fatalf("decision %d at %v: retry %v, want %v", i, d.at, d.retry, window[0].Add(per).Sub(d.at))
		}
	}
	for i := 0; i+limit < len(accepted); i++ {
		if span := accepted[i+limit].Sub(accepted[i]); span < per {
			t.Fatalf("accepts %d..%d span %v < %v: %d accepts in one window", i, i+limit, span, per, limit+1)
		}
	}
	if len(accepted) < limit {
		t.Fatalf("only %d accepts", len(accepted))
	}
	t.Logf("%d decisions, %d accepted", len(all), len(accepted))
}

func TestRetryAfterHeader(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"}, {-time.Second, "1"}, {time.Nanosecond, "1"}, {time.Second, "1"},
		{1001 * time.Millisecond, "2"}, {7900 * time.Millisecond, "8"}, {10 * time.Second, "10"},
	} {
		if got := RetryAfterHeader(tt.d); got != tt.want {
			t.Errorf("RetryAfterHeader(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	b.Run("one key", func(b *testing.B) {
		l := New(5, 10*time.Second, nil)
		for b.Loop() {
			l.Allow("sp1/job1")
		}
	})
	b.Run("many keys parallel", func(b *testing.B) {
		l := New(5, 10*time.Second, nil)
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("sp%d/job", i)
		}
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(n.Add(1))
			for pb.Next() {
				l.Allow(keys[i%len(keys)])
				i++
			}
		})
	})
}

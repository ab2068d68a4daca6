package throttle

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// Limiter enforces "at most limit accepted requests in any window of length
// per" for each key. A nil *Limiter, or one built with limit <= 0, accepts
// everything. It is safe for concurrent use.
type Limiter struct {
	limit int
	per   time.Duration
	now   func() time.Time

	mu        sync.Mutex
	keys      map[string]*window
	last      time.Time // latest clock reading; readings never go back before it
	lastSweep time.Time
}

// window is the ring of the last (up to limit) accepted timestamps of a key,
// oldest first starting at head. Timestamps are non-decreasing.
type window struct {
	ts   []time.Time
	head int // index of the oldest timestamp once len(ts) == limit
}

func (w *window) newest() time.Time {
	if len(w.ts) < cap(w.ts) || w.head == 0 {
		return w.ts[len(w.ts)-1]
	}
	return w.ts[w.head-1]
}

// New returns a Limiter allowing limit requests per key in any window of
// length per. now is the clock (nil means time.Now). A limit <= 0 disables
// limiting. New panics if limit > 0 and per <= 0.
func New(limit int, per time.Duration, now func() time.Time) *Limiter {
	if limit > 0 && per <= 0 {
		panic("throttle: per must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: limit, per: per, now: now, keys: make(map[string]*window)}
}

// Limit returns the configured limit: at most n requests in any window of
// length per (n <= 0: no limit).
func (l *Limiter) Limit() (n int, per time.Duration) {
	if l == nil {
		return 0, 0
	}
	return l.limit, l.per
}

// Allow reports whether a request for key may proceed now, and counts it if
// so. When it may not, retryAfter is the exact time until it would be
// accepted (the oldest of the last limit accepts leaves the window); rejected
// requests are not counted.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	ok, retryAfter, _ = l.allow(key)
	return ok, retryAfter
}

// allow is Allow that also returns the clock reading the decision used.
func (l *Limiter) allow(key string) (ok bool, retryAfter time.Duration, at time.Time) {
	if l == nil || l.limit <= 0 {
		return true, 0, time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	// Read the clock under the lock so that accepts are recorded in clock
	// order; never let an injected clock run backwards.
	now := l.now()
	if now.Before(l.last) {
		now = l.last
	}
	l.last = now
	if now.Sub(l.lastSweep) >= l.per {
		l.sweep(now)
	}

	w := l.keys[key]
	if w == nil {
		w = &window{ts: make([]time.Time, 0, min(l.limit, 16))}
		l.keys[key] = w
	}
	if len(w.ts) < l.limit {
		if len(w.ts) == cap(w.ts) {
			grown := make([]time.Time, len(w.ts), min(l.limit, 2*cap(w.ts)))
			copy(grown, w.ts)
			w.ts = grown
		}
		w.ts = append(w.ts, now)
		return true, 0, now
	}
	oldest := w.ts[w.head]
	if wait := oldest.Add(l.per).Sub(now); wait > 0 {
		return false, wait, now
	}
	w.ts[w.head] = now
	w.head = (w.head + 1) % l.limit
	return true, 0, now
}

// sweep drops keys whose newest accept has left the window: such a key
// behaves exactly like a key never seen.
func (l *Limiter) sweep(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.newest()) >= l.per {
			delete(l.keys, k)
		}
	}
	l.lastSweep = now
}

// RetryAfterHeader formats d as a Retry-After header value: whole seconds,
// rounded up so that a client honouring it is accepted, and at least 1.
func RetryAfterHeader(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

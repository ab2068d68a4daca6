package throttle

import (
	"context"
	"time"
)

// Gate is a rate limit a request is checked against: a Limiter in one
// process, or a Shared limit that the nodes of a cluster keep together.
type Gate interface {
	// Check reports whether a request for key may proceed now, counting
	// it if so; when not, retryAfter is the exact wait. err means the
	// limit could not be checked (its store is unreachable).
	Check(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
	// Limit is at most n requests in any window of length per.
	Limit() (n int, per time.Duration)
}

// Check implements Gate.
func (l *Limiter) Check(_ context.Context, key string) (bool, time.Duration, error) {
	ok, wait := l.Allow(key)
	return ok, wait, nil
}

// Window decides one request against the exact sliding window "at most n
// accepts in any window of length per", given the times of the last (up
// to n) accepts, oldest first, and the time now: it returns whether the
// request is accepted, the wait when it is not, and the accepts to keep.
// It is the rule a Limiter applies, for limits kept elsewhere (Shared).
func Window(accepts []time.Time, n int, per time.Duration, now time.Time) (ok bool, retryAfter time.Duration, keep []time.Time) {
	if len(accepts) > 0 && now.Before(accepts[len(accepts)-1]) {
		now = accepts[len(accepts)-1] // readings never go back
	}
	if len(accepts) > n {
		accepts = accepts[len(accepts)-n:]
	}
	if len(accepts) < n {
		return true, 0, append(accepts, now)
	}
	if wait := accepts[0].Add(per).Sub(now); wait > 0 {
		return false, wait, accepts
	}
	return true, 0, append(accepts[1:], now)
}

// Counter applies Window atomically to the accepts stored for key (a row
// locked while it decides), with the store's clock, so that every process
// sharing the store sees one window.
type Counter func(ctx context.Context, key string, n int, per time.Duration) (ok bool, retryAfter time.Duration, err error)

// Shared is a limit kept by a Counter: the same exact window for every
// node of a cluster.
type Shared struct {
	n       int
	per     time.Duration
	counter Counter
}

// NewShared returns the limit "at most n requests per key in any window
// of length per" kept by c. It panics if n > 0 and per <= 0.
func NewShared(n int, per time.Duration, c Counter) *Shared {
	if n > 0 && per <= 0 {
		panic("throttle: per must be positive")
	}
	return &Shared{n: n, per: per, counter: c}
}

// Check implements Gate.
func (s *Shared) Check(ctx context.Context, key string) (bool, time.Duration, error) {
	if s == nil || s.n <= 0 {
		return true, 0, nil
	}
	return s.counter(ctx, key, s.n, s.per)
}

// Limit implements Gate.
func (s *Shared) Limit() (int, time.Duration) {
	if s == nil {
		return 0, 0
	}
	return s.n, s.per
}

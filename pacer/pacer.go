// Package pacer paces the requests provisiond sends to one target: never
// faster than the rate the operator allows, slower while the target says it
// is overloaded (429, 503, other 5xx), and back up again as it recovers —
// additive increase, multiplicative decrease, as TCP does.
package pacer

import (
	"net/http"
	"sync"

	"golang.org/x/time/rate"
)

// minRate is the slowest a pacer goes: one request every two seconds.
const minRate = 0.5

// Transport is an http.RoundTripper that paces requests through Base.
type Transport struct {
	Base http.RoundTripper

	mu      sync.Mutex
	max     rate.Limit
	limiter *rate.Limiter
}

// New returns a Transport allowing at most perSecond requests per second
// (perSecond <= 0: no ceiling, but still slowing down on overload from the
// pace it observed, starting at 100/s).
func New(base http.RoundTripper, perSecond float64) *Transport {
	max := rate.Limit(perSecond)
	if perSecond <= 0 {
		max = rate.Inf
	}
	return &Transport{Base: base, max: max, limiter: rate.NewLimiter(max, burst(max))}
}

func burst(l rate.Limit) int {
	if l == rate.Inf || l >= 10 {
		return 10
	}
	return 1
}

// Limit is the current pace in requests per second (rate.Inf: unpaced).
func (t *Transport) Limit() rate.Limit {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limiter.Limit()
}

// RoundTrip implements http.RoundTripper. It waits for its turn, or for
// the request's context to end.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	l := t.limiter
	t.mu.Unlock()
	if err := l.Wait(req.Context()); err != nil {
		return nil, err
	}
	resp, err := t.Base.RoundTrip(req)
	if err == nil {
		t.observe(resp.StatusCode)
	}
	return resp, err
}

// observe adapts the pace to an answer: halve on overload, add one request
// per second on success, never above the ceiling.
func (t *Transport) observe(status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.limiter.Limit()
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		next := cur / 2
		if cur == rate.Inf {
			next = 50 // from unpaced: start from a pace a server can take
		}
		t.limiter.SetLimit(max(next, minRate))
		t.limiter.SetBurst(1)
	case status < 400 && cur != t.max:
		next := cur + 1
		if t.max != rate.Inf && next >= t.max {
			next = t.max
		}
		if t.max == rate.Inf && next >= 100 {
			next = rate.Inf // recovered: unpaced again
		}
		t.limiter.SetLimit(next)
		t.limiter.SetBurst(burst(next))
	}
}

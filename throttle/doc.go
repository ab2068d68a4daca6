// Package throttle implements exact sliding-window rate limits: at most N
// accepted requests per key inside any window of length D, with a
// Retry-After that is the true remaining wait rather than an estimate.
//
// provisiond uses it for provisionOnDemand, which Graph limits to 5 requests
// per 10 seconds (serve --ondemand-limit changes it); graphapi keys the
// limiter by tenant and service principal and answers a rejected call with
// 429 Too Many Requests and a Retry-After header (see RetryAfterHeader).
//
// A Limiter keeps, per key, a ring of the timestamps of the last N accepted
// requests. A request is accepted if fewer than N were accepted so far or the
// oldest of the last N is at least D old; otherwise it is rejected (and not
// counted) and the caller learns exactly when the oldest accept leaves the
// window. Keys whose newest accept is older than D are evicted, so memory is
// bounded by the keys active within the last window.
package throttle

package throttle

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxLimit caps the request count ParseLimit accepts; a Limiter keeps up to
// that many timestamps per key.
const MaxLimit = 1_000_000

// ParseLimit parses a flag value of the form "N/D": N requests per duration
// D, where D is a time.ParseDuration string ("10s", "1m30s") or a bare unit
// meaning one of it ("s", "m", "h"); "5/10s" is five requests in any ten
// seconds. "0", "off" (any case) and "0/D" disable limiting and return limit 0.
func ParseLimit(s string) (limit int, per time.Duration, err error) {
	s = strings.TrimSpace(s)
	if s == "0" || strings.EqualFold(s, "off") {
		return 0, 0, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("invalid limit %q: want N/DURATION (like 5/10s), 0 or off", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 0 {
		return 0, 0, fmt.Errorf("invalid limit %q: request count must be a non-negative integer", s)
	}
	if n > MaxLimit {
		return 0, 0, fmt.Errorf("invalid limit %q: request count must be at most %d", s, MaxLimit)
	}
	ds = strings.TrimSpace(ds)
	switch ds {
	case "ns", "us", "µs", "ms", "s", "m", "h":
		ds = "1" + ds
	}
	d, err := time.ParseDuration(ds)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid limit %q: invalid duration %q", s, ds)
	}
	if d <= 0 {
		return 0, 0, fmt.Errorf("invalid limit %q: duration must be positive", s)
	}
	if n == 0 {
		return 0, 0, nil
	}
	return n, d, nil
}

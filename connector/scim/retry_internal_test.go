package scim

import (
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want float64
	}{
		{"", 0}, {"  ", 0}, {"7", 7}, {" 7 ", 7}, {"0", 0}, {"1.5", 1.5}, {"-3", 0}, {"NaN", 0}, {"+Inf", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Sun, 06 Nov 1994 08:49:37 GMT", 0},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// FuzzRetryAfter checks that any Retry-After header yields a finite,
// non-negative wait, that delay-seconds are read exactly, and that the
// wait the client derives from it never exceeds MaxRetryWait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "1.5", "-1", "1e400", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 29 Nov 2026 07:00:00 GMT", "  3  "} {
		f.Add(s, int64(5*time.Second), 1)
	}
	f.Add("9223372036.854775807", int64(math.MaxInt64), 3)
	f.Add("1", int64(-1), 70)
	now := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string, ns int64, n int) {
		s := retryAfter(h, now)
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("retryAfter(%q) = %v", h, s)
		}
		if v, err := strconv.ParseUint(h, 10, 32); err == nil && s != float64(v) {
			t.Fatalf("retryAfter(%q) = %v, want %d", h, s, v)
		}
		limit := time.Duration(ns)
		for _, status := range []int{429, 503, 500} {
			d, ok := retryDelay(status, s, n, limit)
			if !ok {
				if s <= limit.Seconds() || status == 500 {
					t.Fatalf("retryDelay(%d, %v, %d, %v) refused", status, s, n, limit)
				}
				continue
			}
			if d < 0 || d > max(limit, 0) {
				t.Fatalf("retryDelay(%d, %v, %d, %v) = %v", status, s, n, limit, d)
			}
		}
	})
}

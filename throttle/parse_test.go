package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in        string
		wantLimit int
		wantPer   time.Duration
		wantErr   bool
	}{
		{in: "5/10s", wantLimit: 5, wantPer: 10 * time.Second},
		{in: " 5 / 10s ", wantLimit: 5, wantPer: 10 * time.Second},
		{in: "40/s", wantLimit: 40, wantPer: time.Second},
		{in: "100/m", wantLimit: 100, wantPer: time.Minute},
		{in: "3/1h30m", wantLimit: 3, wantPer: 90 * time.Minute},
		{in: "1/250ms", wantLimit: 1, wantPer: 250 * time.Millisecond},
		{in: "0"},
		{in: "off"},
		{in: "OFF"},
		{in: "0/10s"},
		{in: "", wantErr: true},
		{in: "5", wantErr: true},
		{in: "5/", wantErr: true},
		{in: "/10s", wantErr: true},
		{in: "-1/10s", wantErr: true},
		{in: "5/-10s", wantErr: true},
		{in: "5/0s", wantErr: true},
		{in: "5/10", wantErr: true},
		{in: "x/10s", wantErr: true},
		{in: "5/10s/2", wantErr: true},
		{in: "1000001/s", wantErr: true},
		{in: "99999999999999999999/s", wantErr: true},
	}
	for _, tt := range tests {
		limit, per, err := ParseLimit(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseLimit(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if limit != tt.wantLimit || per != tt.wantPer {
			t.Errorf("ParseLimit(%q) = (%d, %v), want (%d, %v)", tt.in, limit, per, tt.wantLimit, tt.wantPer)
		}
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"5/10s", "0", "off", "40/s", "1/1h2m3s", "-1/s", "5/0", "/", "9/µs", "1/9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limit, per, err := ParseLimit(s)
		if err != nil {
			if limit != 0 || per != 0 {
				t.Fatalf("ParseLimit(%q) = (%d, %v, %v): non-zero values with an error", s, limit, per, err)
			}
			return
		}
		if limit == 0 {
			if per != 0 {
				t.Fatalf("ParseLimit(%q): disabled limit with per %v", s, per)
			}
			return
		}
		if limit < 0 || limit > MaxLimit || per <= 0 {
			t.Fatalf("ParseLimit(%q) = (%d, %v): out of range", s, limit, per)
		}
		// The canonical form parses back to the same values.
		canon := fmt.Sprintf("%d/%s", limit, per)
		l2, p2, err := ParseLimit(canon)
		if err != nil || l2 != limit || p2 != per {
			t.Fatalf("ParseLimit(%q) = (%d, %v, %v), want (%d, %v)", canon, l2, p2, err, limit, per)
		}
		New(limit, per, nil).Allow("k")
	})
}

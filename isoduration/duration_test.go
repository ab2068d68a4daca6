package isoduration

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"PT40M", 40 * time.Minute},
		{"P1DT2H", 26 * time.Hour},
		{"PT0.5S", 500 * time.Millisecond},
		{"PT0S", 0},
		{"P0D", 0},
		{"-PT0S", 0},
		{"P1D", 24 * time.Hour},
		{"PT1H30M", 90 * time.Minute},
		{"PT600S", 10 * time.Minute},
		{"PT90M", 90 * time.Minute},
		{"P1DT2H3M4.5S", 26*time.Hour + 3*time.Minute + 4500*time.Millisecond},
		{"-PT5M", -5 * time.Minute},
		{"PT0,25S", 250 * time.Millisecond},
		{"PT1.123456789S", time.Second + 123456789},
		{"PT1.1234567899S", time.Second + 123456789}, // beyond nanoseconds: truncated
		{"PT0000040M", 40 * time.Minute},
		// .NET's TimeSpan.MaxValue (a disabled schedule) and anything else
		// longer than a time.Duration: Never, not an overflow.
		{MaxValue, Never},
		{"P106751DT23H47M16.854775807S", Never}, // exactly math.MaxInt64 ns
		{"P106751DT23H47M16.854775808S", Never},
		{"P99999999999999999999D", Never},
		{"PT99999999999999999999999999S", Never},
		{"P106751DT23H47M16.854775806S", Never - 1},
		{"-P106751DT23H47M16.854775808S", math.MinInt64},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", `must start with "P"`},
		{"40M", `must start with "P"`},
		{"pt40m", `must start with "P"`},
		{"10 minutes", `must start with "P"`},
		{"P", "has no parts"},
		{"-P", "has no parts"},
		{"PT", `"T" must be followed by`},
		{"P1DT", `"T" must be followed by`},
		{"PT40", "no designator"},
		{"PT40m", "not a designator"},
		{"PTXS", "expected a number"},
		{"PT.5S", "expected a number"},
		{"PT1.S", "digits after the decimal point"},
		{"P1M", "years and months have no fixed length"},
		{"P1Y", "years and months have no fixed length"},
		{"P2W", "weeks as days"},
		{"P40M", "years and months"},
		{"PT1D", `days come before the "T"`},
		{"P1H", `come after a "T", as in "PT1H"`},
		{"P5S", `come after a "T"`},
		{"PT5M3H", "out of place"},
		{"PT5M5M", "out of place"},
		{"PT1HT2M", `"T" appears twice`},
		{"PT1.5H", "only the seconds may have a fraction"},
		{"P1.5D", "only the seconds may have a fraction"},
		{"-P99999999999999999999D", "too far in the past"},
		{"-P106751DT23H47M16.854775809S", "too far in the past"},
		{"--PT1M", `must start with "P"`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error saying %q", tt.in, got, tt.reason)
			continue
		}
		if _, ok := err.(*SyntaxError); !ok || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("Parse(%q) error = %v, want a *SyntaxError saying %q", tt.in, err, tt.reason)
		}
	}
}

func TestSyntaxErrorShortensInput(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a 10000-byte input is %d bytes: %v", len(err.Error()), err)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{40 * time.Minute, "PT40M"},
		{26 * time.Hour, "P1DT2H"},
		{500 * time.Millisecond, "PT0.5S"},
		{0, "PT0S"},
		{24 * time.Hour, "P1D"},
		{time.Minute, "PT1M"},
		{90 * time.Minute, "PT1H30M"},
		{time.Hour + time.Second, "PT1H1S"},
		{24*time.Hour + time.Nanosecond, "P1DT0.000000001S"},
		{-5 * time.Minute, "-PT5M"},
		{Never, MaxValue},
		{math.MinInt64, "-P106751DT23H47M16.854775808S"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics and that what it accepts
// formats to a canonical string it reads back to the same duration.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"PT40M", "P1DT2H", "PT0.5S", MaxValue, "-PT5M", "P", "PT", "P1M", "PT1.5H",
		"P99999999999999999999D", "-P106751DT23H47M16.854775808S", "PT0,25S", "P1DT2H3M4.5S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", s, err)
			}
			return
		}
		canon := Format(d)
		back, err := Parse(canon)
		if err != nil || back != d {
			t.Fatalf("Parse(%q) = %v; Format = %q; Parse again = %v, %v", s, d, canon, back, err)
		}
		if again := Format(back); again != canon {
			t.Fatalf("Format is not canonical: %q then %q", canon, again)
		}
	})
}

// FuzzFormat checks that every duration survives Format and Parse.
func FuzzFormat(f *testing.F) {
	for _, d := range []int64{0, 1, -1, int64(40 * time.Minute), math.MaxInt64, math.MinInt64, math.MaxInt64 - 1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		d := time.Duration(n)
		s := Format(d)
		back, err := Parse(s)
		if err != nil || back != d {
			t.Fatalf("Format(%d) = %q; Parse = %v, %v", n, s, back, err)
		}
	})
}

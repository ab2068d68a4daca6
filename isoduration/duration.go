package isoduration

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Never is the largest duration. Parse returns it for any duration too
// long for a time.Duration, TimeSpan.MaxValue among them; Format writes it
// as MaxValue.
const Never time.Duration = math.MaxInt64

// MaxValue is .NET's TimeSpan.MaxValue as Graph writes it: the interval of
// a schedule that never runs.
const MaxValue = "P10675199DT2H48M5.4775807S"

const day = 24 * time.Hour

// SyntaxError says why a string is not a duration.
type SyntaxError struct {
	Input  string
	Reason string
}

func (e *SyntaxError) Error() string {
	in := e.Input
	if len(in) > 64 { // the caller's input is echoed: keep a huge one short
		in = in[:64] + "..."
	}
	return fmt.Sprintf("%q is not an ISO 8601 duration: %s", in, e.Reason)
}

// designators are the parts of a duration in the order they must come,
// with their length; the date part has days only.
var designators = []struct {
	name byte
	unit time.Duration
	time bool // after the T
}{
	{'D', day, false},
	{'H', time.Hour, true},
	{'M', time.Minute, true},
	{'S', time.Second, true},
}

// Parse reads an ISO 8601 duration: an optional '-', 'P', then days
// ("nD"), then after a 'T' hours, minutes and seconds ("nH", "nM", "n.fS"),
// each optional but at least one present. Fractions beyond nanoseconds
// are truncated; a positive duration too long for a time.Duration is
// Never, a negative one an error.
func Parse(s string) (time.Duration, error) {
	fail := func(format string, args ...any) (time.Duration, error) {
		return 0, &SyntaxError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	rest, neg := strings.CutPrefix(s, "-")
	rest, ok := strings.CutPrefix(rest, "P")
	if !ok {
		return fail(`it must start with "P", as in "PT40M" (40 minutes) or "P1DT2H" (a day and 2 hours)`)
	}
	var total uint64 // nanoseconds
	over := false    // total passed what a uint64 holds
	add := func(n uint64, unit time.Duration) {
		hi, lo := bits.Mul64(n, uint64(unit))
		sum, carry := bits.Add64(total, lo, 0)
		over = over || hi != 0 || carry != 0
		total = sum
	}
	next, inTime, parts := 0, false, 0 // next: index of the first designator still allowed
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return fail(`"T" appears twice`)
			}
			inTime, rest = true, rest[1:]
			if rest == "" {
				return fail(`"T" must be followed by hours, minutes or seconds, as in "PT40M"`)
			}
			continue
		}
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if digits == 0 {
			return fail("expected a number at %q", rest)
		}
		whole, frac := rest[:digits], ""
		rest = rest[digits:]
		if rest != "" && (rest[0] == '.' || rest[0] == ',') {
			n := len(rest) - 1 - len(strings.TrimLeft(rest[1:], "0123456789"))
			if n == 0 {
				return fail("expected digits after the decimal point")
			}
			frac, rest = rest[1:1+n], rest[1+n:]
		}
		if rest == "" {
			return fail("the number %s has no designator (D, H, M or S) after it", whole)
		}
		d := rest[0]
		rest = rest[1:]
		if !strings.ContainsRune("DHMSYW", rune(d)) {
			return fail("%q is not a designator; use D, H, M or S (upper case)", string(d))
		}
		i := next
		for i < len(designators) && designators[i].name != d {
			i++
		}
		switch {
		case !inTime && (d == 'Y' || d == 'M'):
			return fail("years and months have no fixed length; write days, as in \"P30D\", or minutes after a T, as in \"PT30M\"")
		case !inTime && d == 'W':
			return fail("write weeks as days, as in \"P7D\"")
		case i == len(designators) || designators[i].time != inTime:
			if inTime && d == 'D' {
				return fail(`days come before the "T", as in "P1DT2H"`)
			}
			if !inTime && (d == 'H' || d == 'S') {
				return fail(`hours, minutes and seconds come after a "T", as in "PT%s%c"`, whole, d)
			}
			return fail("%q is out of place: the parts are days (D), then T, hours (H), minutes (M) and seconds (S), each once", string(d))
		case frac != "" && d != 'S':
			return fail("only the seconds may have a fraction, as in \"PT0.5S\"")
		}
		next, parts = i+1, parts+1
		n, err := strconv.ParseUint(whole, 10, 64)
		if err != nil { // too many digits: longer than anything representable
			over = true
		}
		add(n, designators[i].unit)
		if frac != "" {
			ns, _ := strconv.ParseUint((frac + "000000000")[:9], 10, 64)
			add(ns, time.Nanosecond)
		}
	}
	if parts == 0 {
		return fail(`it has no parts; write at least one, as in "PT40M" or "PT0S"`)
	}
	if neg {
		if over || total > 1<<63 {
			return fail("it is too far in the past to represent")
		}
		return time.Duration(-total), nil // -(1<<63) wraps to math.MinInt64, as wanted
	}
	if over || total > math.MaxInt64 {
		return Never, nil
	}
	return time.Duration(total), nil
}

// Format writes d as .NET writes a TimeSpan: days, then hours, minutes and
// seconds with only the non-zero parts and the fraction's significant
// digits ("PT40M", "P1DT2H", "PT0.5S"); zero is "PT0S" and Never is
// MaxValue.
func Format(d time.Duration) string {
	if d == Never {
		return MaxValue
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u // two's complement magnitude; right for math.MinInt64 too
	}
	b.WriteByte('P')
	days, u := u/uint64(day), u%uint64(day)
	if days > 0 {
		b.WriteString(strconv.FormatUint(days, 10) + "D")
	}
	if u == 0 && days > 0 {
		return b.String()
	}
	b.WriteByte('T')
	h, u := u/uint64(time.Hour), u%uint64(time.Hour)
	m, u := u/uint64(time.Minute), u%uint64(time.Minute)
	s, ns := u/uint64(time.Second), u%uint64(time.Second)
	if h > 0 {
		b.WriteString(strconv.FormatUint(h, 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatUint(m, 10) + "M")
	}
	if s > 0 || ns > 0 || (h == 0 && m == 0) {
		b.WriteString(strconv.FormatUint(s, 10))
		if ns > 0 {
			b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Dates travel as strings. This file implements the .NET custom date and
// time format strings FormatDateTime uses (for parsing and for output), the
// lenient parser behind CDate, DateAdd, DateDiff and NumFromDate, and the
// default rendering M/d/yyyy h:mm:ss tt. The service runs in UTC: parsed
// values with an offset are converted to UTC, values without one are taken
// as UTC.

// dtKind mirrors .NET's DateTimeKind, which decides what the K specifier prints.
type dtKind uint8

const (
	kindUnspecified dtKind = iota
	kindUTC
	kindLocal // parsed with an offset and converted (the server zone is UTC)
)

var (
	monthNames = [12]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	dayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// formatDefault renders t as M/d/yyyy h:mm:ss tt (invariant culture).
func formatDefault(t time.Time) string {
	var b [32]byte
	out := b[:0]
	out = strconv.AppendInt(out, int64(t.Month()), 10)
	out = append(out, '/')
	out = strconv.AppendInt(out, int64(t.Day()), 10)
	out = append(out, '/')
	out = appendPadded(out, t.Year(), 4)
	out = append(out, ' ')
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	out = strconv.AppendInt(out, int64(h), 10)
	out = append(out, ':')
	out = appendPadded(out, t.Minute(), 2)
	out = append(out, ':')
	out = appendPadded(out, t.Second(), 2)
	if t.Hour() < 12 {
		out = append(out, " AM"...)
	} else {
		out = append(out, " PM"...)
	}
	return string(out)
}

func appendPadded(b []byte, v, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// fmtTok is one element of a tokenized .NET format string: a specifier
// character repeated n times, or a literal (spec == 0).
type fmtTok struct {
	spec byte
	n    int
	lit  string
}

// standardFormats expands .NET standard (one-letter) format strings for
// the invariant culture.
var standardFormats = map[string]string{
	"d": "MM/dd/yyyy",
	"D": "dddd, dd MMMM yyyy",
	"f": "dddd, dd MMMM yyyy HH:mm",
	"F": "dddd, dd MMMM yyyy HH:mm:ss",
	"g": "MM/dd/yyyy HH:mm",
	"G": "MM/dd/yyyy HH:mm:ss",
	"m": "MMMM dd",
	"M": "MMMM dd",
	"o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	"O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	"r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	"R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	"s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	"t": "HH:mm",
	"T": "HH:mm:ss",
	"u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	"U": "dddd, dd MMMM yyyy HH:mm:ss",
	"y": "yyyy MMMM",
	"Y": "yyyy MMMM",
}

func isSpecChar(c byte) bool {
	switch c {
	case 'y', 'M', 'd', 'h', 'H', 'm', 's', 'f', 'F', 't', 'z', 'g', 'K':
		return true
	}
	return false
}

// tokenizeFormat splits a .NET custom (or standard) format string.
func tokenizeFormat(f string) ([]fmtTok, error) {
	if f == "" {
		return nil, errors.New("empty format string")
	}
	if std, ok := standardFormats[f]; ok {
		f = std
	} else if len(f) == 1 {
		return nil, fmt.Errorf("unknown standard format %q", f)
	}
	var toks []fmtTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, fmtTok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case isSpecChar(c):
			n := 1
			for i+n < len(f) && f[i+n] == c {
				n++
			}
			i += n - 1
			if (c == 'f' || c == 'F') && n > 7 {
				return nil, fmt.Errorf("too many %c specifiers (at most 7)", c)
			}
			flush()
			toks = append(toks, fmtTok{spec: c, n: n})
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(f) && f[j] != c; j++ {
				if f[j] == '\\' && j+1 < len(f) {
					j++
				}
				lit.WriteByte(f[j])
			}
			if j == len(f) {
				return nil, fmt.Errorf("unterminated quoted literal in format")
			}
			i = j
		case c == '\\':
			if i+1 == len(f) {
				return nil, fmt.Errorf("format ends with a lone backslash")
			}
			i++
			lit.WriteByte(f[i])
		case c == '%':
			if i+1 == len(f) {
				return nil, fmt.Errorf("format ends with a lone %%")
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks, nil
}

// formatDotNet renders t (UTC) with a tokenized .NET format.
func formatDotNet(t time.Time, kind dtKind, toks []fmtTok) string {
	var b []byte
	for i, tk := range toks {
		if len(b) > MaxValueSize {
			break // the caller rejects the oversized result
		}
		switch tk.spec {
		case 0:
			b = append(b, tk.lit...)
		case 'y':
			switch {
			case tk.n == 1:
				b = strconv.AppendInt(b, int64(t.Year()%100), 10)
			case tk.n == 2:
				b = appendPadded(b, t.Year()%100, 2)
			default:
				b = appendPadded(b, t.Year(), tk.n)
			}
		case 'M':
			switch {
			case tk.n >= 4:
				b = append(b, monthNames[t.Month()-1]...)
			case tk.n == 3:
				b = append(b, monthNames[t.Month()-1][:3]...)
			default:
				b = appendPadded(b, int(t.Month()), tk.n)
			}
		case 'd':
			switch {
			case tk.n >= 4:
				b = append(b, dayNames[t.Weekday()]...)
			case tk.n == 3:
				b = append(b, dayNames[t.Weekday()][:3]...)
			default:
				b = appendPadded(b, t.Day(), tk.n)
			}
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = appendPadded(b, h, min(tk.n, 2))
		case 'H':
			b = appendPadded(b, t.Hour(), min(tk.n, 2))
		case 'm':
			b = appendPadded(b, t.Minute(), min(tk.n, 2))
		case 's':
			b = appendPadded(b, t.Second(), min(tk.n, 2))
		case 'f', 'F':
			digits := appendPadded(nil, t.Nanosecond()/pow10(9-tk.n), tk.n)
			if tk.spec == 'F' {
				for len(digits) > 0 && digits[len(digits)-1] == '0' {
					digits = digits[:len(digits)-1]
				}
				if len(digits) == 0 && len(b) > 0 && b[len(b)-1] == '.' && i > 0 {
					b = b[:len(b)-1] // .NET drops the separator of an empty fraction
				}
			}
			b = append(b, digits...)
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			b = append(b, ampm[:min(tk.n, 2)]...)
		case 'z':
			switch tk.n {
			case 1:
				b = append(b, "+0"...)
			case 2:
				b = append(b, "+00"...)
			default:
				b = append(b, "+00:00"...)
			}
		case 'K':
			for range tk.n {
				switch kind {
				case kindUTC:
					b = append(b, 'Z')
				case kindLocal:
					b = append(b, "+00:00"...)
				}
			}
		case 'g':
			b = append(b, "A.D."...)
		}
	}
	return string(b)
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// dtFields collects what parsing found.
type dtFields struct {
	year, month, day        int
	hour, minute, sec, nsec int
	hasYear, hasMonth       bool
	hasDay                  bool
	pm                      int // -1: no designator, 0: AM, 1: PM
	offset                  int // seconds east of UTC
	hasOffset, utc          bool
}

// parseDotNet parses s with a tokenized .NET format (DateTime.ParseExact
// semantics, leading and trailing white space allowed; inner white space
// in the input is allowed where the format has white space, and anywhere
// when loose is set). now supplies missing date parts.
func parseDotNet(s string, toks []fmtTok, loose bool, now time.Time) (time.Time, dtKind, error) {
	f := dtFields{pm: -1}
	s = strings.TrimSpace(s)
	i := 0
	skipWhite := func() {
		for i < len(s) && isSpace(rune(s[i])) {
			i++
		}
	}
	bad := errors.New("does not match")
	for k := 0; k < len(toks); k++ {
		tk := toks[k]
		if loose {
			skipWhite()
		}
		if tk.spec == 0 {
			for j := 0; j < len(tk.lit); j++ {
				c := tk.lit[j]
				switch {
				case isSpace(rune(c)):
					skipWhite()
				case c == '.' && j == len(tk.lit)-1 && k+1 < len(toks) && toks[k+1].spec == 'F' && (i == len(s) || s[i] != '.'):
					k++ // optional empty fraction: skip '.' and the F token
				case i < len(s) && (s[i] == c || (isASCIILetter(c) && s[i]|0x20 == c|0x20)):
					i++
				default:
					return time.Time{}, 0, bad
				}
			}
			continue
		}
		var v, n int
		var ok bool
		switch tk.spec {
		case 'y':
			switch tk.n {
			case 1:
				v, n, ok = digits(s[i:], 1, 2)
			case 2:
				v, n, ok = digits(s[i:], 2, 2)
			default:
				v, n, ok = digits(s[i:], tk.n, max(tk.n, 4))
			}
			if ok && tk.n <= 2 { // two-digit year: .NET's TwoDigitYearMax is 2049
				if v < 50 {
					v += 2000
				} else {
					v += 1900
				}
			}
			f.year, f.hasYear = v, true
		case 'M':
			if tk.n >= 3 {
				v, n, ok = matchName(s[i:], monthNames[:])
				v++
			} else {
				v, n, ok = digits(s[i:], tk.n, 2)
			}
			f.month, f.hasMonth = v, true
		case 'd':
			if tk.n >= 3 {
				_, n, ok = matchName(s[i:], dayNames[:])
			} else {
				v, n, ok = digits(s[i:], tk.n, 2)
				f.day, f.hasDay = v, true
			}
		case 'h', 'H':
			v, n, ok = digits(s[i:], min(tk.n, 2), 2)
			f.hour = v
		case 'm':
			v, n, ok = digits(s[i:], min(tk.n, 2), 2)
			f.minute = v
		case 's':
			v, n, ok = digits(s[i:], min(tk.n, 2), 2)
			f.sec = v
		case 'f', 'F':
			lo := tk.n
			if tk.spec == 'F' {
				lo = 0
			}
			v, n, ok = digits(s[i:], lo, tk.n)
			if ok {
				f.nsec = v * pow10(9-n)
			}
		case 't':
			switch r := strings.ToUpper(s[i:min(i+2, len(s))]); {
			case r == "AM" || r == "PM":
				n, ok = 2, true
			case r != "" && (r[0] == 'A' || r[0] == 'P'):
				n, ok = 1, true
			}
			if ok {
				f.pm = 0
				if s[i]|0x20 == 'p' {
					f.pm = 1
				}
			}
		case 'z', 'K':
			n, ok = parseOffset(s[i:], &f, tk.spec == 'K')
		case 'g':
			rest := strings.ToUpper(s[i:min(i+4, len(s))])
			switch {
			case strings.HasPrefix(rest, "A.D."):
				n = 4
			case strings.HasPrefix(rest, "AD"):
				n = 2
			}
			ok = true
		}
		if !ok {
			return time.Time{}, 0, bad
		}
		i += n
	}
	skipWhite()
	if i != len(s) {
		return time.Time{}, 0, bad
	}
	return f.build(now)
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// digits reads between lo and hi ASCII digits.
func digits(s string, lo, hi int) (v, n int, ok bool) {
	for n < hi && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n, n >= lo
}

// matchName matches a full or three-letter English name, case-insensitively.
func matchName(s string, names []string) (idx, n int, ok bool) {
	for i, name := range names {
		if len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
			return i, len(name), true
		}
	}
	for i, name := range names {
		if len(s) >= 3 && strings.EqualFold(s[:3], name[:3]) {
			return i, 3, true
		}
	}
	return 0, 0, false
}

// parseOffset reads Z (K only), or ±h, ±hh, ±hhmm, ±hh:mm.
func parseOffset(s string, f *dtFields, k bool) (int, bool) {
	if s == "" {
		return 0, k // K may match nothing
	}
	if s[0] == 'Z' || s[0] == 'z' {
		if !k {
			return 0, false
		}
		f.hasOffset, f.utc = true, true
		return 1, true
	}
	if s[0] != '+' && s[0] != '-' {
		return 0, k
	}
	h, n, ok := digits(s[1:], 1, 2)
	if !ok {
		return 0, false
	}
	used := 1 + n
	m := 0
	rest := s[used:]
	if len(rest) > 0 && rest[0] == ':' {
		var mn int
		if m, mn, ok = digits(rest[1:], 2, 2); !ok {
			return 0, false
		}
		used += 1 + mn
	} else if mm, mn, ok := digits(rest, 2, 2); ok && n == 2 {
		m = mm
		used += mn
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	f.offset, f.hasOffset = off, true
	return used, true
}

func (f *dtFields) build(now time.Time) (time.Time, dtKind, error) {
	if !f.hasYear && !f.hasMonth && !f.hasDay {
		f.year, f.month, f.day = now.Year(), int(now.Month()), now.Day()
	} else {
		if !f.hasYear {
			f.year = now.Year()
		}
		if !f.hasMonth {
			f.month = 1
		}
		if !f.hasDay {
			f.day = 1
		}
	}
	if f.pm >= 0 {
		if f.hour > 12 {
			if f.pm == 0 {
				return time.Time{}, 0, errors.New("hour out of range for AM")
			}
		} else {
			f.hour = f.hour%12 + 12*f.pm
		}
	}
	if f.year < 1 || f.year > 9999 || f.month < 1 || f.month > 12 || f.day < 1 ||
		f.day > daysIn(f.year, f.month) || f.hour > 23 || f.minute > 59 || f.sec > 59 {
		return time.Time{}, 0, errors.New("date or time field out of range")
	}
	t := time.Date(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.sec, f.nsec, time.UTC)
	kind := kindUnspecified
	if f.hasOffset {
		t = t.Add(-time.Duration(f.offset) * time.Second)
		kind = kindLocal
		if f.utc {
			kind = kindUTC
		}
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, 0, errors.New("date out of range")
	}
	return t, kind, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// looseFormats are tried in order by parseDate, the lenient parser used by
// CDate and the other date functions (an approximation of .NET
// DateTime.Parse with the invariant culture). K accepts Z, an offset or
// nothing.
var looseFormats = func() [][]fmtTok {
	var out [][]fmtTok
	add := func(fs ...string) {
		for _, f := range fs {
			t, err := tokenizeFormat(f)
			if err != nil {
				panic(err)
			}
			out = append(out, t)
		}
	}
	for _, d := range []string{"yyyy-M-d", "yyyy/M/d", "M/d/yyyy", "M-d-yyyy", "d MMM yyyy", "MMM d, yyyy", "MMM d yyyy", "ddd, d MMM yyyy", "dddd, MMMM d, yyyy"} {
		for _, sep := range []string{"'T'", " "} {
			if sep == "'T'" && !strings.HasPrefix(d, "yyyy") {
				continue
			}
			add(d+sep+"H:m:s.FFFFFFFK", d+sep+"H:m:sK", d+sep+"H:mK",
				d+sep+"h:m:s.FFFFFFF tt K", d+sep+"h:m:s tt K", d+sep+"h:m tt K")
		}
		add(d + "K")
	}
	add("yyyyMMddHHmmss.FFFFFFFK", "yyyyMMddHHmmssK", "yyyyMMdd", "ddd, d MMM yyyy H:m:s 'GMT'")
	return out
}()

// parseDate parses a date string leniently.
func parseDate(s string, now time.Time) (time.Time, dtKind, error) {
	if len(s) > 100 || !utf8.ValidString(s) {
		return time.Time{}, 0, fmt.Errorf("cannot parse %s as a date", quote(clip(s, 40)))
	}
	for _, toks := range looseFormats {
		if t, k, err := parseDotNet(s, toks, true, now); err == nil {
			return t, k, nil
		}
	}
	return time.Time{}, 0, fmt.Errorf("cannot parse %s as a date", quote(s))
}

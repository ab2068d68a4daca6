package expr

import (
	"strconv"
	"strings"
	"time"
)

// fileTimeEpochOffset is the number of seconds from 1601-01-01 (the
// Windows FILETIME epoch) to 1970-01-01.
const fileTimeEpochOffset = 11644473600

// dateArg parses argument i as a date; ok is false when it is null.
func (st *state) dateArg(c *Call, args []Value, i int) (t time.Time, ok bool, err error) {
	v := arg(args, i)
	if v.kind == kindNull {
		return time.Time{}, false, nil
	}
	t, _, perr := parseDate(v.String(), st.getNow())
	if perr != nil {
		return time.Time{}, false, st.errorf(c.Args[i], "%s: %v", c.Name, perr)
	}
	return t, true, nil
}

// CDate(expression): the date in UTC, rendered M/d/yyyy h:mm:ss tt.
func fnCDate(st *state, c *Call, args []Value) (Value, error) {
	t, ok, err := st.dateArg(c, args, 0)
	if !ok {
		return Value{}, err
	}
	return Str(formatDefault(t)), nil
}

// Now(): the current UTC time, rendered M/d/yyyy h:mm:ss tt.
func fnNow(st *state, _ *Call, _ []Value) (Value, error) {
	return Str(formatDefault(st.getNow())), nil
}

// DateAdd(interval, value, dateTime): intervals yyyy (year), q (quarter),
// m (month), y (day of year), d (day), w (weekday), ww (week), h, n
// (minute), s. Adding months keeps the day, clipped to the month's length.
func fnDateAdd(st *state, c *Call, args []Value) (Value, error) {
	iv := strings.ToLower(strings.TrimSpace(args[0].String()))
	n, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	t, ok, err := st.dateArg(c, args, 2)
	if !ok {
		return Value{}, err
	}
	const maxSeconds = 10000 * 366 * 86400
	outOfRange := func() (Value, error) {
		return Value{}, st.errorf(c.Args[1], "DateAdd: result out of range")
	}
	if n > maxSeconds || n < -maxSeconds {
		return outOfRange()
	}
	switch iv {
	case "yyyy":
		t = addMonths(t, n*12)
	case "q":
		t = addMonths(t, n*3)
	case "m":
		t = addMonths(t, n)
	case "y", "d", "w":
		t = addSeconds(t, n*86400)
	case "ww":
		t = addSeconds(t, n*7*86400)
	case "h":
		t = addSeconds(t, n*3600)
	case "n":
		t = addSeconds(t, n*60)
	case "s":
		t = addSeconds(t, n)
	default:
		return Value{}, st.errorf(c.Args[0], "DateAdd: unknown interval %s (want yyyy, q, m, y, d, w, ww, h, n or s)", quote(clip(args[0].String(), 20)))
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return outOfRange()
	}
	return Str(formatDefault(t)), nil
}

// addSeconds adds a number of seconds (UTC has no daylight saving time, so
// days and weeks are fixed lengths).
func addSeconds(t time.Time, secs int64) time.Time {
	return time.Unix(t.Unix()+secs, int64(t.Nanosecond())).UTC()
}

// addMonths adds n months like .NET DateTime.AddMonths: the day is clipped
// to the last day of the resulting month.
func addMonths(t time.Time, n int64) time.Time {
	m := int64(t.Year())*12 + int64(t.Month()) - 1 + n
	if m < 0 || m > 10000*12 {
		return time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) // out of range; caught by the caller
	}
	y, mon := int(m/12), int(m%12)+1
	d := min(t.Day(), daysIn(y, mon))
	return time.Date(y, time.Month(mon), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// DateDiff(interval, date1, date2): date2 − date1 in interval units, as
// Visual Basic (Microsoft.VisualBasic.DateAndTime.DateDiff) counts them:
// yyyy, q and m count calendar year/quarter/month boundaries; ww counts
// week boundaries (Sundays) between the calendar dates; d, y, h, n and s
// truncate the exact elapsed time; w counts whole weeks elapsed.
func fnDateDiff(st *state, c *Call, args []Value) (Value, error) {
	iv := strings.ToLower(strings.TrimSpace(args[0].String()))
	t1, ok1, err := st.dateArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	t2, ok2, err := st.dateArg(c, args, 2)
	if err != nil {
		return Value{}, err
	}
	if !ok1 || !ok2 {
		return Value{}, nil
	}
	var r int64
	switch iv {
	case "yyyy":
		r = int64(t2.Year() - t1.Year())
	case "q":
		r = int64((t2.Year()-t1.Year())*4 + (int(t2.Month())-1)/3 - (int(t1.Month())-1)/3)
	case "m":
		r = int64((t2.Year()-t1.Year())*12 + int(t2.Month()) - int(t1.Month()))
	case "d", "y":
		r = truncDiv(t1, t2, 86400)
	case "w":
		r = truncDiv(t1, t2, 86400) / 7
	case "ww":
		s1 := civilDays(t1) - int64(t1.Weekday())
		s2 := civilDays(t2) - int64(t2.Weekday())
		r = (s2 - s1) / 7
	case "h":
		r = truncDiv(t1, t2, 3600)
	case "n":
		r = truncDiv(t1, t2, 60)
	case "s":
		r = truncDiv(t1, t2, 1)
	default:
		return Value{}, st.errorf(c.Args[0], "DateDiff: unknown interval %s (want yyyy, q, m, y, d, w, ww, h, n or s)", quote(clip(args[0].String(), 20)))
	}
	return Str(strconv.FormatInt(r, 10)), nil
}

// truncDiv returns (t2 − t1) / unit seconds, truncated toward zero.
func truncDiv(t1, t2 time.Time, unit int64) int64 {
	// Split into whole units and a nanosecond remainder to avoid overflow.
	secs := t2.Unix() - t1.Unix()
	ns := int64(t2.Nanosecond() - t1.Nanosecond())
	q := secs / unit
	rem := secs%unit*1e9 + ns // remainder in ns, |rem| < unit*1e9 + 1e9
	switch {
	case secs >= 0 && rem < 0 && q > 0:
		q--
	case secs >= 0 && rem >= unit*1e9:
		q++
	case secs < 0 && rem > 0 && q < 0:
		q++
	case secs < 0 && rem <= -unit*1e9:
		q--
	}
	return q
}

// civilDays is the number of days since 0001-01-01 of t's calendar date.
func civilDays(t time.Time) int64 {
	return (t.Unix() + 62135596800) / 86400
}

// DateFromNum(value): a Windows FILETIME (100 ns ticks since 1601-01-01
// UTC, as in AD's accountExpires or lastLogonTimestamp) as a date.
func fnDateFromNum(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	n, err := st.intArg(c, args, 0)
	if err != nil {
		return Value{}, err
	}
	const maxTicks = 2650467743999999999 // 9999-12-31 23:59:59.9999999
	if n < 0 || n > maxTicks {
		return Value{}, st.errorf(c.Args[0], "DateFromNum: %d is out of the date range", n)
	}
	t := time.Unix(n/1e7-fileTimeEpochOffset, n%1e7*100).UTC()
	return Str(formatDefault(t)), nil
}

// NumFromDate(value): an ISO 8601 (or other parseable) date as a Windows
// FILETIME decimal string.
func fnNumFromDate(st *state, c *Call, args []Value) (Value, error) {
	t, ok, err := st.dateArg(c, args, 0)
	if !ok {
		return Value{}, err
	}
	secs := t.Unix() + fileTimeEpochOffset
	if secs < 0 {
		return Value{}, st.errorf(c.Args[0], "NumFromDate: date is before 1601")
	}
	return Str(strconv.FormatInt(secs*1e7+int64(t.Nanosecond()/100), 10)), nil
}

// FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat) — or
// (source, inputFormat, outputFormat), the cloud-sync form — parses source
// with a .NET custom format and renders it with another. The styles
// (DateTimeStyles names, comma-separated, or a number) are validated;
// white space around the value is always allowed, inner white space with
// AllowInnerWhite or AllowWhiteSpaces, and the result is always UTC.
func fnFormatDateTime(st *state, c *Call, args []Value) (Value, error) {
	styleArg, in, out := -1, 1, 2
	if len(args) == 4 {
		styleArg, in, out = 1, 2, 3
	}
	loose := false
	if styleArg > 0 && given(args, styleArg) {
		var err error
		if loose, err = parseStyles(args[styleArg].String()); err != nil {
			return Value{}, st.errorf(c.Args[styleArg], "FormatDateTime: %v", err)
		}
	}
	inToks, err := tokenizeFormat(args[in].String())
	if err != nil {
		return Value{}, st.errorf(c.Args[in], "FormatDateTime: inputFormat: %v", err)
	}
	outToks, err := tokenizeFormat(args[out].String())
	if err != nil {
		return Value{}, st.errorf(c.Args[out], "FormatDateTime: outputFormat: %v", err)
	}
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	src := args[0].String()
	if len(src) > 1000 {
		return Value{}, st.errorf(c.Args[0], "FormatDateTime: source is too long to be a date")
	}
	t, kind, err := parseDotNet(src, inToks, loose, st.getNow())
	if err != nil {
		return Value{}, st.errorf(c.Args[0], "FormatDateTime: %s does not match input format %s", quote(clip(src, 40)), quote(clip(args[in].String(), 40)))
	}
	res := formatDotNet(t, kind, outToks)
	if err := st.produced(c, len(res)); err != nil {
		return Value{}, err
	}
	return Str(res), nil
}

// parseStyles validates a DateTimeStyles value and reports whether inner
// white space is allowed.
func parseStyles(s string) (innerWhite bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return false, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 255 {
			return false, &styleError{s}
		}
		return n&4 != 0, nil
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || isSpace(r) }) {
		part = strings.TrimPrefix(strings.ToLower(part), "datetimestyles.")
		switch part {
		case "allowinnerwhite", "allowwhitespaces":
			innerWhite = true
		case "none", "allowleadingwhite", "allowtrailingwhite", "nocurrentdatedefault",
			"adjusttouniversal", "assumelocal", "assumeuniversal", "roundtripkind":
		default:
			return false, &styleError{part}
		}
	}
	return innerWhite, nil
}

type styleError struct{ s string }

func (e *styleError) Error() string {
	return "unknown dateTimeStyles value " + quote(clip(e.s, 40))
}

package expr

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Character positions and lengths (Left, Mid, Len, InStr, Word) count
// Unicode code points.

// Append(source, suffix): source + suffix; a null source gives null, a
// null suffix appends nothing.
func fnAppend(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	a, b := args[0].String(), args[1].String()
	if err := st.produced(c, len(a)+len(b)); err != nil {
		return Value{}, err
	}
	return Str(a + b), nil
}

// Join(separator, source1, ...): every value of every source, skipping
// null and empty values, separated by separator. If every source is null
// the result is null.
func fnJoin(st *state, c *Call, args []Value) (Value, error) {
	sep := args[0].String()
	size, count, present := 0, 0, false
	var only string
	for _, v := range args[1:] {
		switch v.kind {
		case kindStr:
			present = true
			if v.s != "" {
				size += len(v.s)
				count++
				only = v.s
			}
		case kindMulti:
			present = true
			for _, s := range v.vs {
				if s != "" {
					size += len(s)
					count++
					only = s
				}
			}
		}
	}
	if !present {
		return Value{}, nil
	}
	if count == 1 {
		return Str(only), nil
	}
	if count > 1 {
		size += (count - 1) * len(sep)
	}
	if err := st.produced(c, size); err != nil {
		return Value{}, err
	}
	var b strings.Builder
	b.Grow(size)
	first := true
	add := func(s string) {
		if s == "" {
			return
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(s)
	}
	for _, v := range args[1:] {
		switch v.kind {
		case kindStr:
			add(v.s)
		case kindMulti:
			for _, s := range v.vs {
				add(s)
			}
		}
	}
	return Str(b.String()), nil
}

// Left(string, numChars): the first numChars characters; 0 → "", negative
// → the whole string, null → "" (as documented).
func fnLeft(st *state, c *Call, args []Value) (Value, error) {
	n, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	s := args[0].String()
	if n < 0 {
		return Str(s), nil
	}
	return Str(substr(s, 0, n)), nil
}

// Mid(source, start, length): length characters from 1-based start,
// clipped at the end; null → null. start < 1 or length < 0 is an error.
func fnMid(st *state, c *Call, args []Value) (Value, error) {
	start, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	length, err := st.intArg(c, args, 2)
	if err != nil {
		return Value{}, err
	}
	if start < 1 {
		return Value{}, st.errorf(c.Args[1], "Mid: start must be 1 or more, got %d", start)
	}
	if length < 0 {
		return Value{}, st.errorf(c.Args[2], "Mid: length must not be negative, got %d", length)
	}
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	return Str(substr(args[0].String(), start-1, length)), nil
}

// substr returns n characters of s starting at character index from.
func substr(s string, from, n int64) string {
	i := 0
	for ; from > 0 && i < len(s); from-- {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	j := i
	for ; n > 0 && j < len(s); n-- {
		if s[j] < utf8.RuneSelf {
			j++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[j:])
		j += w
	}
	return s[i:j]
}

// Len(source): number of characters; null → null.
func fnLen(_ *state, _ *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	return Str(strconv.Itoa(utf8.RuneCountInString(args[0].String()))), nil
}

// Word(string, wordNumber, delimiters): the wordNumber-th (1-based) run of
// characters not in delimiters; "" when the string is null, the number is
// below 1 or there are fewer words.
func fnWord(st *state, c *Call, args []Value) (Value, error) {
	n, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	if n < 1 || args[0].kind == kindNull {
		return Str(""), nil
	}
	delims := newRuneSet(args[2].String())
	words := strings.FieldsFunc(args[0].String(), delims.has)
	if n > int64(len(words)) {
		return Str(""), nil
	}
	return Str(words[n-1]), nil
}

// StripSpaces removes every " ".
func fnStripSpaces(_ *state, _ *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	return Str(strings.ReplaceAll(args[0].String(), " ", "")), nil
}

// Trim removes leading and trailing white space from every value.
func fnTrim(st *state, c *Call, args []Value) (Value, error) {
	v := args[0]
	switch v.kind {
	case kindStr:
		return Str(strings.TrimSpace(v.s)), nil
	case kindMulti:
		out := make([]string, len(v.vs))
		for i, s := range v.vs {
			out[i] = strings.TrimSpace(s)
		}
		return Multi(out), st.charge(c, len(out)*16)
	}
	return Value{}, nil
}

// ToLower(source, culture) and ToUpper(source, culture): invariant case
// mapping unless the culture is Turkish or Azerbaijani (dotted/dotless i).
func fnToLower(st *state, c *Call, args []Value) (Value, error) {
	return caseMap(st, c, args, strings.ToLower, unicode.TurkishCase.ToLower)
}

func fnToUpper(st *state, c *Call, args []Value) (Value, error) {
	return caseMap(st, c, args, strings.ToUpper, unicode.TurkishCase.ToUpper)
}

func caseMap(st *state, c *Call, args []Value, invariant func(string) string, turkish func(rune) rune) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s := args[0].String()
	var out string
	if isTurkic(arg(args, 1).String()) {
		out = strings.Map(turkish, s)
	} else {
		out = invariant(s)
	}
	if err := st.produced(c, len(out)); err != nil {
		return Value{}, err
	}
	return Str(out), nil
}

// isTurkic reports whether an RFC 4646 culture name is tr or az.
func isTurkic(culture string) bool {
	lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(culture)), "-")
	lang, _, _ = strings.Cut(lang, "_")
	return lang == "tr" || lang == "az"
}

// PCase(source, wordSeparators): proper case. With separators, the first
// character after a separator (or at the start) is upper-cased and every
// other character lower-cased. Without, the string is lower-cased and then
// title-cased by .NET TextInfo.ToTitleCase rules: a word starts at a
// letter and runs until a separator character (space, punctuation other
// than the apostrophe, symbol, control).
func fnPCase(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s := args[0].String()
	var b strings.Builder
	b.Grow(len(s))
	if len(args) > 1 && args[1].kind != kindNull {
		seps := newRuneSet(args[1].String())
		upper := true
		for _, r := range s {
			switch {
			case seps.has(r):
				upper = true
				b.WriteRune(r)
			case upper:
				upper = false
				b.WriteRune(unicode.ToTitle(r))
			default:
				b.WriteRune(unicode.ToLower(r))
			}
		}
	} else {
		inWord := false
		for _, r := range s {
			switch {
			case inWord && (r == '\'' || !isWordSeparator(r)):
				b.WriteRune(unicode.ToLower(r))
			case unicode.IsLetter(r):
				inWord = true
				b.WriteRune(unicode.ToTitle(r))
			default:
				inWord = false
				b.WriteRune(unicode.ToLower(r))
			}
		}
	}
	if err := st.produced(c, b.Len()); err != nil {
		return Value{}, err
	}
	return Str(b.String()), nil
}

// isWordSeparator mirrors .NET's word separator categories for ToTitleCase:
// separators (Z*), control and format (Cc, Cf), punctuation (P*) and
// symbols (S*).
func isWordSeparator(r rune) bool {
	return unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.P, unicode.S)
}

// InStr(value1, value2, start, compareType): 1-based position of value2 in
// value1 at or after start, 0 if absent; vbTextCompare ignores case.
func fnInStr(st *state, c *Call, args []Value) (Value, error) {
	start := int64(1)
	if given(args, 2) {
		var err error
		if start, err = st.intArg(c, args, 2); err != nil {
			return Value{}, err
		}
		if start < 1 {
			return Value{}, st.errorf(c.Args[2], "InStr: start must be 1 or more, got %d", start)
		}
	}
	textCompare := false
	if given(args, 3) {
		switch strings.ToLower(strings.TrimSpace(args[3].String())) {
		case "vbtextcompare", "1":
			textCompare = true
		case "vbbinarycompare", "0":
		default:
			return Value{}, st.errorf(c.Args[3], "InStr: compareType must be vbTextCompare or vbBinaryCompare, got %s", quote(clip(args[3].String(), 40)))
		}
	}
	if args[0].kind == kindNull || args[1].kind == kindNull {
		return Value{}, nil
	}
	hay, needle := args[0].String(), args[1].String()
	off := len(substr(hay, 0, start-1)) // byte offset of the start character
	if start-1 > int64(utf8.RuneCountInString(hay)) {
		return Str("0"), nil
	}
	rest := hay[off:]
	if textCompare {
		// strings.Map keeps the number of characters, so character
		// positions in the folded string are those of the original.
		rest = strings.Map(unicode.ToLower, rest)
		needle = strings.Map(unicode.ToLower, needle)
	}
	i := strings.Index(rest, needle)
	if i < 0 {
		return Str("0"), nil
	}
	pos := int(start) + utf8.RuneCountInString(rest[:i])
	return Str(strconv.Itoa(pos)), nil
}

// Split(source, delimiter): a multi-valued result. Each element is trimmed
// of surrounding white space: the documented example splits
// "PermissionSetOne, PermissionSetTwo" on "," into "PermissionSetOne" and
// "PermissionSetTwo". An empty delimiter returns the source as one value.
func fnSplit(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s, sep := args[0].String(), args[1].String()
	if sep == "" {
		return Multi([]string{strings.TrimSpace(s)}), nil
	}
	n := strings.Count(s, sep) + 1
	if n > maxValues {
		return Value{}, st.errorf(c, "Split: result has more than %d values", maxValues)
	}
	if err := st.charge(c, n*16); err != nil {
		return Value{}, err
	}
	parts := strings.SplitN(s, sep, n)
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return Multi(parts), nil
}

// NormalizeDiacritics replaces accented letters by their base letters.
func fnNormalizeDiacritics(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	out := normalizeDiacritics(args[0].String())
	if err := st.produced(c, len(out)); err != nil {
		return Value{}, err
	}
	return Str(out), nil
}

// runeSet is a set of characters with constant-time membership, so that
// scanning a string against a long delimiter list stays linear.
type runeSet struct {
	ascii [128]bool
	other map[rune]bool
}

func newRuneSet(chars string) *runeSet {
	s := &runeSet{}
	for _, r := range chars {
		if r < utf8.RuneSelf {
			s.ascii[r] = true
		} else {
			if s.other == nil {
				s.other = map[rune]bool{}
			}
			s.other[r] = true
		}
	}
	return s
}

func (s *runeSet) has(r rune) bool {
	if r >= 0 && r < utf8.RuneSelf {
		return s.ascii[r]
	}
	return s.other[r]
}

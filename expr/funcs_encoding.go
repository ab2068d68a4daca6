package expr

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ConvertToBase64(source): base64 of the UTF-16LE bytes of source.
func fnConvertToBase64(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s := args[0].String()
	if err := st.produced(c, base64.StdEncoding.EncodedLen(2*len(s))); err != nil {
		return Value{}, err
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, x := range u {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return Str(base64.StdEncoding.EncodeToString(b)), nil
}

// ConvertFromBase64(source, encoding): decodes base64 and reads the bytes
// as Unicode (UTF-16LE, the default), UTF8 or ASCII (bytes above 127
// become "?").
func fnConvertFromBase64(st *state, c *Call, args []Value) (Value, error) {
	enc := "unicode"
	if given(args, 1) {
		enc = strings.ToLower(strings.TrimSpace(args[1].String()))
		switch enc {
		case "unicode", "utf8", "utf-8", "ascii":
		default:
			return Value{}, st.errorf(c.Args[1], "ConvertFromBase64: encoding must be Unicode, UTF8 or ASCII, got %s", quote(clip(args[1].String(), 40)))
		}
	}
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	b, err := decodeBase64(args[0].String())
	if err != nil {
		return Value{}, st.errorf(c.Args[0], "ConvertFromBase64: invalid base64: %v", err)
	}
	var out string
	switch enc {
	case "unicode":
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		out = string(utf16.Decode(u))
		if len(b)%2 == 1 {
			out += "\uFFFD"
		}
	case "ascii":
		r := make([]byte, len(b))
		for i, x := range b {
			if x > 127 {
				x = '?'
			}
			r[i] = x
		}
		out = string(r)
	default:
		out = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if err := st.produced(c, len(out)); err != nil {
		return Value{}, err
	}
	return Str(out), nil
}

// decodeBase64 accepts standard base64 with or without padding, ignoring
// white space.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, s)
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ConvertToUTF8Hex(source): upper-case hex of the UTF-8 bytes.
func fnConvertToUTF8Hex(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s := args[0].String()
	if err := st.produced(c, 2*len(s)); err != nil {
		return Value{}, err
	}
	return Str(strings.ToUpper(hex.EncodeToString([]byte(s)))), nil
}

// StringFromSid(source): the binary SID (given base64-encoded) in its
// S-R-I-S-S... string form.
func fnStringFromSid(st *state, c *Call, args []Value) (Value, error) {
	if args[0].kind == kindNull {
		return Value{}, nil
	}
	s := args[0].String()
	if strings.HasPrefix(s, "S-") {
		return Str(s), nil // already a string SID
	}
	b, err := decodeBase64(s)
	if err != nil {
		return Value{}, st.errorf(c.Args[0], "StringFromSid: invalid base64: %v", err)
	}
	sid, ok := sidString(b)
	if !ok {
		return Value{}, st.errorf(c.Args[0], "StringFromSid: not a binary security identifier (%d bytes)", len(b))
	}
	return Str(sid), nil
}

func sidString(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if n > 15 || len(b) != 8+4*n {
		return "", false
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteByte('-')
	if auth >= 1<<32 {
		sb.WriteString("0x" + strings.ToUpper(hex.EncodeToString(b[2:8])))
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := 0; i < n; i++ {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), true
}

// DNComponent(dn, n): the value of the n-th (1-based, from the left) RDN
// of a distinguished name, with DN escapes removed; null when out of range.
func fnDNComponent(st *state, c *Call, args []Value) (Value, error) {
	n, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	if args[0].kind == kindNull || n < 1 {
		return Value{}, nil
	}
	rdns := splitDN(args[0].String())
	if n > int64(len(rdns)) {
		return Value{}, nil
	}
	rdn := rdns[n-1]
	if i := indexUnescaped(rdn, '='); i >= 0 {
		rdn = rdn[i+1:]
	}
	return Str(unescapeDNValue(strings.TrimSpace(rdn))), nil
}

// splitDN splits a DN at unescaped, unquoted commas (or semicolons).
func splitDN(dn string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',', ';':
			if !quoted {
				out = append(out, dn[start:i])
				start = i + 1
			}
		}
	}
	return append(out, dn[start:])
}

func indexUnescaped(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case c:
			return i
		}
	}
	return -1
}

// unescapeDNValue removes RFC 4514 escapes (\, and \2C forms) and quotes.
func unescapeDNValue(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, `\`) {
		return v
	}
	var b []byte
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b = append(b, v[i])
			continue
		}
		if i+2 < len(v) && isHexDigit(rune(v[i+1])) && isHexDigit(rune(v[i+2])) {
			x, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
			b = append(b, byte(x))
			i += 2
			continue
		}
		i++
		b = append(b, v[i])
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// Guid(): a random (version 4) GUID in lower-case 8-4-4-4-12 form.
func fnGuid(st *state, c *Call, _ []Value) (Value, error) {
	var u [16]byte
	if _, err := io.ReadFull(st.rand(), u[:]); err != nil {
		return Value{}, &EvalError{Pos: c.At, Msg: "Guid: reading randomness: " + err.Error(), Err: err}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return Str(string(b[:])), nil
}

// Character classes of RandomString; the special characters are those of
// the Windows password complexity rule.
const (
	rsDigits  = "0123456789"
	rsSpecial = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
	rsUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	rsLower   = "abcdefghijklmnopqrstuvwxyz"
)

// RandomString(Length, MinimumNumbers, MinimumSpecialCharacters,
// MinimumCapital, MinimumLowerCase, CharactersToAvoid): Length characters
// (at most 256) containing at least the given number of each class, the
// rest drawn from every class, none of CharactersToAvoid, shuffled.
func fnRandomString(st *state, c *Call, args []Value) (Value, error) {
	var n [5]int64
	for i := range n {
		v, err := st.intArg(c, args, i)
		if err != nil {
			return Value{}, err
		}
		if v < 0 {
			return Value{}, st.errorf(c.Args[i], "RandomString: %s must not be negative", c.fn.params[i].Name)
		}
		n[i] = v
	}
	if n[0] > 256 {
		return Value{}, st.errorf(c.Args[0], "RandomString: Length must be at most 256, got %d", n[0])
	}
	if sum := n[1] + n[2] + n[3] + n[4]; sum > n[0] {
		return Value{}, st.errorf(c.Args[0], "RandomString: Length %d is less than the sum of the minimums (%d)", n[0], sum)
	}
	avoid := newRuneSet(arg(args, 5).String())
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if avoid.has(r) {
				return -1
			}
			return r
		}, set)
	}
	classes := [4]string{keep(rsDigits), keep(rsSpecial), keep(rsUpper), keep(rsLower)}
	names := [4]string{"MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase"}
	all := ""
	for i, cl := range classes {
		if cl == "" && n[i+1] > 0 {
			return Value{}, st.errorf(c.Args[i+1], "RandomString: CharactersToAvoid excludes every character needed for %s", names[i])
		}
		all += cl
	}
	if all == "" && n[0] > 0 {
		return Value{}, st.errorf(c, "RandomString: CharactersToAvoid excludes every character")
	}
	rng := &randSource{r: st.rand()}
	out := make([]byte, 0, n[0])
	for i, cl := range classes {
		for k := int64(0); k < n[i+1]; k++ {
			out = append(out, cl[rng.intn(len(cl))])
		}
	}
	for int64(len(out)) < n[0] {
		out = append(out, all[rng.intn(len(all))])
	}
	for i := len(out) - 1; i > 0; i-- { // Fisher–Yates
		j := rng.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	if rng.err != nil {
		return Value{}, &EvalError{Pos: c.At, Msg: "RandomString: reading randomness: " + rng.err.Error(), Err: rng.err}
	}
	return Str(string(out)), nil
}

// randSource draws unbiased small integers from an io.Reader.
type randSource struct {
	r   io.Reader
	buf [64]byte
	n   int // unread bytes at the end of buf
	err error
}

func (s *randSource) byte() byte {
	if s.err != nil {
		return 0
	}
	if s.n == 0 {
		if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
			s.err = err
			return 0
		}
		s.n = len(s.buf)
	}
	s.n--
	return s.buf[s.n]
}

// intn returns a uniform integer in [0, n) for 0 < n <= 256.
func (s *randSource) intn(n int) int {
	limit := 256 - 256%n // reject values >= limit to avoid bias
	for try := 0; ; try++ {
		b := int(s.byte())
		if s.err != nil {
			return 0
		}
		if b < limit || try == 64 { // give up rejecting on a degenerate source
			return b % n
		}
	}
}

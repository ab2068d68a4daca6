package expr

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Replace patterns are .NET regular expressions; Go's regexp is RE2. The
// common syntax is shared. translateRegex rewrites .NET named groups
// (?<name>…) and (?'name'…) to (?P<name>…), drops (?#comments), maps \Z to
// \z, and reports a clear error for what RE2 cannot do: lookarounds,
// backreferences, atomic groups, conditionals and class subtraction.

// maxMatches caps the matches one regex replacement may process.
const maxMatches = 10000

func translateRegex(p string) (string, error) {
	var b strings.Builder
	b.Grow(len(p) + 8)
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 == len(p) {
				return "", fmt.Errorf("pattern ends with a lone backslash")
			}
			n := p[i+1]
			if !inClass {
				switch {
				case n >= '1' && n <= '9':
					return "", fmt.Errorf(`backreferences such as \%c are not supported`, n)
				case n == 'k' && i+2 < len(p) && (p[i+2] == '<' || p[i+2] == '\'' || p[i+2] == '{'):
					return "", fmt.Errorf(`named backreferences (\k<name>) are not supported`)
				case n == 'G':
					return "", fmt.Errorf(`\G is not supported`)
				case n == 'Z':
					b.WriteString(`\z`)
					i++
					continue
				}
			}
			b.WriteByte(c)
			b.WriteByte(n)
			i++
		case inClass:
			if c == ']' {
				inClass = false
			} else if c == '-' && i+1 < len(p) && p[i+1] == '[' {
				return "", fmt.Errorf("character class subtraction ([a-z-[aeiou]]) is not supported")
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal member.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == '(' && i+1 < len(p) && p[i+1] == '?':
			rest := p[i+2:]
			switch {
			case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
				return "", fmt.Errorf("lookbehind assertions (?%s…) are not supported", rest[:2])
			case strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!"):
				return "", fmt.Errorf("lookahead assertions (?%s…) are not supported", rest[:1])
			case strings.HasPrefix(rest, ">"):
				return "", fmt.Errorf("atomic groups (?>…) are not supported")
			case strings.HasPrefix(rest, "("):
				return "", fmt.Errorf("conditional groups (?(…)…) are not supported")
			case strings.HasPrefix(rest, "#"):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return "", fmt.Errorf("unterminated (?# comment")
				}
				i += 2 + end
			case strings.HasPrefix(rest, "<") || strings.HasPrefix(rest, "'"):
				close := byte('>')
				if rest[0] == '\'' {
					close = '\''
				}
				end := strings.IndexByte(rest[1:], close)
				if end < 0 {
					return "", fmt.Errorf("unterminated group name")
				}
				name := rest[1 : 1+end]
				if strings.ContainsRune(name, '-') {
					return "", fmt.Errorf("balancing groups (?<%s>…) are not supported", name)
				}
				if !validGroupName(name) {
					return "", fmt.Errorf("invalid group name %q", clip(name, 40))
				}
				b.WriteString("(?P<")
				b.WriteString(name)
				b.WriteByte('>')
				i += 2 + 1 + end
			default:
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validGroupName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !isIdentRune(r) {
			return false
		}
	}
	return true
}

// maxRegexSize caps the estimated program size of a pattern. Counted
// repetitions multiply (a{1000} costs 1000), so without a cap a short
// pattern could take seconds to compile and to run.
const maxRegexSize = 10000

// compileRegex translates and compiles a .NET pattern; size is the
// estimated number of program instructions.
func compileRegex(p string) (re *regexp.Regexp, size int, err error) {
	t, err := translateRegex(p)
	if err != nil {
		return nil, 0, err
	}
	parsed, err := syntax.Parse(t, syntax.Perl)
	if err != nil {
		return nil, 0, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	n := progSize(parsed)
	if n > maxRegexSize {
		return nil, 0, fmt.Errorf("pattern is too complex (about %d instructions, at most %d)", n, maxRegexSize)
	}
	if re, err = regexp.Compile(t); err != nil {
		return nil, 0, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, int(n), nil
}

// progSize estimates the compiled size of a parsed pattern, saturating.
func progSize(re *syntax.Regexp) int64 {
	const limit = 1 << 40
	sum := func() int64 {
		var n int64 = 1
		for _, s := range re.Sub {
			n = min(n+progSize(s), limit)
		}
		return n
	}
	switch re.Op {
	case syntax.OpLiteral:
		return int64(len(re.Rune)) + 1
	case syntax.OpRepeat:
		times := int64(re.Max)
		if re.Max < 0 {
			times = int64(re.Min) + 1
		}
		return min(sum()*max(times, 1), limit)
	}
	return sum()
}

// checkReplace compiles a constant pattern at parse time and checks that a
// constant group name belongs to it.
func checkReplace(c *Call) *Error {
	if len(c.Args) < 3 {
		return nil
	}
	s, ok := c.Args[2].(*String)
	if !ok {
		return nil
	}
	re, size, err := compileRegex(s.Value)
	if err != nil {
		return &Error{Pos: s.At, Msg: "Replace: invalid regular expression: " + err.Error()}
	}
	if len(c.Args) > 3 {
		if g, ok := c.Args[3].(*String); ok && re.SubexpIndex(g.Value) < 0 {
			return &Error{Pos: g.At, Msg: fmt.Sprintf("Replace: regexGroupName %q is not a named group of the pattern", clip(g.Value, 40))}
		}
	}
	c.re, c.reSize = re, size
	return nil
}

// Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
// replacementAttributeName, template). Case-sensitive. An argument counts
// as provided when it is written and not null ("" is provided). Modes:
//
//	oldValue + template:                      template with every oldValue replaced by source
//	oldValue + replacementValue:              every oldValue in source replaced
//	regexPattern + replacementValue:          regex replace; ${name}, $1, $&, $$ expand
//	regexPattern + group + replacementValue:  only the group's span of each match replaced (literally)
//	regexPattern + group + replacementAttributeName:
//	                                          source if it has a value, else the group's
//	                                          text in the first match in the other value
//
// Otherwise source is returned unchanged. A null source gives null (except
// in the last mode).
func fnReplace(st *state, c *Call, args []Value) (Value, error) {
	src := args[0]
	if given(args, 2) {
		re, size := c.re, c.reSize
		if re == nil {
			p := args[2].String()
			if err := st.charge(c, len(p)*64); err != nil {
				return Value{}, err
			}
			var err error
			if re, size, err = compileRegex(p); err != nil {
				return Value{}, st.errorf(c.Args[2], "Replace: invalid regular expression: %v", err)
			}
			if err := st.charge(c, size*64); err != nil {
				return Value{}, err
			}
		}
		if given(args, 3) {
			group := args[3].String()
			gi := re.SubexpIndex(group)
			if gi < 0 {
				return Value{}, st.errorf(c.Args[3], "Replace: regexGroupName %q is not a named group of the pattern", clip(group, 40))
			}
			if given(args, 5) {
				if !src.isNullOrEmpty() {
					return src, nil
				}
				other := args[5].String()
				if err := st.chargeRegex(c, size, other); err != nil {
					return Value{}, err
				}
				m := re.FindStringSubmatchIndex(other)
				if m == nil || m[2*gi] < 0 {
					return src, nil
				}
				return Str(other[m[2*gi]:m[2*gi+1]]), nil
			}
			if given(args, 4) && src.kind != kindNull {
				return st.regexReplace(c, re, size, src.String(), args[4].String(), gi)
			}
			return src, nil
		}
		if given(args, 4) && src.kind != kindNull {
			return st.regexReplace(c, re, size, src.String(), args[4].String(), -1)
		}
		return src, nil
	}
	if given(args, 1) && src.kind != kindNull {
		old := args[1].String()
		if given(args, 6) {
			return st.replaceAll(c, args[6].String(), old, src.String())
		}
		if given(args, 4) {
			return st.replaceAll(c, src.String(), old, args[4].String())
		}
	}
	return src, nil
}

// replaceAll is strings.ReplaceAll with a size check; an empty old value
// leaves s unchanged.
func (st *state) replaceAll(c *Call, s, old, repl string) (Value, error) {
	if old == "" {
		return Str(s), nil
	}
	n := strings.Count(s, old)
	if err := st.produced(c, len(s)+n*(len(repl)-len(old))); err != nil {
		return Value{}, err
	}
	return Str(strings.ReplaceAll(s, old, repl)), nil
}

// chargeRegex charges for running a pattern of the given program size
// over s: one step plus one per 256 input-byte × instruction (RE2 time
// grows with both).
func (st *state) chargeRegex(c *Call, size int, s string) error {
	return st.charge(c, 256+len(s)*size)
}

// regexReplace replaces every match of re in s. With group >= 0 only that
// group's span is replaced, by repl taken literally; otherwise the whole
// match is replaced by repl expanded .NET-style.
func (st *state) regexReplace(c *Call, re *regexp.Regexp, size int, s, repl string, group int) (Value, error) {
	if err := st.chargeRegex(c, size, s); err != nil {
		return Value{}, err
	}
	ms := re.FindAllStringSubmatchIndex(s, maxMatches+1)
	if len(ms) > maxMatches {
		return Value{}, st.errorf(c, "Replace: more than %d matches", maxMatches)
	}
	if len(ms) == 0 {
		return Str(s), nil
	}
	if err := st.charge(c, len(ms)*64); err != nil {
		return Value{}, err
	}
	out := make([]byte, 0, len(s))
	last := 0
	for _, m := range ms {
		if group >= 0 {
			a, b := m[2*group], m[2*group+1]
			if a < 0 {
				continue
			}
			out = append(out, s[last:a]...)
			out = append(out, repl...)
			last = b
		} else {
			out = append(out, s[last:m[0]]...)
			out = expandDotNet(out, repl, re, s, m)
			last = m[1]
		}
		if len(out) > MaxValueSize {
			return Value{}, st.errorf(c, "Replace: result is larger than %d bytes", MaxValueSize)
		}
	}
	out = append(out, s[last:]...)
	if err := st.produced(c, len(out)); err != nil {
		return Value{}, err
	}
	return Str(string(out)), nil
}

// expandDotNet appends the .NET replacement pattern repl for match m:
// $$ → $, ${name} or ${n} → group, $n → group n (longest valid number),
// $& or $0 → match, $` → text before, $' → text after, $+ → last group,
// $_ → whole input. Anything else is literal.
func expandDotNet(dst []byte, repl string, re *regexp.Regexp, src string, m []int) []byte {
	group := func(i int) string {
		if i < 0 || 2*i+1 >= len(m) || m[2*i] < 0 {
			return ""
		}
		return src[m[2*i]:m[2*i+1]]
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '$' || i+1 == len(repl) {
			dst = append(dst, c)
			continue
		}
		n := repl[i+1]
		switch {
		case n == '$':
			dst = append(dst, '$')
			i++
		case n == '&':
			dst = append(dst, group(0)...)
			i++
		case n == '`':
			dst = append(dst, src[:m[0]]...)
			i++
		case n == '\'':
			dst = append(dst, src[m[1]:]...)
			i++
		case n == '_':
			dst = append(dst, src...)
			i++
		case n == '+':
			dst = append(dst, group(re.NumSubexp())...)
			i++
		case n == '{':
			end := strings.IndexByte(repl[i+2:], '}')
			if end < 0 {
				dst = append(dst, c)
				continue
			}
			name := repl[i+2 : i+2+end]
			gi := re.SubexpIndex(name)
			if gi < 0 {
				if k, err := strconv.Atoi(name); err == nil && k >= 0 && k <= re.NumSubexp() {
					gi = k
				}
			}
			if gi < 0 {
				dst = append(dst, c) // not a group: literal
				continue
			}
			dst = append(dst, group(gi)...)
			i += 2 + end
		case isDigit(rune(n)):
			j := i + 1
			for j < len(repl) && isDigit(rune(repl[j])) {
				j++
			}
			// Longest prefix of the digits that names a group.
			found := false
			for ; j > i+1; j-- {
				if k, err := strconv.Atoi(repl[i+1 : j]); err == nil && k <= re.NumSubexp() {
					dst = append(dst, group(k)...)
					found = true
					break
				}
			}
			if found {
				i = j - 1
			} else {
				dst = append(dst, c)
			}
		default:
			dst = append(dst, c)
		}
		if len(dst) > MaxValueSize+1 {
			return dst
		}
	}
	return dst
}

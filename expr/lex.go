package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind identifies the kind of a lexical token.
type tokenKind uint8

const (
	tokError   tokenKind = iota // lexical error; val holds the message
	tokEOF                      // end of input
	tokIdent                    // function name or bare enum word
	tokAttr                     // [attribute]; val holds the name
	tokString                   // "constant"; val holds the decoded value
	tokNumber                   // decimal integer, possibly negative; val holds the text
	tokHex                      // &H hex literal; val holds the text
	tokLParen                   // (
	tokRParen                   // )
	tokComma                    // ,
	tokCompare                  // = <> < > <= >=
	tokConcat                   // &
)

// token is one lexical item with its source position.
type token struct {
	kind tokenKind
	pos  Pos
	val  string
}

// describe renders the token for use in an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokIdent:
		return fmt.Sprintf("identifier %q", t.val)
	case tokAttr:
		return "attribute [" + t.val + "]"
	case tokString:
		return "string " + quote(clip(t.val, 40))
	case tokNumber, tokHex:
		return "number " + t.val
	case tokError:
		return t.val
	default:
		return fmt.Sprintf("%q", t.val)
	}
}

const eof = -1

// stateFn is one state of the lexer; it returns the next state.
type stateFn func(*lexer) stateFn

// lexer turns expression source into tokens. It is a state-function lexer
// in the manner of text/template/parse, run synchronously: nextToken runs
// states until one of them emits a token.
type lexer struct {
	src   string
	start int // start of the current token (byte offset)
	pos   int // current read position (byte offset)
	width int // width of the last rune read

	state   stateFn
	tok     token
	emitted bool

	// Incremental byte offset → line:col conversion. Tokens are emitted in
	// source order, so the tracker only ever moves forward.
	trackOff  int
	trackLine int
	trackCol  int
}

func newLexer(src string) *lexer {
	return &lexer{src: src, state: lexAny, trackLine: 1, trackCol: 1}
}

// nextToken returns the next token. After tokEOF or tokError it keeps
// returning the same token.
func (l *lexer) nextToken() token {
	for !l.emitted {
		l.state = l.state(l)
	}
	l.emitted = false
	return l.tok
}

func (l *lexer) next() rune {
	if l.pos >= len(l.src) {
		l.width = 0
		return eof
	}
	r, w := utf8.DecodeRuneInString(l.src[l.pos:])
	l.width = w
	l.pos += w
	return r
}

func (l *lexer) peek() rune {
	r := l.next()
	l.backup()
	return r
}

// backup steps back one rune; it may be called once per call of next.
func (l *lexer) backup() { l.pos -= l.width }

func (l *lexer) ignore() { l.start = l.pos }

// posAt converts a byte offset into a 1-based line and column (in runes).
func (l *lexer) posAt(off int) Pos {
	if off < l.trackOff {
		l.trackOff, l.trackLine, l.trackCol = 0, 1, 1
	}
	for l.trackOff < off {
		r, w := utf8.DecodeRuneInString(l.src[l.trackOff:])
		l.trackOff += w
		if r == '\n' {
			l.trackLine++
			l.trackCol = 1
		} else {
			l.trackCol++
		}
	}
	return Pos{Line: l.trackLine, Col: l.trackCol}
}

func (l *lexer) emit(k tokenKind, val string) {
	l.tok = token{kind: k, pos: l.posAt(l.start), val: val}
	l.emitted = true
	l.start = l.pos
}

// errorf emits an error token positioned at byte offset off and stops the lexer.
func (l *lexer) errorf(off int, format string, args ...any) stateFn {
	l.tok = token{kind: tokError, pos: l.posAt(off), val: fmt.Sprintf(format, args...)}
	l.emitted = true
	return lexStop
}

// lexStop re-emits the last token (EOF or error) forever.
func lexStop(l *lexer) stateFn {
	l.emitted = true
	return lexStop
}

// lexAny skips white space and dispatches on the next character.
func lexAny(l *lexer) stateFn {
	for {
		r := l.next()
		switch {
		case r == eof:
			l.emit(tokEOF, "")
			return lexStop
		case isSpace(r):
			l.ignore()
			continue
		case r == '(':
			l.emit(tokLParen, "(")
		case r == ')':
			l.emit(tokRParen, ")")
		case r == ',':
			l.emit(tokComma, ",")
		case r == '[':
			return lexAttr
		case r == '"':
			return lexString
		case r == '&':
			if p := l.peek(); p == 'H' || p == 'h' {
				return lexHex
			}
			l.emit(tokConcat, "&")
		case r == '=':
			l.emit(tokCompare, "=")
		case r == '<':
			switch l.peek() {
			case '>', '=':
				l.next()
			}
			l.emit(tokCompare, l.src[l.start:l.pos])
		case r == '>':
			if l.peek() == '=' {
				l.next()
			}
			l.emit(tokCompare, l.src[l.start:l.pos])
		case r == '-' || isDigit(r):
			l.backup()
			return lexNumber
		case isIdentStart(r):
			return lexIdent
		default:
			return l.errorf(l.start, "unexpected character %q", r)
		}
		return lexAny
	}
}

// lexIdent scans a function name or enum word; the first rune is consumed.
func lexIdent(l *lexer) stateFn {
	for isIdentRune(l.peek()) {
		l.next()
	}
	l.emit(tokIdent, l.src[l.start:l.pos])
	return lexAny
}

// lexAttr scans [name]; the '[' is consumed. Any character but ']' may
// appear in a name.
func lexAttr(l *lexer) stateFn {
	i := strings.IndexByte(l.src[l.pos:], ']')
	if i < 0 {
		return l.errorf(l.start, "unterminated attribute reference")
	}
	name := l.src[l.pos : l.pos+i]
	if name == "" {
		return l.errorf(l.start, "empty attribute name")
	}
	l.pos += i + 1
	l.emit(tokAttr, name)
	return lexAny
}

// lexString scans a "quoted" constant; the opening quote is consumed.
// \" and \\ are escapes; a backslash before any other character stays a
// literal backslash, so regex text such as "\d" needs no doubling (though
// "\\d" works too).
func lexString(l *lexer) stateFn {
	var b *strings.Builder
	seg := l.pos
	for {
		r := l.next()
		switch r {
		case eof:
			return l.errorf(l.start, "unterminated string constant")
		case '\\':
			if p := l.peek(); p == '"' || p == '\\' {
				if b == nil {
					b = new(strings.Builder)
				}
				b.WriteString(l.src[seg : l.pos-1])
				l.next()
				b.WriteRune(p)
				seg = l.pos
			}
		case '"':
			var val string
			if b == nil {
				val = l.src[seg : l.pos-1]
			} else {
				b.WriteString(l.src[seg : l.pos-1])
				val = b.String()
			}
			l.emit(tokString, val)
			return lexAny
		}
	}
}

// lexNumber scans an optionally negative decimal integer.
func lexNumber(l *lexer) stateFn {
	if l.peek() == '-' {
		l.next()
		if !isDigit(l.peek()) {
			return l.errorf(l.start, "unexpected character '-' (a minus sign must be followed by digits)")
		}
	}
	for isDigit(l.peek()) {
		l.next()
	}
	if isIdentRune(l.peek()) || l.peek() == '.' {
		return l.errorf(l.start, "malformed number %q", l.src[l.start:l.pos]+string(l.peek()))
	}
	l.emit(tokNumber, l.src[l.start:l.pos])
	return lexAny
}

// lexHex scans &H followed by hex digits; the '&' is consumed.
func lexHex(l *lexer) stateFn {
	l.next() // H
	n := 0
	for isHexDigit(l.peek()) {
		l.next()
		n++
	}
	if n == 0 || isIdentRune(l.peek()) {
		return l.errorf(l.start, "malformed hex literal %q", l.src[l.start:l.pos])
	}
	l.emit(tokHex, l.src[l.start:l.pos])
	return lexAny
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || r == 0xA0 || r == 0xFEFF
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isHexDigit(r rune) bool {
	return isDigit(r) || ('a' <= r && r <= 'f') || ('A' <= r && r <= 'F')
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

package odata

import "fmt"

// Error is a query or path the caller must fix: a 400 with a Graph error
// code (BadRequest, Request_BadRequest or Request_UnsupportedQuery) and a
// message that says what to change.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return errorf("BadRequest", format, args...)
}

// What each $filter grammar supports, for the messages.
const (
	supportedSimple = "Supported: <property> eq <'string'|true|false|null>, startswith(<property>,'<prefix>'), joined by 'and'."
	supportedRich   = "Supported: <property> eq|ne|gt|ge|lt|le <'string'|date-time|null>, startswith(<property>,'<prefix>'), contains(<property>,'<text>'), joined by 'and'/'or' with parentheses."
)

// unsupported is Graph's "Unsupported query." error naming the part.
func unsupported(format string, args ...any) *Error {
	return errorf("Request_UnsupportedQuery", "Unsupported query. In $filter, %s. "+supportedSimple, fmt.Sprintf(format, args...))
}

// unsupportedRich is unsupported for the comparison grammar (WithFilter).
func unsupportedRich(format string, args ...any) *Error {
	return errorf("Request_UnsupportedQuery", "Unsupported query. In $filter, %s. "+supportedRich, fmt.Sprintf(format, args...))
}

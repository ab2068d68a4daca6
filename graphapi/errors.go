package graphapi

import (
	"errors"
	"fmt"
	"net/http"

	"provisiond/store"
)

// Error is an error safe to show to API callers: it becomes a Graph error
// envelope with Status, Code and Message.
type Error struct {
	Status  int
	Code    string
	Message string
	// Header holds extra response headers (Retry-After, WWW-Authenticate).
	Header http.Header
	// Cause is the store, connector or decoding error behind the answer,
	// for errors.Is/As and the service log. Its text is never sent to the
	// caller: only Message is.
	Cause error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// badRequest is the common 400 for a request the caller must fix.
func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

// invalidParam is Graph's 400 for a wrong action parameter.
func invalidParam(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "RequestParameterInvalid", format, args...)
}

func notFound(format string, args ...any) *Error {
	return errorf(http.StatusNotFound, "Request_ResourceNotFound", format, args...)
}

func conflict(format string, args ...any) *Error {
	return errorf(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", format, args...)
}

// storeErr turns a store sentinel into an API error describing what,
// caused by err.
func storeErr(err error, what string) error {
	var e *Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = notFound("Resource '%s' does not exist or one of its queried reference-property objects are not present.", what)
	case errors.Is(err, store.ErrConflict):
		e = conflict("Another object with the same value for property %s already exists.", what)
	default:
		return err
	}
	e.Cause = err
	return e
}

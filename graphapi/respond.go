package graphapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/graphapi/odata"
)

// maxBody caps request bodies; a schema PUT is the largest legitimate one.
const maxBody = 4 << 20

const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// handler is the shape of every route: it writes a success response itself
// and returns an error otherwise.
type handler func(w http.ResponseWriter, r *http.Request) error

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// writeError writes err as a Graph error envelope. An *Error shows its
// Message (never its Cause); an odata or auth error is a 4xx of its own;
// anything else is internal: logged, and shown as a generic 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ge *Error
	var oe *odata.Error
	var ae *auth.Error
	switch {
	case errors.As(err, &ge):
		if ge.Status >= 500 {
			s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", ge.Status, "err", err)
		}
	case errors.As(err, &oe):
		ge = &Error{Status: http.StatusBadRequest, Code: oe.Code, Message: oe.Message}
	case errors.As(err, &ae):
		ge = &Error{Status: ae.Status, Code: ae.Code, Message: ae.Message}
		if ae.Status == http.StatusUnauthorized {
			ge.Header = http.Header{"Www-Authenticate": {ae.WWWAuthenticate()}}
		}
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ge = &Error{Status: http.StatusInternalServerError, Code: "UnknownError", Message: "An internal error occurred; the request id identifies it in the service log."}
	}
	for k, vs := range ge.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	_ = writeJSON(w, ge.Status, s.envelope(ge, w.Header()))
}

// envelope is Graph's error body for e; h holds the response's request ids.
func (s *Server) envelope(e *Error, h http.Header) map[string]any {
	return map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"innerError": map[string]string{
			"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        h.Get("request-id"),
			"client-request-id": h.Get("client-request-id"),
		},
	}}
}

// decodeJSON reads the request body into v. It accepts gzip bodies (the
// msgraph SDKs compress every body) and plain JSON mislabelled as gzip (one
// SDK resends plain JSON after a 429 with the header still set).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	present, err := decodeOptionalJSON(w, r, v)
	if err == nil && !present {
		return emptyBody()
	}
	return err
}

func emptyBody() *Error { return badRequest("The request body is empty; send a JSON object.") }

// decodeOptionalJSON is decodeJSON for a body that may be absent: an
// empty one leaves v alone and reports false. Before decoding it refuses
// what decoding would hide: text it would alter and, for v of a Go type,
// properties it has no field for.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) (present bool, err error) {
	raw, present, err := readJSON(w, r)
	if !present || err != nil {
		return false, err
	}
	if where, hint := textProblem(raw); hint != "" {
		return false, textError(where, hint)
	}
	if err := unknownProperty(raw, reflect.TypeOf(v)); err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, jsonError(err)
	}
	return true, nil
}

// readJSON reads a request body that must be JSON (gzip or plain), as is;
// an empty one reports false.
func readJSON(w http.ResponseWriter, r *http.Request) (raw json.RawMessage, present bool, err error) {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	raw, err = io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, false, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is larger than %d bytes.", maxBody)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, false, &Error{Status: http.StatusRequestTimeout, Code: "RequestTimeout", Cause: err,
				Message: "The request body did not arrive in time; send it without pauses.",
				Header:  http.Header{"Connection": {"close"}}}
		}
		return nil, false, &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Could not read the request body; send it again.", Cause: err}
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, false, badRequest("The request body is not valid gzip: %v.", err)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err != nil {
			return nil, false, badRequest("The request body is not valid gzip: %v.", err)
		}
		if len(raw) > maxBody {
			return nil, false, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The decompressed request body is larger than %d bytes.", maxBody)
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, false, nil
	}
	if !json.Valid(raw) {
		var v any
		return nil, false, jsonError(json.Unmarshal(raw, &v))
	}
	// A property named twice is ambiguous: refuse it rather than keep one.
	return raw, true, checkDuplicateKeys(raw)
}

// jsonError explains a decoding error in terms of the JSON and of Graph's
// types: the Go types the body decodes into are not the caller's concern.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return badRequest("The request body is not valid JSON: %v (at byte %d).", se, se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return badRequest("The request body must be a JSON object, not %s.", jsonKind(te.Value))
	case errors.As(err, &te):
		return badRequest("Invalid value for property '%s': expected %s, got %s.", te.Field, edmName(te.Type, te.Field), jsonKind(te.Value))
	case errors.As(err, &pe):
		return badRequest("Invalid Edm.DateTimeOffset value '%s': use ISO 8601, such as 2026-01-02T03:04:05Z.", strings.Trim(pe.Value, `"`))
	}
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Cause: err,
		Message: "The request body does not match the shape of the resource; a date-time property, for one, takes an ISO 8601 string."}
}

// requestIDs sets request-id and client-request-id on every response.
func (s *Server) requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.newID()
		w.Header().Set("request-id", id)
		cid := r.Header.Get("client-request-id")
		if cid == "" || len(cid) > 100 {
			cid = id
		}
		w.Header().Set("client-request-id", cid)
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request's outcome at debug level.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"dur", time.Since(start), "request-id", w.Header().Get("request-id"))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contextURL is the @odata.context value for a fragment such as
// "servicePrincipals('x')/synchronization/jobs/$entity", on the service's
// origin (see origin.go).
func contextURL(r *http.Request, fragment string) string {
	return origin(r) + "/v1.0/$metadata#" + fragment
}

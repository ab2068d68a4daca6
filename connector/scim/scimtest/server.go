package scimtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"provisiond/connector/scim/scimserver"
)

// Options configures a Server: the in-process server's switches plus
// fault injection.
type Options struct {
	scimserver.Options
	// Disrupt, when set, is asked about every request once its body is
	// read, and can delay it, fail it or drop the connection, before or
	// after the request takes effect (see Disruption).
	Disrupt func(r *http.Request) Disruption
}

// Disruption is what Options.Disrupt does to one request. The zero value
// serves it normally.
type Disruption struct {
	// Delay holds the request this long, or until the client goes away,
	// before anything else; with AfterEffect, after the request took effect
	// and before the answer. A client whose timeout is shorter sees a
	// timeout; without AfterEffect the request still takes effect late
	// unless Status or Drop is set.
	Delay time.Duration
	// Status answers with this status and a SCIM error body instead of
	// serving the request (with AfterEffect: instead of its real answer).
	Status int
	// RetryAfter is the Retry-After header sent with Status, if not "".
	RetryAfter string
	// Drop closes the connection without an answer.
	Drop bool
	// AfterEffect applies the request first (creating, changing or
	// deleting data) and then disrupts its answer: a lost answer to a
	// request that succeeded.
	AfterEffect bool
}

// Request is one request the server received, for tests to assert the
// traffic.
type Request struct {
	Method string
	Path   string // relative to where the server is mounted, e.g. "/Users/1"
	Query  url.Values
	Body   string
	Status int // the status the server answered; 0 when it dropped the connection
}

// Server is a scimserver.Server that logs every request and applies
// Options.Disrupt. It is safe for concurrent use.
type Server struct {
	*scimserver.Server
	disrupt func(r *http.Request) Disruption

	mu       sync.Mutex
	requests []Request
}

// NewServer returns an empty server.
func NewServer(opts Options) *Server {
	return &Server{Server: scimserver.New(opts.Options), disrupt: opts.Disrupt}
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset drops every user, group and logged request.
func (s *Server) Reset() {
	s.Server.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ServeHTTP serves the request as Disrupt says. The request is logged
// before its answer is sent, so the log is in the order requests took
// effect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	var d Disruption
	if s.disrupt != nil && err == nil {
		d = s.disrupt(r)
	}
	if d.Delay > 0 && !d.AfterEffect {
		wait(r, d.Delay)
	}
	status, deliver := 0, func() { drop(w) }
	switch {
	case !d.AfterEffect && d.Drop:
	case !d.AfterEffect && d.Status != 0:
		status, deliver = d.Status, func() { writeDisruption(w, d) }
	default:
		rec := httptest.NewRecorder()
		s.Server.ServeHTTP(rec, r)
		status = rec.Code
		switch {
		case d.Drop:
			status = 0
		case d.Status != 0:
			status, deliver = d.Status, func() { writeDisruption(w, d) }
		default:
			deliver = func() { flush(w, rec) }
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), Status: status})
	s.mu.Unlock()
	if d.Delay > 0 && d.AfterEffect {
		wait(r, d.Delay)
	}
	deliver()
}

// errReader hands the body's read error, if any, on to the server.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// wait sleeps d or until the client has gone.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func writeDisruption(w http.ResponseWriter, d Disruption) {
	if d.RetryAfter != "" {
		w.Header().Set("Retry-After", d.RetryAfter)
	}
	scimserver.WriteError(w, d.Status, "", "injected disruption")
}

// flush sends a recorded answer.
func flush(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

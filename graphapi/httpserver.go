package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Limits bound what one client connection may hold: slow or oversized
// requests are cut off instead of tying up the server. Zero fields take
// the defaults in brackets.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers [10s].
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included [60s]:
	// a body trickled in slower is answered with 408 and the connection
	// closed. Once the body is read it no longer applies, so long
	// handlers (provisionOnDemand against a slow target) are not cut.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the response, from its first byte [60s].
	// It is set per response rather than as http.Server.WriteTimeout,
	// which would count the handler's own time as well.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection between requests [120s].
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers together [64 KiB];
	// above it the answer is 431. (The request target alone is capped at
	// 16 KiB with 414, see checkRequest.)
	MaxHeaderBytes int
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 60*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.IdleTimeout, 120*time.Second)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
}

// HTTPServer returns an http.Server for s within l. Serve it on
// s.Listener(ln), so that what net/http answers by itself is a Graph
// error too.
func (s *Server) HTTPServer(l Limits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           writeDeadline(l.WriteTimeout, s),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// writeDeadline gives each response d to be written, counted from the
// first byte, so a client that stops reading cannot hold the connection.
// (net/http lifts it once the response is done, before the next request
// on the connection.)
func writeDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}, r)
	})
}

type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	d       time.Duration
	started bool
}

func (w *deadlineWriter) start() {
	if !w.started {
		w.started = true
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	}
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Listener wraps ln so that the plain-text errors net/http writes before
// any handler runs (a malformed request line such as /users/%zz, headers
// over MaxHeaderBytes, a missing Host) become Graph error envelopes.
//
// net/http has no hook for these: it writes them straight to the
// connection in one Write, in a fixed shape ("HTTP/1.1 <status>",
// text/plain, Connection: close, the status again as the body), which no
// response of a handler has (those carry Date and Content-Length). The
// wrapped connection recognises exactly that shape and writes the
// envelope instead; everything else passes through untouched.
func (s *Server) Listener(ln net.Listener) net.Listener { return &envelopeListener{ln, s} }

type envelopeListener struct {
	net.Listener
	s *Server
}

func (l *envelopeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &envelopeConn{Conn: c, s: l.s}, nil
}

type envelopeConn struct {
	net.Conn
	s *Server
	// timedOut records that the last read hit the read deadline: net/http
	// then answers a bare 400 that is really a timeout.
	timedOut atomic.Bool
}

func (c *envelopeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.timedOut.Store(errors.Is(err, os.ErrDeadlineExceeded))
	return n, err
}

// cannedHeaders is what net/http puts between the status line and the
// body of the errors it writes itself.
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *envelopeConn) Write(p []byte) (int, error) {
	status, detail, ok := parseCanned(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if status == http.StatusBadRequest && c.timedOut.Load() {
		status = http.StatusRequestTimeout
	}
	if _, err := c.Conn.Write(c.s.cannedEnvelope(status, detail)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseCanned recognises a net/http canned error, "HTTP/1.1 400 Bad
// Request[: detail]" + cannedHeaders + a body, and returns its status and
// detail.
func parseCanned(p []byte) (status int, detail string, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !found {
		return 0, "", false
	}
	line, body, found := bytes.Cut(rest, []byte(cannedHeaders))
	if !found || bytes.Contains(line, []byte("\r\n")) || bytes.Contains(body, []byte("\r\n")) || len(line) < 4 || line[3] != ' ' {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(line[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	if _, d, has := bytes.Cut(line, []byte(": ")); has {
		detail = string(d)
	}
	return status, detail, true
}

// cannedEnvelope is the whole HTTP response replacing a canned error.
func (s *Server) cannedEnvelope(status int, detail string) []byte {
	e := &Error{Status: status, Code: "BadRequest",
		Message: "The request could not be parsed. Check the request line: the URL must be percent-encoded, with '%' followed by two hex digits (%20, %2F)."}
	switch {
	case status == http.StatusRequestTimeout:
		e.Code, e.Message = "RequestTimeout", "The request headers did not arrive in time; send them without pauses."
	case status == http.StatusRequestHeaderFieldsTooLarge:
		e.Code, e.Message = "RequestHeaderFieldsTooLarge", "The request line and headers are larger than this service accepts; shorten the URL (page with $top and @odata.nextLink) or the headers."
	case status == http.StatusNotImplemented:
		e.Code, e.Message = "NotImplemented", "The request's Transfer-Encoding is not supported; send the body with Content-Length or chunked."
	case status != http.StatusBadRequest:
		e.Code, e.Message = "BadRequest", fmt.Sprintf("The request could not be served: %s.", http.StatusText(status))
	case detail != "":
		e.Message = fmt.Sprintf("The request is malformed: %s.", detail)
	}
	h := http.Header{}
	h.Set("request-id", s.newID())
	h.Set("client-request-id", h.Get("request-id"))
	body, _ := json.Marshal(s.envelope(e, h))
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\nrequest-id: %s\r\nclient-request-id: %s\r\nConnection: close\r\n\r\n",
		jsonContentType, len(body), h.Get("request-id"), h.Get("client-request-id"))
	b.Write(body)
	return b.Bytes()
}

package graphapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// This file tests the server as `provisiond serve` runs it: HTTPServer
// over Listener on a real socket, with raw requests no well-behaved
// client would send.

// listen serves the API test server a over a real listener with limits l
// and returns its address.
func listen(t *testing.T, a *apiTest, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := a.srv.HTTPServer(l)
	hs.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	go hs.Serve(a.srv.Listener(ln))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// rawRoundTrip writes req on a new connection and reads one response.
func rawRoundTrip(t *testing.T, addr, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, req) // the server may answer before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.60q: %v", req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, body
}

func TestMalformedRequestsGetGraphErrors(t *testing.T) {
	a := newAPITest(t)
	addr := listen(t, a, Limits{MaxHeaderBytes: 32 << 10})
	get := func(target string, headers ...string) string {
		return "GET " + target + " HTTP/1.1\r\n" + strings.Join(headers, "") + "Connection: close\r\n\r\n"
	}
	host := "Host: graph.test\r\n"
	tests := []struct {
		name, req string
		status    int
		code      string
		mention   string
	}{
		{"bad percent-encoding", get("/v1.0/users/%zz", host), 400, "BadRequest", "two hex digits"},
		{"dot segments", get("/v1.0/users/../../../etc/passwd", host), 400, "BadRequest", "'..'"},
		{"encoded dot segments", get("/v1.0/users/%2e%2e/%2E%2E/x", host), 400, "BadRequest", "'..'"},
		{"dot segment as a key", get("/v1.0/users('..')/x", host), 400, "BadRequest", "'..'"},
		{"empty segment", get("/v1.0//users", host), 400, "BadRequest", "empty segment"},
		{"empty key", get("/v1.0/users('')", host), 400, "BadRequest", "The key in 'users('')' is empty"},
		{"empty key inside", get("/v1.0/servicePrincipals('')/synchronization/jobs", host), 400, "BadRequest", "The key in 'servicePrincipals('')' is empty"},
		{"empty key on POST", "POST /v1.0/groups('') HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 400, "BadRequest", "is empty"},
		{"not a path", get("*", host), 400, "BadRequest", "must start with '/'"},
		{"URL over the limit", get("/v1.0/users?$filter="+strings.Repeat("a", maxURLBytes), host), 414, "RequestUriTooLong", "16384"},
		{"headers over the limit", get("/v1.0/users", host, "X-Big: "+strings.Repeat("b", 40<<10)+"\r\n"), 431, "RequestHeaderFieldsTooLarge", "headers"},
		{"no Host", get("/v1.0/users"), 400, "BadRequest", "missing required Host header"},
		{"unknown transfer encoding", "POST /v1.0/users HTTP/1.1\r\n" + host + "Transfer-Encoding: zip\r\n\r\n", 501, "NotImplemented", "Transfer-Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRoundTrip(t, addr, tt.req)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			res := response{status: resp.StatusCode, header: resp.Header, body: body}
			res.wantError(t, tt.status, tt.code, tt.mention)
		})
	}
	// The connection-level answer does not disturb normal requests.
	resp, body := rawRoundTrip(t, addr, get("/v1.0/users", host, "Authorization: Bearer x\r\n"))
	if resp.StatusCode != http.StatusOK || !json.Valid(body) {
		t.Errorf("GET /v1.0/users: %d %s", resp.StatusCode, body)
	}
}

func TestParseCanned(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP/1.1 400 Bad Request" + cannedHeaders + "400 Bad Request":                                                             "400 ",
		"HTTP/1.1 400 Bad Request: missing required Host header" + cannedHeaders + "400 Bad Request: missing required Host header": "400 missing required Host header",
		"HTTP/1.1 431 Request Header Fields Too Large" + cannedHeaders + "431 Request Header Fields Too Large":                     "431 ",
		// A handler's response has Date and Content-Length: never rewritten.
		"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nDate: x\r\nContent-Length: 1\r\n\r\nx": "",
		"HTTP/1.1 200 OK" + cannedHeaders + "200 OK": "",
		"garbage": "",
	} {
		status, detail, ok := parseCanned([]byte(in))
		got := ""
		if ok {
			got = fmt.Sprintf("%d %s", status, detail)
		}
		if got != want {
			t.Errorf("parseCanned(%q) = %q, want %q", in, got, want)
		}
	}
}

// trickle sends head, then up to len(tail) bytes of tail one at a time,
// every interval, until the server answers or closes. It returns how many
// bytes of tail were sent and what the server answered ("" if it closed).
func trickle(t *testing.T, addr, head, tail string, interval time.Duration) (sent int, answer string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c) // until the server closes
		done <- string(b)
	}()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	for sent < len(tail) {
		if _, err := io.WriteString(c, tail[sent:sent+1]); err != nil {
			break
		}
		sent++
		select {
		case answer = <-done:
			return sent, answer
		case <-time.After(interval):
		}
	}
	return sent, <-done
}

func TestSlowClientsAreCutOff(t *testing.T) {
	a := newAPITest(t)
	addr := listen(t, a, Limits{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second})
	const interval = 4 * time.Second // one byte per 4 s, four times the limits
	body := strings.Repeat(" ", 16)

	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		sent, answer := trickle(t, addr, "POST /v1.0/users HTTP/1.1\r\nHost: graph.test\r\n", "X-Slow: "+body, interval)
		if sent > 2 {
			t.Errorf("the server read %d header bytes sent one per %v; want it to hang up after the first", sent, interval)
		}
		if answer == "" {
			return // hung up without a word: fine too
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
		b, _ := io.ReadAll(resp.Body)
		res := response{status: resp.StatusCode, header: resp.Header, body: b}
		res.wantError(t, http.StatusRequestTimeout, "RequestTimeout", "headers did not arrive in time")
	})
	t.Run("body", func(t *testing.T) {
		t.Parallel()
		head := fmt.Sprintf("POST /v1.0/users HTTP/1.1\r\nHost: graph.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		sent, answer := trickle(t, addr, head, body, interval)
		if sent > 2 {
			t.Errorf("the server read %d body bytes sent one per %v; want it to cut the body off after the first", sent, interval)
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
		b, _ := io.ReadAll(resp.Body)
		res := response{status: resp.StatusCode, header: resp.Header, body: b}
		res.wantError(t, http.StatusRequestTimeout, "RequestTimeout", "did not arrive in time")
	})
}

// TestReadTimeoutSparesSlowHandlers: the read limit ends with the body,
// so a handler working longer than ReadTimeout is not cancelled.
func TestReadTimeoutSparesSlowHandlers(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusInternalServerError)
		case <-time.After(1500 * time.Millisecond): // longer than ReadTimeout
			io.WriteString(w, "done")
		}
	})
	a := newAPITest(t, func(c *Config) { c.Extra = map[string]http.Handler{"/slow": slow} })
	addr := listen(t, a, Limits{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second})
	resp, body := rawRoundTrip(t, addr, "POST /slow HTTP/1.1\r\nHost: graph.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	if resp.StatusCode != http.StatusOK || string(body) != "done" {
		t.Errorf("slow handler: %d %q", resp.StatusCode, body)
	}
}

// FuzzParseCanned: recognising net/http's canned errors never panics and
// only ever matches error statuses.
func FuzzParseCanned(f *testing.F) {
	f.Add([]byte("HTTP/1.1 400 Bad Request" + cannedHeaders + "400 Bad Request"))
	f.Add([]byte("HTTP/1.1 400 Bad Request: x" + cannedHeaders + "400 Bad Request: x"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nDate: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, p []byte) {
		status, _, ok := parseCanned(p)
		if ok && (status < 400 || status > 599) {
			t.Fatalf("parseCanned(%q) matched status %d", p, status)
		}
	})
}

// TestWriteDeadline: a client that stops reading is cut off by the write
// deadline; the deadline, counted per response, does not leak into the
// next request on a keep-alive connection (its 100 Continue included).
func TestWriteDeadline(t *testing.T) {
	written := make(chan error, 1)
	flood := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 1<<10 && err == nil; i++ { // at most 1 GiB
			_, err = w.Write(chunk)
		}
		written <- err
	})
	a := newAPITest(t, func(c *Config) { c.Extra = map[string]http.Handler{"/flood": flood} })
	addr := listen(t, a, Limits{WriteTimeout: time.Second})

	t.Run("client stops reading", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /flood HTTP/1.1\r\nHost: graph.test\r\n\r\n") // and never read
		select {
		case err := <-written:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("handler write ended with %v, want the write deadline", err)
			}
		case <-time.After(30 * time.Second): // a guard against hanging, not a measurement: the assertion is on the error
			c.Close()
			t.Errorf("handler write ended with %v, want the write deadline", <-written)
		}
	})
	t.Run("keep-alive after the deadline", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		roundTrip := func(req string) *http.Response {
			t.Helper()
			io.WriteString(c, req)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%.40q: %v", req, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		roundTrip("GET /v1.0/users HTTP/1.1\r\nHost: graph.test\r\n\r\n")
		time.Sleep(1500 * time.Millisecond) // past the first response's write deadline
		body := `{"accountEnabled":true,"displayName":"K","mailNickname":"k","userPrincipalName":"k@contoso.test","passwordProfile":{"password":"xWwvJ]6NMw+bWH-d"}}`
		io.WriteString(c, fmt.Sprintf("POST /v1.0/users HTTP/1.1\r\nHost: graph.test\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)))
		if cont, err := http.ReadResponse(br, nil); err != nil || cont.StatusCode != http.StatusContinue {
			t.Fatalf("want 100 Continue, got %v %v", cont, err)
		}
		if resp := roundTrip(body); resp.StatusCode != http.StatusCreated {
			t.Errorf("second request on the connection: %d", resp.StatusCode)
		}
	})
}

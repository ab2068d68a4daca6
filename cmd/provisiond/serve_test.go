package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"provisiond/logbuf"
)

// startDemo runs `provisiond serve --demo` with extra args and returns
// its base URL and demo token; the server stops when the test ends.
func startDemo(t *testing.T, args ...string) (base, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--demo", "--log-level", "error"}, args...), &out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitFor(t, done, out.String, "provisionOnDemand")
	tok := regexp.MustCompile(`(?m)^export TOKEN=(ey[\w.-]+)$`).FindStringSubmatch(out.String())
	url := regexp.MustCompile(`(http://[^/\s]+)/v1.0/`).FindStringSubmatch(out.String())
	if tok == nil || url == nil {
		t.Fatalf("cannot find the token and URL in:\n%s", out.String())
	}
	return url[1], tok[1]
}

// TestServePublicURL: links are built on --public-url, whatever the Host
// header says, and the listener answers malformed requests with Graph
// errors.
func TestServePublicURL(t *testing.T) {
	base, token := startDemo(t, "--public-url", "https://graph.example.com/")
	req, _ := http.NewRequest("GET", base+"/v1.0/users?$top=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1.0/users: %d %v", resp.StatusCode, err)
	}
	for _, k := range []string{"@odata.context", "@odata.nextLink"} {
		if link, _ := body[k].(string); !strings.HasPrefix(link, "https://graph.example.com/v1.0/") {
			t.Errorf("%s = %q, want it on https://graph.example.com", k, link)
		}
	}

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /v1.0/users/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	bad, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(bad.Body)
	if bad.StatusCode != 400 || !strings.Contains(string(raw), `"innerError"`) {
		t.Errorf("GET /v1.0/users/%%zz: %d %s, want a 400 Graph error", bad.StatusCode, raw)
	}
}

func TestServeRejectsBadPublicURL(t *testing.T) {
	for _, u := range []string{"graph.example.com", "ftp://graph.example.com", "https://", "https://graph.example.com/?x=1", "https://user@graph.example.com", "https://graph.example.com/#top"} {
		err := serve(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--public-url", u}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("--public-url %q: error %v, want a --public-url error", u, err)
		}
	}
}

func TestServeRejectsBadPacing(t *testing.T) {
	for _, tc := range []struct{ flag, value string }{
		{"--target-rate", "-1"}, {"--cycle-workers", "0"}, {"--cycle-workers", "1000"}, {"--cycle-chunk", "5"}, {"--cycle-chunk", "100000"},
	} {
		err := serve(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), tc.flag, tc.value}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s %s: error %v, want one naming the flag", tc.flag, tc.value, err)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while serve writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeDemo runs `provisiond serve --demo`, follows the printed curl
// command, and checks the clean shutdown.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir, "--demo", "--log-level", "error"}, &out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "provisionOnDemand") {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not print its instructions: %s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	text := out.String()
	token := regexp.MustCompile(`(?m)^export TOKEN=(ey[\w.-]+)$`).FindStringSubmatch(text)
	url := regexp.MustCompile(`(http://\S+/provisionOnDemand)`).FindStringSubmatch(text)
	body := regexp.MustCompile(`-d '(.+)'`).FindStringSubmatch(text)
	if token == nil || url == nil || body == nil {
		t.Fatalf("cannot find token, URL and body in:\n%s", text)
	}
	post := func() map[string]string {
		req, _ := http.NewRequest("POST", url[1], strings.NewReader(body[1]))
		req.Header.Set("Authorization", "Bearer "+token[1])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		return m
	}
	if k := post()["key"]; k != `{"result":"Success","details":{}}` {
		t.Errorf("first call key = %s", k)
	}
	if k := post()["key"]; !strings.Contains(k, "RedundantExport") {
		t.Errorf("second call key = %s", k)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v on shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}

	// A restart on the same data directory with --demo finds what it made.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	var out2 syncBuffer
	done2 := make(chan error, 1)
	go func() {
		done2 <- serve(ctx2, []string{"--addr", "127.0.0.1:0", "--data", dir, "--demo", "--log-level", "error"}, &out2)
	}()
	for !strings.Contains(out2.String(), "provisionOnDemand") {
		select {
		case err := <-done2:
			t.Fatalf("second serve ended: %v\n%s", err, out2.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel2()
	<-done2
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := token([]string{"--data", dir, "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, &out); err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(strings.TrimSpace(out.String()), "."); len(parts) != 3 {
		t.Errorf("token output is not one JWT: %q", out.String())
	}
	for _, args := range [][]string{
		{"--data", dir}, // neither --app nor --user
		{"--data", dir, "--app", "a", "--user", "u"}, // both
		{"--data", dir, "--user", "u@x", "--directory-roles", "Chief Everything Officer"},
	} {
		if err := token(args, &bytes.Buffer{}); err == nil {
			t.Errorf("token %v succeeded", args)
		}
	}
}

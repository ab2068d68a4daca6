package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"provisiond/auth"
	"provisiond/logbuf"
)

// TestServeDemo runs `provisiond serve --demo`, follows the printed curl
// command, and checks the clean shutdown.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir, "--demo", "--log-level", "error"}, &out)
	}()
	waitFor(t, done, out.String, "provisionOnDemand")
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
	var out2 logbuf.Buffer
	done2 := make(chan error, 1)
	go func() {
		done2 <- serve(ctx2, []string{"--addr", "127.0.0.1:0", "--data", dir, "--demo", "--log-level", "error"}, &out2)
	}()
	waitFor(t, done2, out2.String, "provisionOnDemand")
	cancel2()
	<-done2
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := token(t.Context(), []string{"--data", dir, "--init", "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, &out); err != nil {
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
		if err := token(t.Context(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("token %v succeeded", args)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"serve", "-h"}, {"serve", "--addr", "127.0.0.1:0", "-help"}, {"help", "serve"},
		{"token", "--help"}, {"token", "-h"}, {"help", "token"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Errorf("run %v = %v, want success", args, err)
		}
		want := []string{"usage:", "provisiond serve", "provisiond token"}
		switch {
		case slices.Contains(args, "serve"):
			want = []string{"usage:\n  provisiond serve", "-addr", "-data", "-log-level"}
		case slices.Contains(args, "token"):
			want = []string{"usage:\n  provisiond token", "-init", "-roles", "Synchronization.ReadWrite.All", "Application Administrator"}
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("run %v printed %q, missing %q", args, out.String(), w)
			}
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"serve", "--nope"}, {"token", "--nope"}, {"serve", "extra"}, {"help", "nope"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run %v succeeded", args)
		} else if len(args) > 1 && args[0] != "help" && !strings.Contains(err.Error(), "--help") {
			t.Errorf("run %v = %v, want a pointer to --help", args, err)
		}
	}
}

func TestTokenRefusesUnknownNames(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--app", "ci", "--roles", "Synchronization.ReadWrite.All,Synchronisation.ReadWrite.All"},
			[]string{`--roles: unknown application permission "Synchronisation.ReadWrite.All"`, "Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy"}},
		{[]string{"--user", "a@contoso.test", "--scopes", "User.ReadWrite"},
			[]string{`--scopes: unknown delegated permission "User.ReadWrite"`, "User.ReadWrite.All"}},
		{[]string{"--user", "a@contoso.test", "--scopes", "Application.ReadWrite.OwnedBy"}, // application-only
			[]string{"unknown delegated permission"}},
		{[]string{"--user", "a@contoso.test", "--directory-roles", "Application Administrator,Chief Everything Officer"},
			[]string{`unknown directory role "Chief Everything Officer"`, "Application Administrator, Cloud Application Administrator"}},
		{[]string{"--app", "ci", "--scopes", "User.Read.All"}, []string{"--scopes and --directory-roles go with --user"}},
		{[]string{"--user", "a@contoso.test", "--roles", "User.Read.All"}, []string{"--roles goes with --app"}},
	}
	for _, tt := range tests {
		err := token(t.Context(), append([]string{"--data", dir, "--init"}, tt.args...), io.Discard)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("token %v = %v, want an error containing %q", tt.args, err, w)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused calls wrote %v", entries)
	}
	// Names compare ignoring case, as the server does; role template ids count.
	var out bytes.Buffer
	if err := token(t.Context(), []string{"--data", dir, "--init", "--user", "a@contoso.test", "--scopes", "synchronization.readwrite.all",
		"--directory-roles", "global administrator," + auth.RoleApplicationAdministrator}, &out); err != nil {
		t.Fatal(err)
	}
}

func TestTokenNeedsExistingKey(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "typo")
	for _, dir := range []string{empty, missing} {
		err := token(t.Context(), []string{"--data", dir, "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--init") || !strings.Contains(err.Error(), dir) {
			t.Errorf("token --data %s = %v, want a refusal naming the directory and --init", dir, err)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("token created %v without --init", entries)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("token created %s without --init", missing)
	}

	// With --init it creates the key once; later calls use it, and a
	// server on that directory accepts their tokens.
	var out bytes.Buffer
	if err := token(t.Context(), []string{"--data", missing, "--init", "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := token(t.Context(), []string{"--data", missing, "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, &out); err != nil {
		t.Fatal(err)
	}
	iss, err := auth.LoadIssuer(missing)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
	if p, err := iss.Authenticator().Authenticate(req); err != nil || !slices.Contains(p.Roles, "Synchronization.ReadWrite.All") {
		t.Errorf("server rejects the token: %v %+v", err, p)
	}
}

// TestServeLogsKey checks that serve says which data directory and which
// signing key it uses.
func TestServeLogsKey(t *testing.T) {
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = logFile // serve logs to the process's stderr
	t.Cleanup(func() { os.Stderr = stderr })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir, "--log-level", "info"}, io.Discard)
	}()
	read := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	waitFor(t, done, read, "provisiond listening")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	iss, err := auth.LoadIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(read(), "\n") {
		if strings.Contains(l, "token signing key") {
			line = l
		}
	}
	for _, want := range []string{"kid=" + iss.KeyID(), "file=" + iss.KeyFile(), "data=" + filepath.Dir(iss.KeyFile())} {
		if !strings.Contains(line, want) {
			t.Errorf("key log line %q lacks %q", line, want)
		}
	}
}

// waitFor polls read until it contains want, failing the test when serve
// ends first or after 20 seconds.
func waitFor(t *testing.T, done <-chan error, read func() string, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(read(), want) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, read())
		case <-deadline:
			t.Fatalf("serve did not print %q within 20s:\n%s", want, read())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

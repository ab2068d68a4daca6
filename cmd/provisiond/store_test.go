package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provisiond/store/pgtest"
	"provisiond/store/sqlstore"
)

// TestProbes: /healthz and /readyz answer without a token; /readyz says
// 503 once the store is gone.
func TestProbes(t *testing.T) {
	base, _ := startDemo(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("GET %s: %d %q, want 200 ok", path, resp.StatusCode, body)
		}
	}
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ready := probes(st)["GET /readyz"]
	st.Close()
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the store closed: %d, want 503", rec.Code)
	}
}

// TestStoreFlag: a --store that is not a PostgreSQL URL is refused with
// what to give instead, and a password in it is never repeated.
func TestStoreFlag(t *testing.T) {
	for _, bad := range []string{"mysql://u:hunter2@db/x", "postgres:///nohost", "provisiond.db"} {
		err := serve(t.Context(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--store", bad}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "want a PostgreSQL URL") {
			t.Errorf("--store %s: %v, want a refusal asking for a PostgreSQL URL", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("--store %s: the error repeats the password: %v", bad, err)
		}
	}
}

// TestServeRefusesOtherKeys: a node whose data directory holds other keys
// than the database was first started with does not start, and says why;
// `token --store` refuses it too. A node with a copy of the keys starts.
func TestServeRefusesOtherKeys(t *testing.T) {
	dbURL := pgtest.Database(t)
	first := t.TempDir()
	startDemo(t, "--store", dbURL, "--data", first)

	copyOf := t.TempDir()
	for _, f := range []string{"tenant-id", "signing-key.pem", "secrets.key"} {
		b, err := os.ReadFile(filepath.Join(first, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyOf, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := token(t.Context(), []string{"--data", copyOf, "--store", dbURL, "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, io.Discard); err != nil {
		t.Errorf("token with a copy of the keys: %v", err)
	}
	startDemo(t, "--store", dbURL, "--data", copyOf) // a second node with the same keys

	other := t.TempDir()
	err := serve(t.Context(), []string{"--addr", "127.0.0.1:0", "--data", other, "--store", dbURL, "--log-level", "error"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "are not those the store was first started with") {
		t.Errorf("serve with other keys: %v, want a refusal naming the keys", err)
	}
	err = token(t.Context(), []string{"--data", other, "--store", dbURL, "--app", "ci", "--roles", "Synchronization.ReadWrite.All"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "are not those the store was first started with") {
		t.Errorf("token with other keys: %v, want a refusal naming the keys", err)
	}
}

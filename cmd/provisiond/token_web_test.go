package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"provisiond/cmd/provisiond/wiring"
	"provisiond/store/memory"
)

// TestTokenWeb: `token --web` prints a sign-in link that a server on the
// same data directory accepts once.
func TestTokenWeb(t *testing.T) {
	dir := t.TempDir()
	app, err := wiring.Wire(t.Context(), memory.New(), wiring.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler)
	defer srv.Close()

	var out bytes.Buffer
	if err := token(t.Context(), []string{"--data", dir, "--app", "ops", "--roles", "Synchronization.Read.All", "--web", "--public-url", srv.URL + "/"}, &out); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	code, ok := strings.CutPrefix(link, srv.URL+"/portal/signin#code=")
	if !ok || code == "" || strings.Count(link, ".") > 3 { // no JWT in the clear
		t.Fatalf("token --web printed %q; want %s/portal/signin#code=...", link, srv.URL)
	}
	signIn := func() (int, string) {
		res, err := http.Post(srv.URL+"/portal/session", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return res.StatusCode, b.String()
	}
	if status, body := signIn(); status != 200 || !strings.Contains(body, `"name":"ops"`) {
		t.Errorf("sign-in with the link's code: %d %s", status, body)
	}
	if status, body := signIn(); status != 401 || !strings.Contains(body, "used already") {
		t.Errorf("second sign-in with the same code: %d %s; want 401", status, body)
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"provisiond/logbuf"
)

// demoServer runs `provisiond serve --demo` with extra flags and returns
// its base URL, the printed token, the demo service principal and the demo
// SCIM app's URL.
func demoServer(t *testing.T, args ...string) (base, token, spID, scimURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--demo", "--log-level", "error"}, args...), &out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, done, out.String, "provisionOnDemand")
	m := regexp.MustCompile(`(?s)service principal (\S+), job.*SCIM app:\s+(\S+).*export TOKEN=(\S+)\s.*?(http://[^/\s]+)/v1.0`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("cannot read the demo's instructions:\n%s", out.String())
	}
	return m[4], m[3], m[1], m[2]
}

// validate calls validateCredentials with a BaseAddress and returns the
// status and the error message.
func validate(t *testing.T, base, token, spID, target string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"credentials": []map[string]string{
		{"key": "BaseAddress", "value": target}, {"key": "SecretToken", "value": "x"}}})
	req, _ := http.NewRequest("POST", base+"/v1.0/servicePrincipals/"+spID+"/synchronization/jobs/validateCredentials", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Message
}

// A target URL cannot point provisiond at itself or at cloud metadata;
// --target-networks narrows what it may call.
func TestTargetNetworks(t *testing.T) {
	base, token, spID, scimURL := demoServer(t)
	self := strings.TrimPrefix(base, "http://")
	for target, want := range map[string]string{
		base + "/v1.0": "the target address " + self + " is provisiond's own listen address; provisiond never calls itself",
		"http://localhost:" + strings.Split(self, ":")[1] + "/v1.0": "the target address " + self + " is provisiond's own listen address",
		"http://169.254.169.254/scim":                               "the target address 169.254.169.254 is link-local (cloud metadata); provisiond never calls it",
	} {
		if status, msg := validate(t, base, token, spID, target); status != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("validateCredentials(%s) = %d %q, want 400 saying %q", target, status, msg, want)
		}
	}
	if status, msg := validate(t, base, token, spID, scimURL); status != http.StatusBadRequest || !strings.Contains(msg, "Test connection") {
		t.Errorf("validateCredentials(the demo app with a wrong token) = %d %q, want the app's 401 as a 400", status, msg)
	}

	base, token, spID, scimURL = demoServer(t, "--target-networks", "10.0.0.0/8")
	if status, msg := validate(t, base, token, spID, scimURL); status != http.StatusBadRequest ||
		!strings.Contains(msg, "is outside the target networks this provisiond allows (10.0.0.0/8)") {
		t.Errorf("validateCredentials(loopback) with --target-networks 10.0.0.0/8 = %d %q, want 400", status, msg)
	}

	err := serve(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--target-networks", "10.0.0.1"}, &logbuf.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--target-networks") || !strings.Contains(err.Error(), "CIDR") {
		t.Errorf("serve --target-networks 10.0.0.1 = %v, want an error about CIDR notation", err)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"provisiond/portal"
	"provisiond/secrets"
)

// pageClient is a browser-like client: it keeps cookies and sends no
// Authorization header unless told.
type pageClient struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func newPageClient(t *testing.T, e *env) *pageClient {
	jar, _ := cookiejar.New(nil)
	return &pageClient{t: t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// call sends a request; header pairs are name, value.
func (c *pageClient) call(method, path string, body any, header ...string) (*http.Response, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res, m
}

// wantGraphError checks a Graph error envelope with status and code.
func wantGraphError(t *testing.T, what string, res *http.Response, m map[string]any, status int, code string) {
	t.Helper()
	errObj, _ := m["error"].(map[string]any)
	inner, _ := errObj["innerError"].(map[string]any)
	if res.StatusCode != status || errObj["code"] != code || errObj["message"] == "" || inner["request-id"] == nil {
		t.Errorf("%s: %d %v; want %d with a Graph error envelope, code %s", what, res.StatusCode, m, status, code)
	}
}

// TestPortalSession checks the session without a browser: the cookie's
// attributes, CSRF on cookie-authenticated writes, bearer callers
// unaffected, one-time codes, sign-out, and the routes beside /v1.0.
func TestPortalSession(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	job := "/v1.0/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	c := newPageClient(t, e)

	res, _ := c.call("GET", "/", nil)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/portal/" {
		t.Errorf("GET /: %d to %q; want 302 to /portal/", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = c.call("GET", "/portal/apps/x/jobs/y", nil)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("a page: %d, CSP %q; want 200 with a same-origin CSP", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	res, m := c.call("GET", "/portal/assets/nope.js", nil)
	wantGraphError(t, "a missing asset", res, m, 404, "Request_ResourceNotFound")
	res, m = c.call("GET", "/portal/assets/js", nil)
	wantGraphError(t, "an asset directory", res, m, 404, "Request_ResourceNotFound")
	if res, _ = c.call("GET", "/portal/assets/js/app.js", nil); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Errorf("the script: %d %q; want 200 as JavaScript (module scripts need the type)", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, m = c.call("GET", "/v1.0/nope", nil)
	wantGraphError(t, "an unknown API path", res, m, 404, "Request_ResourceNotFound")
	res, m = c.call("GET", "/portal/session", nil)
	wantGraphError(t, "the session before signing in", res, m, 401, "InvalidAuthenticationToken")
	res, m = c.call("GET", job, nil)
	wantGraphError(t, "the API without a token or session", res, m, 401, "InvalidAuthenticationToken")

	// Sign-in refuses what is not a token or a code.
	res, m = c.call("POST", "/portal/session", map[string]any{"token": "not-a-jwt"})
	wantGraphError(t, "sign-in with a bad token", res, m, 401, "InvalidAuthenticationToken")
	res, m = c.call("POST", "/portal/session", map[string]any{"token": e.token, "code": "x"})
	wantGraphError(t, "sign-in with both", res, m, 400, "BadRequest")
	res, m = c.call("POST", "/portal/session", map[string]any{"password": "x"})
	wantGraphError(t, "sign-in with an unknown field", res, m, 400, "BadRequest")
	for body, want := range map[string]string{`[]`: "it is a JSON array, not an object.", `{"token":5}`: `"token" is a JSON number, not a string.`} {
		res, m = c.call("POST", "/portal/session", json.RawMessage(body))
		wantGraphError(t, "sign-in with "+body, res, m, 400, "BadRequest")
		if msg, _ := m["error"].(map[string]any)["message"].(string); !strings.HasSuffix(msg, want) {
			t.Errorf("sign-in with %s: message %q, want it to end %q", body, msg, want)
		}
	}

	big, err := e.issuer.MintApp(strings.Repeat("x", 4000), []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, m = c.call("POST", "/portal/session", map[string]any{"token": big})
	wantGraphError(t, "sign-in with a token too large for a cookie", res, m, 400, "BadRequest")

	res, m = c.call("POST", "/portal/session", map[string]any{"token": e.token})
	if res.StatusCode != 200 || m["name"] != "e2e-admin" || m["csrfToken"] == "" {
		t.Fatalf("sign-in: %d %v", res.StatusCode, m)
	}
	csrf := m["csrfToken"].(string)
	var ck *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == portal.CookieName {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure || ck.Expires.IsZero() {
		t.Errorf("session cookie %+v; want HttpOnly, SameSite=Strict, Path=/, an expiry, not Secure over http", ck)
	}
	if strings.Contains(ck.Value, e.token) || strings.Contains(ck.Value, strings.Split(e.token, ".")[1]) {
		t.Error("the session cookie holds the token in the clear")
	}

	// Reads need no CSRF token; writes do.
	if res, m = c.call("GET", job, nil); res.StatusCode != 200 {
		t.Errorf("GET the job with the session: %d %v", res.StatusCode, m)
	}
	res, m = c.call("POST", job+"/pause", nil)
	wantGraphError(t, "a write with the session and no CSRF header", res, m, 403, "Authorization_RequestDenied")
	res, m = c.call("POST", job+"/pause", nil, portal.CSRFHeader, "wrong")
	wantGraphError(t, "a write with a wrong CSRF header", res, m, 403, "Authorization_RequestDenied")
	if res, m = c.call("POST", job+"/pause", nil, portal.CSRFHeader, csrf); res.StatusCode != 204 {
		t.Errorf("a write with the CSRF header: %d %v", res.StatusCode, m)
	}
	// A bearer caller is unaffected by a cookie it happens to send.
	if res, m = c.call("POST", job+"/pause", nil, "Authorization", "Bearer "+e.token); res.StatusCode != 204 {
		t.Errorf("a bearer write with a session cookie and no CSRF header: %d %v", res.StatusCode, m)
	}

	// Sign-out needs the CSRF header, then ends the session.
	res, m = c.call("DELETE", "/portal/session", nil)
	wantGraphError(t, "sign-out without the CSRF header", res, m, 403, "Authorization_RequestDenied")
	if res, _ = c.call("DELETE", "/portal/session", nil, portal.CSRFHeader, csrf); res.StatusCode != 204 {
		t.Errorf("sign-out: %d", res.StatusCode)
	}
	res, m = c.call("GET", job, nil)
	wantGraphError(t, "the API after sign-out", res, m, 401, "InvalidAuthenticationToken")
	// A copy of the cookie taken before sign-out is refused too: the
	// session's end is recorded in the store, not only in the browser.
	copied := newPageClient(t, e)
	copied.http.Jar.SetCookies(mustURL(t, e.url), []*http.Cookie{{Name: portal.CookieName, Value: ck.Value, Path: "/"}})
	res, m = copied.call("GET", job, nil)
	wantGraphError(t, "the API with a copy of a signed-out cookie", res, m, 401, "InvalidAuthenticationToken")
	res, m = copied.call("GET", "/portal/session", nil)
	wantGraphError(t, "the session with a copy of a signed-out cookie", res, m, 401, "InvalidAuthenticationToken")

	// A tampered cookie is refused.
	u := mustURL(t, e.url)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: portal.CookieName, Value: ck.Value[:len(ck.Value)-4] + "AAAA", Path: "/"}})
	res, m = c.call("GET", job, nil)
	wantGraphError(t, "a tampered session cookie", res, m, 401, "InvalidAuthenticationToken")

	// One-time codes: once, and not after they expire.
	box, err := secrets.LoadOrCreate(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	code, err := portal.NewSignInCode(box, e.token, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res, m = c.call("POST", "/portal/session", map[string]any{"code": code}); res.StatusCode != 200 || m["name"] != "e2e-admin" {
		t.Errorf("sign-in with a code: %d %v", res.StatusCode, m)
	}
	res, m = c.call("POST", "/portal/session", map[string]any{"code": code})
	wantGraphError(t, "a code used twice", res, m, 401, "InvalidAuthenticationToken")
	old, _ := portal.NewSignInCode(box, e.token, time.Now().Add(-portal.CodeTTL-time.Second))
	res, m = c.call("POST", "/portal/session", map[string]any{"code": old})
	wantGraphError(t, "an expired code", res, m, 401, "InvalidAuthenticationToken")
	other, _ := secrets.NewBox(bytes.Repeat([]byte{9}, 32))
	forged, _ := portal.NewSignInCode(other, e.token, time.Now())
	res, m = c.call("POST", "/portal/session", map[string]any{"code": forged})
	wantGraphError(t, "a code sealed with another key", res, m, 401, "InvalidAuthenticationToken")

	// A session whose token expires ends with it.
	short, err := e.issuer.MintApp("short", []string{"Synchronization.Read.All"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res, _ = c.call("POST", "/portal/session", map[string]any{"token": short}); res.StatusCode != 200 {
		t.Fatalf("sign-in with a short token: %d", res.StatusCode)
	}
	time.Sleep(2100 * time.Millisecond) // JWT expiry has whole seconds
	// Sent again as a client that ignores the cookie's expiry would.
	for _, k := range res.Cookies() {
		if k.Name == portal.CookieName {
			c.http.Jar.SetCookies(u, []*http.Cookie{{Name: k.Name, Value: k.Value, Path: "/"}})
		}
	}
	res, m = c.call("GET", "/portal/session", nil)
	wantGraphError(t, "the session after its token expired", res, m, 401, "InvalidAuthenticationToken")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"provisiond/auth"
	"provisiond/store/memory"
)

// oneToken accepts the bearer token "good" only.
type oneToken struct{}

func (oneToken) Authenticate(r *http.Request) (auth.Principal, error) {
	if r.Header.Get("Authorization") == "Bearer good" {
		return auth.Principal{Name: "fuzz", Roles: []string{"Directory.Read.All"}}, nil
	}
	return auth.Principal{}, &auth.Error{Status: http.StatusUnauthorized, Code: auth.CodeInvalidToken, Message: "Not the test token."}
}

// FuzzSession sends any sign-in body (POST), then any session cookie (the
// one signed in when cookie is empty) and CSRF header (GET, DELETE), to
// the session route: never a 5xx, every error a JSON body with a code and
// a message, and a session only for the one good token.
func FuzzSession(f *testing.F) {
	for _, b := range []string{"", "{}", "null", `{"token":"good"}`, `{"token":"Bearer good"}`, `{"token":"bad"}`,
		`{"code":"x"}`, `{"token":"good","code":"x"}`, `{"token":"good","extra":1}`, `{"token":7}`, `[`} {
		f.Add(b, "", "")
	}
	f.Add("", "not-a-sealed-value", "x")
	f.Add("", strings.Repeat("A", 5000), "")
	box := testBox(f)
	f.Fuzz(func(t *testing.T, body, cookie, csrf string) {
		p := New(Config{Auth: oneToken{}, Box: box, Store: memory.New(), Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
		h := p.Routes()
		serve := func(method, pattern string, req *http.Request) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h[method+" "+pattern].ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s (body %q, cookie %q): status %d: %s", method, pattern, body, cookie, rec.Code, rec.Body)
			}
			if rec.Code >= 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Fatalf("%s %s: status %d without a JSON error (%v): %s", method, pattern, rec.Code, err, rec.Body)
				}
			}
			return rec
		}

		req := httptest.NewRequest("POST", "/portal/session", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := serve("POST", "/portal/session", req)
		var in struct{ Token string }
		if rec.Code == http.StatusOK {
			if json.Unmarshal([]byte(body), &in) != nil || strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(in.Token), "Bearer ")) != "good" {
				t.Fatalf("POST /portal/session %q: signed in", body)
			}
			if cookie == "" { // go on with the session signed in
				for _, c := range rec.Result().Cookies() {
					if c.Name == CookieName {
						cookie = c.Value
					}
				}
			}
		}

		for _, method := range []string{"GET", "DELETE"} {
			req := httptest.NewRequest(method, "/portal/session", nil)
			if c := (&http.Cookie{Name: CookieName, Value: cookie}); c.Valid() == nil {
				req.AddCookie(c)
			}
			if csrf != "" && !strings.ContainsAny(csrf, "\r\n\x00") {
				req.Header.Set("X-CSRF-Token", csrf)
			}
			serve(method, "/portal/session", req)
		}
		if _, err := p.Authenticator().Authenticate(httptest.NewRequest("GET", "/v1.0/users", nil)); err == nil {
			t.Fatal("a request without a token or cookie was authenticated")
		} else if ae := (*auth.Error)(nil); !errors.As(err, &ae) {
			t.Fatalf("the authenticator failed with %T %v, not an auth.Error", err, err)
		}
	})
}

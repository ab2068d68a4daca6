package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fixed clock of the issuer tests.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newTestIssuer returns an issuer in a fresh directory with a fixed clock.
func newTestIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss, err := LoadOrCreateIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	iss.now = func() time.Time { return testNow }
	return iss
}

// request returns a GET with the Authorization header set to authz (none if
// empty).
func request(authz string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1.0/servicePrincipals", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

// sign signs claims with method and key, setting kid if not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds header.payload. with arbitrary header and claims and an
// empty signature (alg none and similar).
func unsigned(t testing.TB, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// appClaims are valid claims of an application token from iss at testNow.
func appClaims(iss *Issuer) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   iss.IssuerURL(),
		"aud":   GraphAudience,
		"tid":   iss.TenantID(),
		"oid":   iss.AppObjectID("app1"),
		"appid": iss.AppID("app1"),
		"idtyp": "app",
		"roles": []string{"Synchronization.ReadWrite.All"},
		"iat":   testNow.Unix(),
		"nbf":   testNow.Unix(),
		"exp":   testNow.Add(time.Hour).Unix(),
	}
}

// with returns a copy of c with kv applied; a nil value deletes the claim.
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// wantError checks that err is an *Error with status, code and message.
func wantError(t testing.TB, err error, status int, code, msg string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Status != status || e.Code != code || e.Message != msg {
		t.Fatalf("error = {%d %q %q}, want {%d %q %q}", e.Status, e.Code, e.Message, status, code, msg)
	}
	return e
}

// payload decodes the claims of a compact JWT without verifying it.
func payload(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

package auth

import (
	"testing"
	"time"
)

// A verified token is remembered, but only while it is valid: once it
// expires it is refused with the usual message, cached or not.
func TestVerifiedCacheHonoursExpiry(t *testing.T) {
	iss := newTestIssuer(t)
	now := time.Now()
	iss.now = func() time.Time { return now }
	tok, err := iss.MintApp("cache-test", []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := iss.Authenticator()
	for i := range 2 { // the second call is served from the cache
		if _, err := a.Authenticate(request("Bearer " + tok)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	now = now.Add(time.Hour + Leeway + time.Second)
	_, err = a.Authenticate(request("Bearer " + tok))
	wantError(t, err, 401, "InvalidAuthenticationToken", msgExpired)
}

// The cache keys by the token's digest: a token that differs in one
// character (a forged signature) is verified, and refused.
func TestVerifiedCacheDoesNotMatchAlteredTokens(t *testing.T) {
	iss := newTestIssuer(t)
	tok, err := iss.MintApp("cache-test", []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := iss.Authenticator()
	if _, err := a.Authenticate(request("Bearer " + tok)); err != nil {
		t.Fatal(err)
	}
	last := tok[len(tok)-2]
	alt := byte('A')
	if last == 'A' {
		alt = 'B'
	}
	forged := tok[:len(tok)-2] + string(alt) + tok[len(tok)-1:]
	if _, err := a.Authenticate(request("Bearer " + forged)); err == nil {
		t.Fatal("a token with an altered signature was accepted")
	}
}

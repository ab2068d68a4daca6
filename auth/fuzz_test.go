package auth

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

var (
	knownMessages = map[string]bool{
		msgEmpty: true, msgNotBearer: true, msgTooLarge: true, msgManyHeaders: true, msgMalformed: true, msgCrit: true, msgNoAlg: true,
		msgUnknownKey: true, msgSignature: true, msgNoExpiry: true, msgExpired: true, msgIssuer: true,
		msgAudience: true, msgTenant: true, msgNoSubject: true,
	}
	// The only variable message names the header's alg, never token data
	// beyond that short name.
	unsupportedAlgRE = regexp.MustCompile(`^Unsupported signing algorithm ([A-Za-z0-9_+-]{1,20}|\(invalid name\))\.$`)
)

// FuzzAuthenticate feeds arbitrary Authorization header values through the
// embedded Authenticator: it must never panic, every rejection must be a
// 401 InvalidAuthenticationToken whose challenge is a valid header value,
// its message must be one of the fixed ones, and anything accepted must carry the issuer's tenant.
func FuzzAuthenticate(f *testing.F) {
	iss := newTestIssuer(f)
	valid := appClaims(iss)
	good := sign(f, jwt.SigningMethodES256, iss.key, iss.KeyID(), valid)
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Basic abc", "bearer x.y.z", "Bearer garbage", "Bearer a.b.c", "Bearer ..", "Bearer e30.e30.",
		"Bearer " + good,
		"Bearer " + good[:len(good)-3],
		"Bearer " + unsigned(f, map[string]any{"alg": "none"}, valid),
		"Bearer " + unsigned(f, map[string]any{"alg": "ES256", "kid": 1}, valid) + "AAAA",
		"Bearer " + sign(f, jwt.SigningMethodHS256, []byte("secret"), iss.KeyID(), valid),
		"Bearer " + sign(f, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "exp", "soon", "scp", []any{1, 2})),
		"Bearer " + sign(f, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "aud", []any{nil, 3}, "tid", 4)),
	} {
		f.Add(s)
	}
	a := iss.Authenticator()
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://x/v1.0/users", nil)
		r.Header["Authorization"] = []string{header}
		p, err := a.Authenticate(r)
		if err == nil {
			if p.TenantID != iss.TenantID() || p.ObjectID == "" {
				t.Fatalf("accepted principal %+v", p)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != 401 || e.Code != CodeInvalidToken || e.Message == "" {
			t.Fatalf("error = %#v", err)
		}
		if h := e.WWWAuthenticate(); strings.ContainsAny(h, "\r\n\x00") || !strings.HasPrefix(h, `Bearer realm=""`) {
			t.Fatalf("challenge %q is not a valid header value", h)
		}
		if !knownMessages[e.Message] && !unsupportedAlgRE.MatchString(e.Message) {
			t.Fatalf("unexpected message %q", e.Message)
		}
	})
}

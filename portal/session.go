package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/secrets"
)

// CookieName is the session cookie; CSRFHeader carries the session's CSRF
// token on every request that is not a GET or HEAD.
const (
	CookieName = "provisiond_session"
	CSRFHeader = "X-CSRF-Token"
)

// Purposes sealed in front of each payload, so that a sealed value made for
// one use (a sign-in code, job secrets) is never accepted for another.
const (
	purposeSession = "provisiond-session\x00"
	purposeCode    = "provisiond-signin\x00"
)

// session is what the cookie carries, sealed: the token and the CSRF token
// the page must echo.
type session struct {
	Token   string    `json:"t"`
	CSRF    string    `json:"c"`
	Expires time.Time `json:"e"`
}

// seal encrypts v for purpose and encodes it for a cookie or a URL.
func seal(box *secrets.Box, purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(box.Seal(append([]byte(purpose), b...))), nil
}

// unseal reverses seal; any tampering, another key or another purpose is
// an error.
func unseal(box *secrets.Box, purpose, s string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	plain, err := box.Open(raw)
	if err != nil {
		return err
	}
	body, ok := strings.CutPrefix(string(plain), purpose)
	if !ok {
		return errors.New("sealed for another purpose")
	}
	return json.Unmarshal([]byte(body), v)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenExpiry reads the exp claim of a JWT the authenticator has accepted
// already; zero when it has none.
func tokenExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return time.Time{}
	}
	n, err := c.Exp.Int64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// sessionAuth authenticates requests by bearer token, or else by the
// session cookie, whose token goes through the same authenticator.
type sessionAuth struct{ p *Portal }

// Authenticate implements auth.Authenticator.
func (a sessionAuth) Authenticate(r *http.Request) (auth.Principal, error) {
	c, err := r.Cookie(CookieName)
	if r.Header.Get("Authorization") != "" || err != nil {
		return a.p.auth.Authenticate(r)
	}
	s, err := a.p.openSession(r.Context(), c.Value)
	if err != nil && !errors.Is(err, errNoSession) {
		return auth.Principal{}, err
	}
	if err != nil {
		return auth.Principal{}, &auth.Error{Status: http.StatusUnauthorized, Code: auth.CodeInvalidToken,
			Message: "The portal session has expired or is not valid; sign in again."}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfMatches(r, s) {
		return auth.Principal{}, &auth.Error{Status: http.StatusForbidden, Code: auth.CodeDenied, Message: msgNoCSRF}
	}
	return a.p.authenticateToken(r, s.Token)
}

const msgNoCSRF = "This request carries the portal's session cookie but not its " + CSRFHeader +
	" header; send the csrfToken that GET /portal/session returns."

// csrfMatches reports whether r echoes the session's CSRF token.
func csrfMatches(r *http.Request, s session) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(s.CSRF)) == 1
}

// openSession unseals a session cookie that has not expired and was not
// signed out.
func (p *Portal) openSession(ctx context.Context, v string) (session, error) {
	var s session
	if err := unseal(p.box, purposeSession, v, &s); err != nil {
		return session{}, fmt.Errorf("%w: %v", errNoSession, err)
	}
	now := p.now()
	if !s.Expires.IsZero() && !now.Before(s.Expires) {
		return session{}, fmt.Errorf("%w: expired", errNoSession)
	}
	ended, err := p.store.WasUsed(ctx, signedOutKey(s), now)
	if err != nil {
		return session{}, fmt.Errorf("look up the session's sign-out: %w", err)
	}
	if ended {
		return session{}, fmt.Errorf("%w: signed out", errNoSession)
	}
	return s, nil
}

// errNoSession is a cookie that is no session (any more): the client's to
// fix by signing in. Other errors of openSession are the server's.
var errNoSession = errors.New("not a valid session")

// signedOutKey names a session's end in the store (UseOnce): a hash of
// its CSRF token, which is random per session and never stored in clear.
func signedOutKey(s session) string {
	h := sha256.Sum256([]byte(s.CSRF))
	return "portal-signed-out:" + base64.RawURLEncoding.EncodeToString(h[:])
}

// signedOutKeep is how long a session's end is kept when its token has no
// expiry of its own.
const signedOutKeep = 30 * 24 * time.Hour

// authenticateToken authenticates r as if it carried tok as its bearer
// token.
func (p *Portal) authenticateToken(r *http.Request, tok string) (auth.Principal, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return p.auth.Authenticate(r2)
}

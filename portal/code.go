package portal

import (
	"context"
	"errors"
	"strings"
	"time"

	"provisiond/secrets"
	"provisiond/store"
)

// CodeTTL is how long a sign-in code of `provisiond token --web` works.
const CodeTTL = 10 * time.Minute

// signInCode is what a one-time sign-in code carries, sealed: the token it
// signs in with, the id recorded when it is used, and when it expires.
type signInCode struct {
	Token   string    `json:"t"`
	ID      string    `json:"i"`
	Expires time.Time `json:"e"`
}

// NewSignInCode seals tok into a one-time sign-in code that a server on the
// same data directory (the same box) accepts once, until now+CodeTTL.
func NewSignInCode(box *secrets.Box, tok string, now time.Time) (string, error) {
	return seal(box, purposeCode, signInCode{Token: tok, ID: randomToken(), Expires: now.Add(CodeTTL)})
}

// SignInLink is the page that signs in with code on the server at
// publicURL. The code travels in the fragment, which browsers never send
// to servers, so it stays out of access logs and Referer headers.
func SignInLink(publicURL, code string) string {
	return strings.TrimRight(publicURL, "/") + "/portal/signin#code=" + code
}

// errCodeRefused is every reason a code is refused; the caller learns
// only that it must get a new one.
var errCodeRefused = errors.New("this sign-in code is not valid, has expired or was used already; run `provisiond token ... --web` again for a new link")

// openCode unseals a code that has not expired.
func (p *Portal) openCode(s string) (signInCode, error) {
	var c signInCode
	if err := unseal(p.box, purposeCode, strings.TrimSpace(s), &c); err != nil {
		return signInCode{}, errCodeRefused
	}
	if c.ID == "" || !p.now().Before(c.Expires) {
		return signInCode{}, errCodeRefused
	}
	return c, nil
}

// useCode opens a code and records its use in the store, so that it works
// once, whichever process sharing the store is asked; it returns the token.
func (p *Portal) useCode(ctx context.Context, s string) (string, error) {
	c, err := p.openCode(s)
	if err != nil {
		return "", err
	}
	switch err := p.store.UseOnce(ctx, "signin:"+c.ID, c.Expires, p.now()); {
	case errors.Is(err, store.ErrConflict):
		return "", errCodeRefused
	case err != nil:
		return "", err
	}
	return c.Token, nil
}

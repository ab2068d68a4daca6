package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Error codes used by this package.
const (
	// CodeInvalidToken is the code of every 401: the token is missing or
	// not acceptable.
	CodeInvalidToken = "InvalidAuthenticationToken"
	// CodeDenied is the code of every 403: the caller is known but lacks a
	// permission or role, or is a personal account.
	CodeDenied = "Authorization_RequestDenied"
)

// Error is an authentication or authorization failure. Its Status, Code and
// Message are safe to show to the caller; they never contain the token.
type Error struct {
	Status  int
	Code    string
	Message string

	authURI string // authorization_uri for the Bearer challenge, if known
	noToken bool   // the request carried no token (RFC 6750 §3.1: no error code)
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// WWWAuthenticate returns the value of the WWW-Authenticate header to send
// with a 401, in Graph's shape, for example
//
//	Bearer realm="", authorization_uri="https://idp.example/authorize", error="invalid_token", error_description="Invalid audience."
//
// When the request carried no token, error and error_description are left
// out as RFC 6750 asks.
func (e *Error) WWWAuthenticate() string {
	var b strings.Builder
	b.WriteString(`Bearer realm=""`)
	if e.authURI != "" {
		fmt.Fprintf(&b, `, authorization_uri="%s"`, quote(e.authURI))
	}
	if !e.noToken && e.Status == http.StatusUnauthorized {
		fmt.Fprintf(&b, `, error="invalid_token", error_description="%s"`, quote(e.Message))
	}
	return b.String()
}

// quote escapes s for an HTTP quoted-string and drops control characters.
func quote(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r > 0x7e:
			// Messages are ASCII; anything else is dropped to keep the
			// header valid.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Messages of the 401s, one per reason. Tests compare against them.
const (
	msgEmpty         = "Access token is empty."
	msgNotBearer     = "Access token is empty. The Authorization header must use the Bearer scheme."
	msgTooLarge      = "Access token is too large."
	msgManyHeaders   = "The request has more than one Authorization header: send the access token in one."
	msgMalformed     = "Access token is malformed: it is not a signed JWT (JWS compact serialization)."
	msgCrit          = "Access token uses unsupported critical header parameters."
	msgUnsupportedFm = "Unsupported signing algorithm %s."
	msgNoAlg         = "Access token header has no signing algorithm."
	msgUnknownKey    = "Signing key not found."
	msgSignature     = "Invalid signature."
	msgNoExpiry      = "Access token has no expiration time."
	msgExpired       = "Access token has expired or is not yet valid."
	msgIssuer        = "Invalid issuer."
	msgAudience      = "Invalid audience."
	msgTenant        = "Invalid tenant. The token was issued for another tenant."
	msgNoSubject     = "Access token has no subject (oid or sub claim)."
	msgPersonal      = "Personal Microsoft accounts are not supported."
	msgInsufficient  = "Insufficient privileges to complete the operation."
)

func unauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msg}
}

func denied(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeDenied, Message: msg}
}

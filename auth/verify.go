package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audiences of Microsoft Graph access tokens. The embedded issuer mints
// GraphAudience and accepts both, and GraphAudience with a trailing slash.
const (
	GraphAudience = "https://graph.microsoft.com"
	GraphAppID    = "00000003-0000-0000-c000-000000000000"
)

const (
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// maxTokenLen bounds the work spent on one header value. Entra tokens
	// with many claims stay well below it.
	maxTokenLen = 32 << 10
)

// Authenticator identifies the caller of a request from its bearer token.
type Authenticator interface {
	// Authenticate returns the caller of r. A missing, malformed or
	// unacceptable token yields an *Error with Status 401 and Code
	// InvalidAuthenticationToken; the error carries no token material.
	Authenticate(r *http.Request) (Principal, error)
}

// tokenClaims are the claims provisiond reads from an access token.
type tokenClaims struct {
	jwt.RegisteredClaims
	TenantID          string     `json:"tid,omitempty"`
	ObjectID          string     `json:"oid,omitempty"`
	AppID             string     `json:"appid,omitempty"`
	AuthorizedParty   string     `json:"azp,omitempty"`
	IDType            string     `json:"idtyp,omitempty"`
	Scopes            stringList `json:"scp,omitempty"`
	Roles             stringList `json:"roles,omitempty"`
	WIDs              stringList `json:"wids,omitempty"`
	UPN               string     `json:"upn,omitempty"`
	PreferredUsername string     `json:"preferred_username,omitempty"`
	Name              string     `json:"name,omitempty"`
	AppDisplayName    string     `json:"app_displayname,omitempty"`
}

// stringList decodes a JSON array of strings or one space-separated string
// ("scp" is a string in Entra tokens and an array in some other providers').
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = strings.Fields(s)
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = a
	return nil
}

// verifier checks tokens for one issuer. It serves both Authenticators.
type verifier struct {
	issuer    string   // exact "iss"
	audiences []string // "aud" must hold one of them
	tenant    string   // required "tid" if not empty
	algs      []string // accepted "alg" values
	keyfunc   func(ctx context.Context) jwt.Keyfunc
	now       func() time.Time
	authURI   string // authorization_uri of the Bearer challenge
	parser    *jwt.Parser
	cache     *verified
}

func newVerifier(v verifier) *verifier {
	if v.now == nil {
		v.now = time.Now
	}
	// Claims are validated by validate, for exact messages and ordering.
	v.parser = jwt.NewParser(jwt.WithValidMethods(v.algs), jwt.WithoutClaimsValidation())
	v.cache = &verified{}
	return &v
}

// Authenticate implements Authenticator.
func (v *verifier) Authenticate(r *http.Request) (Principal, error) {
	p, err := v.authenticate(r.Context(), r.Header.Values("Authorization"))
	if err != nil {
		err.authURI = v.authURI
		return Principal{}, err
	}
	return p, nil
}

func (v *verifier) authenticate(ctx context.Context, headers []string) (Principal, *Error) {
	var header string
	switch len(headers) {
	case 0:
	case 1:
		header = headers[0]
	default: // which token counted would be up to whoever reads them
		return Principal{}, unauthenticated(msgManyHeaders)
	}
	raw, err := bearerToken(header)
	if err != nil {
		return Principal{}, err
	}
	now := v.now()
	keyOf := func(header map[string]any) (any, error) { return v.keyfunc(ctx)(&jwt.Token{Header: header}) }
	if p, ok := v.cache.get(raw, now, keyOf); ok {
		return p, nil
	}
	if err := v.checkHeader(raw); err != nil {
		return Principal{}, err
	}
	var c tokenClaims
	tok, perr := v.parser.ParseWithClaims(raw, &c, v.keyfunc(ctx))
	if perr != nil {
		switch {
		case errors.Is(perr, jwt.ErrTokenMalformed):
			return Principal{}, unauthenticated(msgMalformed)
		case errors.Is(perr, jwt.ErrTokenUnverifiable):
			return Principal{}, unauthenticated(msgUnknownKey)
		case errors.Is(perr, jwt.ErrTokenSignatureInvalid):
			return Principal{}, unauthenticated(msgSignature)
		}
		return Principal{}, unauthenticated(msgMalformed)
	}
	p, verr := v.validate(&c)
	if verr != nil {
		return Principal{}, verr
	}
	hdr := map[string]any{"kid": tok.Header["kid"], "alg": tok.Header["alg"]}
	if key, err := keyOf(hdr); err == nil {
		v.cache.put(raw, verifiedEntry{p: p, header: hdr, key: key, expires: c.ExpiresAt.Add(Leeway)}, now)
	}
	return p, nil
}

// bearerToken extracts the token of a "Bearer <token>" header value.
func bearerToken(h string) (string, *Error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msgEmpty, noToken: true}
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msgNotBearer, noToken: true}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msgEmpty, noToken: true}
	}
	if len(tok) > maxTokenLen {
		return "", unauthenticated(msgTooLarge)
	}
	return tok, nil
}

var algName = regexp.MustCompile(`^[A-Za-z0-9_+-]{1,20}$`)

// checkHeader rejects, before any key lookup, tokens that are not JWS
// compact serializations or whose algorithm is not accepted (alg "none",
// and HS256 signed with a public key as HMAC secret: algorithm confusion).
func (v *verifier) checkHeader(raw string) *Error {
	if strings.Count(raw, ".") != 2 {
		return unauthenticated(msgMalformed)
	}
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return unauthenticated(msgMalformed)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil || h == nil {
		return unauthenticated(msgMalformed)
	}
	if _, ok := h["crit"]; ok {
		return unauthenticated(msgCrit)
	}
	alg, _ := h["alg"].(string)
	switch {
	case alg == "":
		return unauthenticated(msgNoAlg)
	case slices.Contains(v.algs, alg):
		return nil
	case !algName.MatchString(alg):
		return unauthenticated(fmt.Sprintf(msgUnsupportedFm, "(invalid name)"))
	}
	return unauthenticated(fmt.Sprintf(msgUnsupportedFm, alg))
}

// validate checks the claims of a token whose signature is valid, in the
// order Graph reports problems: lifetime, issuer, audience, tenant.
func (v *verifier) validate(c *tokenClaims) (Principal, *Error) {
	now := v.now()
	switch {
	case c.ExpiresAt == nil:
		return Principal{}, unauthenticated(msgNoExpiry)
	case !now.Before(c.ExpiresAt.Add(Leeway)):
		return Principal{}, unauthenticated(msgExpired)
	case c.NotBefore != nil && now.Add(Leeway).Before(c.NotBefore.Time):
		return Principal{}, unauthenticated(msgExpired)
	case c.IssuedAt != nil && now.Add(Leeway).Before(c.IssuedAt.Time):
		return Principal{}, unauthenticated(msgExpired)
	case c.Issuer != v.issuer:
		return Principal{}, unauthenticated(msgIssuer)
	case !hasAudience(c.Audience, v.audiences):
		return Principal{}, unauthenticated(msgAudience)
	case v.tenant != "" && c.TenantID != "" && !strings.EqualFold(c.TenantID, v.tenant):
		return Principal{}, unauthenticated(msgTenant)
	}
	p := Principal{
		TenantID:       firstOf(c.TenantID, v.tenant),
		ObjectID:       firstOf(c.ObjectID, c.Subject),
		AppID:          firstOf(c.AppID, c.AuthorizedParty),
		Name:           firstOf(c.UPN, c.PreferredUsername, c.Name, c.AppDisplayName),
		Roles:          c.Roles,
		Scopes:         c.Scopes,
		DirectoryRoles: c.WIDs,
	}
	if p.ObjectID == "" {
		return Principal{}, unauthenticated(msgNoSubject)
	}
	switch c.IDType {
	case "app":
	case "user":
		p.Delegated = true
	default: // no idtyp: Entra app-only tokens carry no "scp"
		p.Delegated = len(c.Scopes) > 0
	}
	return p, nil
}

func hasAudience(aud jwt.ClaimStrings, accepted []string) bool {
	return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(accepted, a) })
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

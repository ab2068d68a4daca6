package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// OIDC authenticates tokens issued by an external OpenID Connect provider.
type OIDC struct {
	*verifier
	jwksURI string
}

// OIDC key-refresh tuning. An unknown kid triggers at most one JWKS refresh
// per unknownKIDEvery; a request waits at most refreshWait for it, so a flood
// of tokens with made-up kids costs the provider one fetch a minute.
const (
	unknownKIDEvery = time.Minute
	refreshWait     = 5 * time.Second
	jwksInterval    = time.Hour
	httpTimeout     = 10 * time.Second
	maxDiscovery    = 1 << 20
)

// discovery is the part of an OpenID Provider Configuration we read.
type discovery struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
}

// NewOIDC returns an Authenticator for tokens issued by the OpenID Connect
// provider at issuerURL, for audience. It reads
// <issuerURL>/.well-known/openid-configuration with client (nil: a client
// with a 10 s timeout), then the JWKS at its jwks_uri. Both must be https
// unless on a loopback host. The JWKS is refreshed hourly and, at most once a
// minute, when a token names an unknown key id; cancel ctx to stop the
// refreshes.
//
// Tokens must be RS256 or ES256, with iss equal to the issuer the discovery
// document states (which must itself equal issuerURL, as OpenID Connect
// Discovery requires), aud holding audience, and a valid lifetime. If the
// issuer's first path segment is a GUID (Entra's
// https://login.microsoftonline.com/<tenant>/v2.0), that is the tenant: a
// token's "tid" must match it.
func NewOIDC(ctx context.Context, issuerURL, audience string, client *http.Client) (*OIDC, error) {
	if client == nil {
		client = &http.Client{Timeout: httpTimeout}
	}
	if audience == "" {
		return nil, errors.New("oidc: empty audience")
	}
	if err := checkURL(issuerURL); err != nil {
		return nil, fmt.Errorf("oidc: issuer: %w", err)
	}
	doc, err := fetchDiscovery(ctx, client, issuerURL)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery: %w", err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(issuerURL, "/") {
		return nil, fmt.Errorf("oidc: discovery document names issuer %q, not %q", doc.Issuer, issuerURL)
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return nil, fmt.Errorf("oidc: jwks_uri: %w", err)
	}
	noErrFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{doc.JWKSURI}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               httpTimeout,
		NoErrorReturnFirstHTTPReq: &noErrFirst,
		RateLimitWaitMax:          refreshWait,
		RefreshInterval:           jwksInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("oidc: jwks: %w", err)
	}
	v := newVerifier(verifier{
		issuer:    doc.Issuer,
		audiences: []string{audience},
		tenant:    tenantOfIssuer(doc.Issuer),
		algs:      []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()},
		keyfunc:   kf.KeyfuncCtx,
		authURI:   doc.AuthorizationEndpoint,
	})
	return &OIDC{verifier: v, jwksURI: doc.JWKSURI}, nil
}

// Issuer returns the issuer tokens must name.
func (o *OIDC) Issuer() string { return o.issuer }

// JWKSURI returns where the signing keys come from.
func (o *OIDC) JWKSURI() string { return o.jwksURI }

func fetchDiscovery(ctx context.Context, client *http.Client, issuerURL string) (*discovery, error) {
	u := strings.TrimSuffix(issuerURL, "/") + "/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var doc discovery
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscovery)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if doc.Issuer == "" || doc.JWKSURI == "" {
		return nil, fmt.Errorf("GET %s: issuer or jwks_uri missing", u)
	}
	return &doc, nil
}

// checkURL requires an absolute https URL, or http on a loopback host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q: want https (http only on a loopback host)", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tenantOfIssuer returns the GUID first path segment of an issuer URL
// (Entra's shape), or "".
func tenantOfIssuer(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if _, ok := parseGUID(seg); ok {
		return strings.ToLower(seg)
	}
	return ""
}

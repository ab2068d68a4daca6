package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"provisiond/ids"
)

// Issuer is provisiond's embedded token issuer: a signing key and a tenant
// id kept in the data directory. Every process using the same directory
// mints and accepts the same tokens.
type Issuer struct {
	key      *ecdsa.PrivateKey
	kid      string
	keyFile  string
	tenantID string
	tenantNS [16]byte
	now      func() time.Time // injected by tests
}

// errUnknownKey is what the embedded keyfunc returns for a foreign kid.
var errUnknownKey = errors.New("unknown signing key")

// LoadOrCreateIssuer loads the issuer kept in dataDir, creating it on first
// use: dataDir/signing-key.pem (an ECDSA P-256 private key, PKCS #8 PEM,
// mode 0600) and dataDir/tenant-id (a random GUID). Both are created
// atomically, so concurrent first starts agree on one key and one tenant.
// dataDir is created (mode 0700) if missing. Existing files that cannot be
// parsed are an error; they are never replaced.
func LoadOrCreateIssuer(dataDir string) (*Issuer, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return loadIssuer(dataDir, func(name string, perm fs.FileMode, create func() ([]byte, error)) ([]byte, error) {
		return loadOrCreateFile(dataDir, name, perm, create)
	})
}

// LoadIssuer loads the issuer kept in dataDir and creates nothing: a
// directory without a signing key or tenant id is an error wrapping
// fs.ErrNotExist. It suits tools that must mint tokens a server already
// accepts, where a new key would only mint tokens nobody accepts.
func LoadIssuer(dataDir string) (*Issuer, error) {
	return loadIssuer(dataDir, func(name string, _ fs.FileMode, _ func() ([]byte, error)) ([]byte, error) {
		return os.ReadFile(filepath.Join(dataDir, name))
	})
}

// readFile returns the contents of the data directory's file name; it may
// create the file (mode perm) with the output of create.
type readFile func(name string, perm fs.FileMode, create func() ([]byte, error)) ([]byte, error)

// loadIssuer reads the issuer's files in dataDir through read.
func loadIssuer(dataDir string, read readFile) (*Issuer, error) {
	tb, err := read(tenantIDFile, 0o644, func() ([]byte, error) {
		return []byte(ids.NewUUID() + "\n"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("load tenant id: %w", err)
	}
	tid := strings.ToLower(strings.TrimSpace(string(tb)))
	ns, ok := parseGUID(tid)
	if !ok {
		return nil, fmt.Errorf("load tenant id: %s does not hold a GUID", tenantIDFile)
	}
	if tid == PersonalTenantID {
		return nil, fmt.Errorf("load tenant id: %s holds the personal-account tenant, which is not a work tenant", tenantIDFile)
	}
	kb, err := read(signingKeyFile, 0o600, newSigningKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	key, err := parseSigningKey(kb)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", signingKeyFile, err)
	}
	keyFile, err := filepath.Abs(filepath.Join(dataDir, signingKeyFile))
	if err != nil {
		return nil, err
	}
	return &Issuer{key: key, kid: thumbprint(&key.PublicKey), keyFile: keyFile, tenantID: tid, tenantNS: ns, now: time.Now}, nil
}

// KeyFile returns the absolute path of the signing key file.
func (iss *Issuer) KeyFile() string { return iss.keyFile }

// TenantID returns the tenant the issuer mints tokens for.
func (iss *Issuer) TenantID() string { return iss.tenantID }

// IssuerURL returns the "iss" of the issuer's tokens,
// https://provisiond.local/<tenant id>/v2.0 (the shape of Entra's v2.0
// issuer).
func (iss *Issuer) IssuerURL() string { return "https://provisiond.local/" + iss.tenantID + "/v2.0" }

// KeyID returns the "kid" of the signing key: its RFC 7638 thumbprint.
func (iss *Issuer) KeyID() string { return iss.kid }

// PublicKey returns the public half of the signing key.
func (iss *Issuer) PublicKey() *ecdsa.PublicKey { return &iss.key.PublicKey }

// JWKS returns the public signing key as a JSON Web Key Set, for serving to
// other verifiers.
func (iss *Issuer) JWKS() []byte {
	type jwk struct {
		ecJWK
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	b, _ := json.Marshal(map[string][]jwk{"keys": {{ecJWK: publicJWK(&iss.key.PublicKey), Kid: iss.kid, Use: "sig", Alg: "ES256"}}})
	return b
}

// Keyfunc returns the key verifying t: the issuer's public key, if t names
// it in its "kid" header (or names no key). It suits jwt.Parse.
func (iss *Issuer) Keyfunc(t *jwt.Token) (any, error) {
	if k, ok := t.Header["kid"]; ok && k != iss.kid {
		return nil, errUnknownKey
	}
	return &iss.key.PublicKey, nil
}

// Authenticator returns an Authenticator accepting the issuer's tokens:
// ES256 signed by its key, iss = IssuerURL, aud = GraphAudience (or
// GraphAppID, or GraphAudience with a trailing slash), tid = TenantID.
func (iss *Issuer) Authenticator() Authenticator {
	return newVerifier(verifier{
		issuer:    iss.IssuerURL(),
		audiences: []string{GraphAudience, GraphAudience + "/", GraphAppID},
		tenant:    iss.tenantID,
		algs:      []string{jwt.SigningMethodES256.Alg()},
		keyfunc:   func(context.Context) jwt.Keyfunc { return iss.Keyfunc },
		now:       func() time.Time { return iss.now() },
	})
}

// Derived ids. Each is a name-based GUID in the tenant's namespace, so the
// same name always gets the same id in one tenant and different ids in
// different tenants.

// AppObjectID returns the object id ("oid") of the service principal of
// the application named appName, as MintApp puts it in tokens.
func (iss *Issuer) AppObjectID(appName string) string {
	return nameGUID(iss.tenantNS, "servicePrincipal:"+appName)
}

// AppID returns the application (client) id ("appid", "azp") of appName.
func (iss *Issuer) AppID(appName string) string {
	return nameGUID(iss.tenantNS, "application:"+appName)
}

// UserObjectID returns the object id ("oid") of the user upn, as MintUser
// puts it in tokens; user principal names compare case-insensitively.
func (iss *Issuer) UserObjectID(upn string) string {
	return nameGUID(iss.tenantNS, "user:"+strings.ToLower(upn))
}

// CLIAppName is the client application of delegated tokens minted by
// MintUser.
const CLIAppName = "provisiond"

// MintApp mints an application (app-only) access token for appName with the
// application permissions roles (e.g. "Synchronization.ReadWrite.All"),
// valid for ttl.
func (iss *Issuer) MintApp(appName string, roles []string, ttl time.Duration) (string, error) {
	if strings.TrimSpace(appName) == "" {
		return "", errors.New("mint app token: empty application name")
	}
	if err := checkNames("application permission", roles); err != nil {
		return "", fmt.Errorf("mint app token: %w", err)
	}
	c := iss.baseClaims(ttl)
	c["oid"] = iss.AppObjectID(appName)
	c["sub"] = c["oid"]
	c["appid"] = iss.AppID(appName)
	c["azp"] = c["appid"]
	c["app_displayname"] = appName
	c["idtyp"] = "app"
	if len(roles) > 0 {
		c["roles"] = roles
	}
	return iss.sign(c, ttl)
}

// MintUser mints a delegated access token for the user upn, issued to the
// provisiond CLI application, with the delegated permissions scopes (claim
// "scp") and the directory roles directoryRoles, given by name ("Application
// Administrator", "Cloud Application Administrator", "Hybrid Identity
// Administrator", "Global Administrator") or template id (claim "wids").
func (iss *Issuer) MintUser(upn string, scopes []string, directoryRoles []string, ttl time.Duration) (string, error) {
	if strings.TrimSpace(upn) == "" || strings.ContainsAny(upn, " \t\r\n") {
		return "", errors.New("mint user token: the user principal name is empty or contains spaces")
	}
	if err := checkNames("delegated permission", scopes); err != nil {
		return "", fmt.Errorf("mint user token: %w", err)
	}
	var wids []string
	for _, name := range directoryRoles {
		id, ok := DirectoryRoleID(name)
		if !ok {
			return "", fmt.Errorf("mint user token: unknown directory role %q; known roles: %s",
				name, strings.Join(DirectoryRoleNames(), ", "))
		}
		wids = append(wids, id)
	}
	c := iss.baseClaims(ttl)
	c["oid"] = iss.UserObjectID(upn)
	c["sub"] = c["oid"]
	c["appid"] = iss.AppID(CLIAppName)
	c["azp"] = c["appid"]
	c["app_displayname"] = CLIAppName
	c["idtyp"] = "user"
	c["upn"] = upn
	c["preferred_username"] = upn
	c["name"] = upn
	if len(scopes) > 0 {
		c["scp"] = strings.Join(scopes, " ")
	}
	if len(wids) > 0 {
		c["wids"] = wids
	}
	return iss.sign(c, ttl)
}

// ApplicationPermissions returns, sorted, the application permissions
// (claim "roles") Authorize gives a meaning to; other names grant nothing.
func ApplicationPermissions() []string {
	out := append(DelegatedPermissions(), permOwnedBy) // OwnedBy is application-only
	slices.Sort(out)
	return out
}

// DelegatedPermissions returns, sorted, the delegated permissions (claim
// "scp") Authorize gives a meaning to.
func DelegatedPermissions() []string {
	var out []string
	for _, r := range rules {
		for _, p := range r.perms {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func checkNames(what string, names []string) error {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t\r\n") {
			return fmt.Errorf("invalid %s %q", what, n)
		}
	}
	return nil
}

func (iss *Issuer) baseClaims(ttl time.Duration) jwt.MapClaims {
	now := iss.now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	return jwt.MapClaims{
		"iss": iss.IssuerURL(),
		"aud": GraphAudience,
		"tid": iss.tenantID,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"ver": "2.0",
	}
}

func (iss *Issuer) sign(c jwt.MapClaims, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", errors.New("mint token: ttl must be positive")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = iss.kid
	s, err := t.SignedString(iss.key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

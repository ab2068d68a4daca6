package auth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// idp is a fake OpenID provider: a discovery document and a JWKS that tests
// can rotate.
type idp struct {
	srv     *httptest.Server
	issuer  string
	mu      sync.Mutex
	jwks    []byte
	fetches atomic.Int32
}

// newIDP serves an issuer at path (e.g. "/<tenant>/v2.0") with keys.
func newIDP(t *testing.T, path string, keys ...jwk) *idp {
	t.Helper()
	p := &idp{}
	p.setKeys(t, keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.issuer,
			"jwks_uri":                              p.srv.URL + "/discovery/keys",
			"authorization_endpoint":                p.srv.URL + "/oauth2/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /discovery/keys", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(p.jwks)
	})
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-client test's handshake error
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL + path
	return p
}

// jwk is a test signing key with its kid.
type jwk struct {
	kid string
	key any // *rsa.PrivateKey or *ecdsa.PrivateKey
}

func (p *idp) setKeys(t *testing.T, keys ...jwk) {
	t.Helper()
	enc := base64.RawURLEncoding
	var set []map[string]string
	for _, k := range keys {
		switch key := k.key.(type) {
		case *rsa.PrivateKey:
			set = append(set, map[string]string{"kty": "RSA", "kid": k.kid, "use": "sig", "alg": "RS256",
				"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())})
		case *ecdsa.PrivateKey:
			j := publicJWK(&key.PublicKey)
			set = append(set, map[string]string{"kty": "EC", "crv": "P-256", "kid": k.kid, "use": "sig", "alg": "ES256", "x": j.X, "y": j.Y})
		}
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.jwks = b
	p.mu.Unlock()
}

var (
	rsaOnce    sync.Once
	rsaKeys    [2]*rsa.PrivateKey
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// testRSA returns two 2048-bit RSA keys, generated once.
func testRSA(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	rsaOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
	})
	return rsaKeys[0], rsaKeys[1]
}

// oidcClaims are valid claims for audience from p, in p's tenant.
func oidcClaims(p *idp, tid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":   p.issuer,
		"aud":   "api://provisiond",
		"tid":   tid,
		"oid":   "0e6c1f3a-1d6e-4b2b-9a55-1f0e0c9d8e7f",
		"sub":   "pairwise-sub",
		"azp":   "4a2f6f3e-8c1e-4d55-a3b1-2b1f7c0d9e10",
		"roles": []string{"Synchronization.ReadWrite.All"},
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
}

func TestOIDC(t *testing.T) {
	rsa1, rsa2 := testRSA(t)
	ec1 := newECKey(t)
	p := newIDP(t, "/"+testTenant+"/v2.0", jwk{"rsa-1", rsa1}, jwk{"ec-1", ec1})
	o, err := NewOIDC(t.Context(), p.issuer, "api://provisiond", p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if o.Issuer() != p.issuer || o.JWKSURI() != p.srv.URL+"/discovery/keys" {
		t.Errorf("Issuer, JWKSURI = %s, %s", o.Issuer(), o.JWKSURI())
	}
	valid := oidcClaims(p, testTenant)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsa1.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	t.Run("RS256 app token", func(t *testing.T) {
		got, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", valid)))
		if err != nil {
			t.Fatal(err)
		}
		want := Principal{TenantID: testTenant, ObjectID: "0e6c1f3a-1d6e-4b2b-9a55-1f0e0c9d8e7f",
			AppID: "4a2f6f3e-8c1e-4d55-a3b1-2b1f7c0d9e10", Roles: []string{"Synchronization.ReadWrite.All"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("principal (-want +got):\n%s", diff)
		}
	})
	t.Run("ES256 user token", func(t *testing.T) {
		c := with(valid, "roles", nil, "scp", "Synchronization.ReadWrite.All", "wids", []string{RoleHybridIdentityAdministrator},
			"preferred_username", "admin@contoso.com", "idtyp", "user")
		got, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodES256, ec1, "ec-1", c)))
		if err != nil {
			t.Fatal(err)
		}
		want := Principal{TenantID: testTenant, ObjectID: "0e6c1f3a-1d6e-4b2b-9a55-1f0e0c9d8e7f",
			AppID: "4a2f6f3e-8c1e-4d55-a3b1-2b1f7c0d9e10", Name: "admin@contoso.com", Delegated: true,
			Scopes: []string{"Synchronization.ReadWrite.All"}, DirectoryRoles: []string{RoleHybridIdentityAdministrator}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("principal (-want +got):\n%s", diff)
		}
	})

	rejections := []struct {
		name, authz, wantMsg string
	}{
		{"alg none", "Bearer " + unsigned(t, map[string]any{"alg": "none", "kid": "rsa-1"}, valid), "Unsupported signing algorithm none."},
		{"HS256 with the RSA public key as secret", "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, "rsa-1", valid), "Unsupported signing algorithm HS256."},
		{"PS256", "Bearer " + sign(t, jwt.SigningMethodPS256, rsa1, "rsa-1", valid), "Unsupported signing algorithm PS256."},
		{"RS512", "Bearer " + sign(t, jwt.SigningMethodRS512, rsa1, "rsa-1", valid), "Unsupported signing algorithm RS512."},
		{"ES256 under an RS256 kid", "Bearer " + sign(t, jwt.SigningMethodES256, ec1, "rsa-1", valid), "Signing key not found."},
		{"bad signature", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa2, "rsa-1", valid), "Invalid signature."},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "exp", time.Now().Add(-time.Minute).Unix())), "Access token has expired or is not yet valid."},
		{"not yet valid", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "nbf", time.Now().Add(5*time.Minute).Unix())), "Access token has expired or is not yet valid."},
		{"wrong issuer", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "iss", p.srv.URL+"/other/v2.0")), "Invalid issuer."},
		{"issuer with trailing slash", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "iss", p.issuer+"/")), "Invalid issuer."},
		{"wrong audience", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "aud", GraphAudience)), "Invalid audience."},
		{"wrong tenant", "Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(valid, "tid", PersonalTenantID)), "Invalid tenant. The token was issued for another tenant."},
	}
	for _, tt := range rejections {
		t.Run(tt.name, func(t *testing.T) {
			_, err := o.Authenticate(request(tt.authz))
			e := wantError(t, err, 401, "InvalidAuthenticationToken", tt.wantMsg)
			want := `Bearer realm="", authorization_uri="` + p.srv.URL + `/oauth2/authorize", error="invalid_token", error_description="` + tt.wantMsg + `"`
			if got := e.WWWAuthenticate(); got != want {
				t.Errorf("WWWAuthenticate = %s, want %s", got, want)
			}
		})
	}
	t.Run("no token challenge", func(t *testing.T) {
		_, err := o.Authenticate(request(""))
		e := wantError(t, err, 401, "InvalidAuthenticationToken", "Access token is empty.")
		if got, want := e.WWWAuthenticate(), `Bearer realm="", authorization_uri="`+p.srv.URL+`/oauth2/authorize"`; got != want {
			t.Errorf("WWWAuthenticate = %s, want %s", got, want)
		}
	})
}

// TestOIDCKeyRotation: a token signed with a key the provider publishes
// after the Authenticator started is accepted once the JWKS has it (one
// refresh on the unknown kid); a kid that stays unknown is refused.
func TestOIDCKeyRotation(t *testing.T) {
	rsa1, rsa2 := testRSA(t)
	ec2 := newECKey(t)
	p := newIDP(t, "/"+testTenant+"/v2.0", jwk{"rsa-1", rsa1})
	o, err := NewOIDC(t.Context(), p.issuer, "api://provisiond", p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", n)
	}
	valid := oidcClaims(p, testTenant)
	if _, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", valid))); err != nil {
		t.Fatal(err)
	}

	// Rotation: the provider now publishes rsa-2 and ec-2 and drops rsa-1.
	p.setKeys(t, jwk{"rsa-2", rsa2}, jwk{"ec-2", ec2})
	if _, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa2, "rsa-2", valid))); err != nil {
		t.Fatalf("token with the new RSA kid: %v", err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (one refresh for the new kid)", n)
	}
	if _, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodES256, ec2, "ec-2", valid))); err != nil {
		t.Fatalf("token with the new EC kid: %v", err)
	}
	// The old key is gone from the refreshed set.
	_, err = o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", valid)))
	wantError(t, err, 401, "InvalidAuthenticationToken", "Signing key not found.")
	// A made-up kid does not trigger another fetch within the minute.
	_, err = o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "made-up", valid)))
	wantError(t, err, 401, "InvalidAuthenticationToken", "Signing key not found.")
	if n := p.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want still 2 (unknown-kid refresh is rate limited)", n)
	}
}

// TestOIDCPersonalAccount: tokens from the personal-account (consumers)
// tenant authenticate, and RejectPersonal then refuses them with 403.
func TestOIDCPersonalAccount(t *testing.T) {
	rsa1, _ := testRSA(t)
	p := newIDP(t, "/"+PersonalTenantID+"/v2.0", jwk{"rsa-1", rsa1})
	o, err := NewOIDC(t.Context(), p.issuer, "api://provisiond", p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c := with(oidcClaims(p, PersonalTenantID), "roles", nil, "scp", "Synchronization.ReadWrite.All")
	pr, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", c)))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, RejectPersonal(pr), 403, "Authorization_RequestDenied", "Personal Microsoft accounts are not supported.")
}

// TestOIDCNoTenantInIssuer: a provider whose issuer has no tenant GUID
// (Keycloak's /realms/x) accepts any tid, or none.
func TestOIDCNoTenantInIssuer(t *testing.T) {
	rsa1, _ := testRSA(t)
	p := newIDP(t, "/realms/provisiond", jwk{"rsa-1", rsa1})
	o, err := NewOIDC(t.Context(), p.issuer+"/", "api://provisiond", p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range []any{nil, testTenant} {
		pr, err := o.Authenticate(request("Bearer " + sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", with(oidcClaims(p, ""), "tid", tid))))
		if err != nil {
			t.Fatalf("tid %v: %v", tid, err)
		}
		if tid == nil && pr.TenantID != "" {
			t.Errorf("TenantID = %q, want empty", pr.TenantID)
		}
	}
}

func TestNewOIDCErrors(t *testing.T) {
	rsa1, _ := testRSA(t)
	p := newIDP(t, "/tenant", jwk{"rsa-1", rsa1})
	mismatch := newIDP(t, "/a", jwk{"rsa-1", rsa1})
	mismatch.issuer = "https://elsewhere.example/a"
	badJWKS := newIDP(t, "/b")
	badJWKS.mu.Lock()
	badJWKS.jwks = []byte("not json")
	badJWKS.mu.Unlock()

	tests := []struct {
		name, issuer, audience, wantErr string
		client                          *http.Client
	}{
		{"no discovery document", p.srv.URL + "/nope", "a", "404", p.srv.Client()},
		{"issuer mismatch", mismatch.srv.URL + "/a", "a", `names issuer "https://elsewhere.example/a"`, mismatch.srv.Client()},
		{"bad JWKS", badJWKS.issuer, "a", "oidc: jwks", badJWKS.srv.Client()},
		{"plain http off loopback", "http://idp.example/tenant", "a", "want https", nil},
		{"relative issuer", "/tenant", "a", "not an absolute URL", nil},
		{"empty audience", p.issuer, "", "empty audience", p.srv.Client()},
		{"TLS not trusted", p.issuer, "a", "certificate", http.DefaultClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewOIDC(t.Context(), tt.issuer, tt.audience, tt.client)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTenantOfIssuer(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/v2.0": testTenant,
		"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/":               testTenant,
		"https://login.microsoftonline.com/common/v2.0":                               "",
		"https://keycloak.example/realms/x":                                           "",
		"https://idp.example":                                                         "",
	} {
		if got := tenantOfIssuer(issuer); got != want {
			t.Errorf("tenantOfIssuer(%q) = %q, want %q", issuer, got, want)
		}
	}
}

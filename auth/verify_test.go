package auth

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestEmbeddedRejections covers every reason the embedded Authenticator
// refuses a request, with the exact status, code, message and challenge.
func TestEmbeddedRejections(t *testing.T) {
	iss := newTestIssuer(t)
	valid := appClaims(iss)
	es := func(c jwt.MapClaims) string {
		return "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), c)
	}

	otherKey := newECKey(t)
	rsaKey, _ := testRSA(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(iss.PublicKey())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	goodTok := sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), valid)
	parts := strings.Split(goodTok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"iss":"`+iss.IssuerURL()+`","aud":"https://graph.microsoft.com","tid":"`+iss.TenantID()+
			`","oid":"x","idtyp":"app","roles":["Directory.ReadWrite.All"],"exp":9999999999}`)) + "." + parts[2]

	tests := []struct {
		name      string
		authz     string
		wantMsg   string
		challenge string // WWW-Authenticate
	}{
		{"no header", "", "Access token is empty.", `Bearer realm=""`},
		{"bearer without token", "Bearer   ", "Access token is empty.", `Bearer realm=""`},
		{"basic scheme", "Basic dXNlcjpwYXNz", "Access token is empty. The Authorization header must use the Bearer scheme.", `Bearer realm=""`},
		{"token without scheme", goodTok, "Access token is empty. The Authorization header must use the Bearer scheme.", `Bearer realm=""`},
		{"garbage", "Bearer garbage", "Access token is malformed: it is not a signed JWT (JWS compact serialization).", ""},
		{"three garbage segments", "Bearer a.b.c", "Access token is malformed: it is not a signed JWT (JWS compact serialization).", ""},
		{"header not an object", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".e30.", "Access token is malformed: it is not a signed JWT (JWS compact serialization).", ""},
		{"too large", "Bearer " + strings.Repeat("a", 40000), "Access token is too large.", ""},
		{"alg none", "Bearer " + unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, valid), "Unsupported signing algorithm none.", ""},
		{"alg None", "Bearer " + unsigned(t, map[string]any{"alg": "None", "kid": iss.KeyID()}, valid), "Unsupported signing algorithm None.", ""},
		{"no alg", "Bearer " + unsigned(t, map[string]any{"typ": "JWT"}, valid), "Access token header has no signing algorithm.", ""},
		{"alg not a name", "Bearer " + unsigned(t, map[string]any{"alg": "\"x\r\nSet-Cookie: a"}, valid), "Unsupported signing algorithm (invalid name).", ""},
		{"HS256 with the public key as secret", "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, iss.KeyID(), valid), "Unsupported signing algorithm HS256.", ""},
		{"HS256 with the public key DER as secret", "Bearer " + sign(t, jwt.SigningMethodHS256, pubDER, iss.KeyID(), valid), "Unsupported signing algorithm HS256.", ""},
		{"RS256 is not the embedded algorithm", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, iss.KeyID(), valid), "Unsupported signing algorithm RS256.", ""},
		{"ES384", "Bearer " + unsigned(t, map[string]any{"alg": "ES384"}, valid) + "c2ln", "Unsupported signing algorithm ES384.", ""},
		{"crit header", "Bearer " + unsigned(t, map[string]any{"alg": "ES256", "crit": []string{"exp"}}, valid) + "c2ln", "Access token uses unsupported critical header parameters.", ""},
		{"unknown kid", "Bearer " + sign(t, jwt.SigningMethodES256, otherKey, "other-kid", valid), "Signing key not found.", ""},
		{"kid not a string", "Bearer " + signWithHeader(t, iss.key, map[string]any{"kid": 42}, valid), "Signing key not found.", ""},
		{"signed by another key under our kid", "Bearer " + sign(t, jwt.SigningMethodES256, otherKey, iss.KeyID(), valid), "Invalid signature.", ""},
		{"tampered payload", "Bearer " + tampered, "Invalid signature.", ""},
		{"signature stripped", "Bearer " + parts[0] + "." + parts[1] + ".", "Invalid signature.", ""},
		{"claims of the wrong type", es(with(valid, "roles", 5)), "Access token is malformed: it is not a signed JWT (JWS compact serialization).", ""},
		{"expired beyond leeway", es(with(valid, "exp", testNow.Add(-31*time.Second).Unix())), "Access token has expired or is not yet valid.", ""},
		{"expired long ago", es(with(valid, "iat", testNow.Add(-2*time.Hour).Unix(), "nbf", testNow.Add(-2*time.Hour).Unix(), "exp", testNow.Add(-time.Hour).Unix())), "Access token has expired or is not yet valid.", ""},
		{"nbf in the future", es(with(valid, "nbf", testNow.Add(31*time.Second).Unix())), "Access token has expired or is not yet valid.", ""},
		{"iat in the future", es(with(valid, "iat", testNow.Add(10*time.Minute).Unix())), "Access token has expired or is not yet valid.", ""},
		{"no exp", es(with(valid, "exp", nil)), "Access token has no expiration time.", ""},
		{"wrong issuer", es(with(valid, "iss", "https://login.microsoftonline.com/"+iss.TenantID()+"/v2.0")), "Invalid issuer.", ""},
		{"no issuer", es(with(valid, "iss", nil)), "Invalid issuer.", ""},
		{"wrong audience", es(with(valid, "aud", "api://provisiond")), "Invalid audience.", ""},
		{"no audience", es(with(valid, "aud", nil)), "Invalid audience.", ""},
		{"wrong tenant", es(with(valid, "tid", "11111111-2222-4333-8444-555555555555")), "Invalid tenant. The token was issued for another tenant.", ""},
		{"no subject", es(with(valid, "oid", nil)), "Access token has no subject (oid or sub claim).", ""},
	}
	auth := iss.Authenticator()
	t.Run("two headers", func(t *testing.T) {
		r := request("Bearer " + goodTok)
		r.Header.Add("Authorization", "Bearer "+goodTok)
		_, err := auth.Authenticate(r)
		wantError(t, err, 401, "InvalidAuthenticationToken", msgManyHeaders)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := auth.Authenticate(request(tt.authz))
			e := wantError(t, err, 401, "InvalidAuthenticationToken", tt.wantMsg)
			if p.ObjectID != "" || p.TenantID != "" {
				t.Errorf("principal %+v returned with the error", p)
			}
			want := tt.challenge
			if want == "" {
				want = `Bearer realm="", error="invalid_token", error_description="` + tt.wantMsg + `"`
			}
			if got := e.WWWAuthenticate(); got != want {
				t.Errorf("WWWAuthenticate = %s, want %s", got, want)
			}
			if strings.Contains(e.Error(), "eyJ") {
				t.Error("error text holds token material")
			}
		})
	}
}

// signWithHeader signs an ES256 token with extra header fields.
func signWithHeader(t *testing.T, key *ecdsa.PrivateKey, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEmbeddedAccepts covers the edges that must still pass.
func TestEmbeddedAccepts(t *testing.T) {
	iss := newTestIssuer(t)
	valid := appClaims(iss)
	tests := []struct {
		name  string
		authz string
	}{
		{"valid", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), valid)},
		{"lower-case scheme and extra spaces", "  bearer   " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), valid) + " "},
		{"no kid", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, "", valid)},
		{"expired within leeway", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "exp", testNow.Add(-29*time.Second).Unix()))},
		{"nbf within leeway", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "nbf", testNow.Add(29*time.Second).Unix()))},
		{"Graph app id audience", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "aud", GraphAppID))},
		{"audience list", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "aud", []string{"api://x", GraphAudience + "/"}))},
		{"no tid", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "tid", nil))},
		{"tid in upper case", "Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), with(valid, "tid", strings.ToUpper(iss.TenantID())))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := iss.Authenticator().Authenticate(request(tt.authz))
			if err != nil {
				t.Fatal(err)
			}
			if p.TenantID == "" || p.ObjectID != iss.AppObjectID("app1") || p.Delegated {
				t.Errorf("principal = %+v", p)
			}
		})
	}
}

func TestPrincipalKind(t *testing.T) {
	iss := newTestIssuer(t)
	base := appClaims(iss)
	tests := []struct {
		name          string
		claims        jwt.MapClaims
		wantDelegated bool
		wantScopes    []string
	}{
		{"idtyp app", base, false, nil},
		{"idtyp user", with(base, "idtyp", "user", "scp", "User.Read.All Group.Read.All"), true, []string{"User.Read.All", "Group.Read.All"}},
		{"no idtyp, scp", with(base, "idtyp", nil, "scp", "User.Read.All"), true, []string{"User.Read.All"}},
		{"no idtyp, scp array", with(base, "idtyp", nil, "scp", []string{"A", "B"}), true, []string{"A", "B"}},
		{"no idtyp, no scp", with(base, "idtyp", nil), false, nil},
		{"idtyp app wins over scp", with(base, "scp", "User.Read.All"), false, []string{"User.Read.All"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := iss.Authenticator().Authenticate(request("Bearer " + sign(t, jwt.SigningMethodES256, iss.key, iss.KeyID(), tt.claims)))
			if err != nil {
				t.Fatal(err)
			}
			if p.Delegated != tt.wantDelegated || strings.Join(p.Scopes, " ") != strings.Join(tt.wantScopes, " ") {
				t.Errorf("principal = %+v, want delegated %v scopes %v", p, tt.wantDelegated, tt.wantScopes)
			}
		})
	}
}

func TestRejectPersonal(t *testing.T) {
	if err := RejectPersonal(Principal{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47"}); err != nil {
		t.Errorf("work tenant rejected: %v", err)
	}
	err := RejectPersonal(Principal{TenantID: strings.ToUpper(PersonalTenantID)})
	wantError(t, err, 403, "Authorization_RequestDenied", "Personal Microsoft accounts are not supported.")
}

func TestWWWAuthenticateQuoting(t *testing.T) {
	e := &Error{Status: 401, Code: CodeInvalidToken, Message: `a "quoted" \ msg` + "\r\n\u00e9", authURI: "https://idp.example/authorize"}
	want := `Bearer realm="", authorization_uri="https://idp.example/authorize", error="invalid_token", error_description="a \"quoted\" \\ msg"`
	if got := e.WWWAuthenticate(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestAuthenticateConcurrent runs both Authenticators from many goroutines
// (for the race detector).
func TestAuthenticateConcurrent(t *testing.T) {
	iss := newTestIssuer(t)
	iss.now = time.Now
	tok, err := iss.MintApp("app1", []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rsa1, _ := testRSA(t)
	p := newIDP(t, "/"+testTenant+"/v2.0", jwk{"rsa-1", rsa1})
	o, err := NewOIDC(t.Context(), p.issuer, "api://provisiond", p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	otok := sign(t, jwt.SigningMethodRS256, rsa1, "rsa-1", oidcClaims(p, testTenant))
	embedded := iss.Authenticator()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := embedded.Authenticate(request("Bearer " + tok)); err != nil {
					t.Error(err)
					return
				}
				if _, err := o.Authenticate(request("Bearer " + otok)); err != nil {
					t.Error(err)
					return
				}
				if _, err := o.Authenticate(request("Bearer " + tok)); err == nil {
					t.Error("embedded token accepted by the OIDC authenticator")
					return
				}
			}
		})
	}
	wg.Wait()
}

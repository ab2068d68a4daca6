package auth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLoadOrCreateIssuer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	iss, err := LoadOrCreateIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !guidRE.MatchString(iss.TenantID()) {
		t.Errorf("TenantID = %q, want a GUID", iss.TenantID())
	}
	if got, want := iss.IssuerURL(), "https://provisiond.local/"+iss.TenantID()+"/v2.0"; got != want {
		t.Errorf("IssuerURL = %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "signing-key.pem"))
	if block, _ := pem.Decode(b); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("signing key file is not a PKCS #8 PEM block")
	} else if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("signing key: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"signing-key.pem", "tenant-id"}, names); diff != "" {
		t.Errorf("data dir files (-want +got):\n%s", diff)
	}

	// Later calls load the same issuer; its tokens stay valid.
	tok, err := iss.MintApp("app1", []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.TenantID() != iss.TenantID() || again.KeyID() != iss.KeyID() {
		t.Errorf("reloaded issuer differs: tenant %s/%s kid %s/%s", again.TenantID(), iss.TenantID(), again.KeyID(), iss.KeyID())
	}
	if _, err := again.Authenticator().Authenticate(request("Bearer " + tok)); err != nil {
		t.Errorf("token of the first issuer rejected by the reloaded one: %v", err)
	}

	// Another data dir is another tenant and key: its tokens are refused.
	other := newTestIssuer(t)
	if other.TenantID() == iss.TenantID() || other.KeyID() == iss.KeyID() {
		t.Error("two data dirs share a tenant or key")
	}
	_, err = other.Authenticator().Authenticate(request("Bearer " + tok))
	wantError(t, err, 401, "InvalidAuthenticationToken", "Signing key not found.")
}

func TestLoadOrCreateIssuerConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	issuers := make([]*Issuer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			iss, err := LoadOrCreateIssuer(dir)
			if err != nil {
				t.Error(err)
				return
			}
			issuers[i] = iss
		})
	}
	wg.Wait()
	for _, iss := range issuers[1:] {
		if iss == nil || issuers[0] == nil {
			t.Fatal("an issuer failed to load")
		}
		if iss.TenantID() != issuers[0].TenantID() || iss.KeyID() != issuers[0].KeyID() {
			t.Fatal("concurrent first starts disagree on tenant or key")
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("data dir holds %d entries, want 2 (no temp files left)", len(entries))
	}
}

func TestLoadOrCreateIssuerBadFiles(t *testing.T) {
	tests := []struct {
		name, file, content, wantErr string
	}{
		{"tenant not a GUID", "tenant-id", "hello\n", "does not hold a GUID"},
		{"personal tenant", "tenant-id", PersonalTenantID + "\n", "personal-account tenant"},
		{"key not PEM", "signing-key.pem", "not pem", "no PEM block"},
		{"key not EC", "signing-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "load signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateIssuer(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			b, _ := os.ReadFile(filepath.Join(dir, tt.file))
			if string(b) != tt.content {
				t.Error("a bad file was replaced")
			}
		})
	}
}

func TestKeyIDIsThumbprint(t *testing.T) {
	iss := newTestIssuer(t)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v, %d keys", err, len(set.Keys))
	}
	k := set.Keys[0]
	if k["kid"] != iss.KeyID() || k["alg"] != "ES256" || k["kty"] != "EC" || k["crv"] != "P-256" {
		t.Errorf("JWKS key = %v", k)
	}
	if _, err := base64.RawURLEncoding.DecodeString(iss.KeyID()); err != nil || len(iss.KeyID()) != 43 {
		t.Errorf("kid %q is not a base64url SHA-256", iss.KeyID())
	}
	// RFC 7638 §3.1 example shape: required members only, sorted.
	want := thumbprint(iss.PublicKey())
	if iss.KeyID() != want {
		t.Errorf("KeyID = %q, want %q", iss.KeyID(), want)
	}
}

func TestMintApp(t *testing.T) {
	iss := newTestIssuer(t)
	tok, err := iss.MintApp("Contoso HR", []string{"Synchronization.ReadWrite.All", "User.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := payload(t, tok)
	want := map[string]any{
		"iss":             iss.IssuerURL(),
		"aud":             "https://graph.microsoft.com",
		"tid":             iss.TenantID(),
		"oid":             iss.AppObjectID("Contoso HR"),
		"sub":             iss.AppObjectID("Contoso HR"),
		"appid":           iss.AppID("Contoso HR"),
		"azp":             iss.AppID("Contoso HR"),
		"app_displayname": "Contoso HR",
		"idtyp":           "app",
		"roles":           []any{"Synchronization.ReadWrite.All", "User.Read.All"},
		"iat":             float64(testNow.Unix()),
		"nbf":             float64(testNow.Unix()),
		"exp":             float64(testNow.Add(time.Hour).Unix()),
		"ver":             "2.0",
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "jti" })); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if _, ok := got["jti"].(string); !ok {
		t.Error("no jti")
	}
	p, err := iss.Authenticator().Authenticate(request("Bearer " + tok))
	if err != nil {
		t.Fatal(err)
	}
	wantP := Principal{
		TenantID: iss.TenantID(), ObjectID: iss.AppObjectID("Contoso HR"), AppID: iss.AppID("Contoso HR"),
		Name: "Contoso HR", Roles: []string{"Synchronization.ReadWrite.All", "User.Read.All"},
	}
	if diff := cmp.Diff(wantP, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

func TestMintUser(t *testing.T) {
	iss := newTestIssuer(t)
	tok, err := iss.MintUser("Admin@Contoso.com", []string{"Synchronization.ReadWrite.All", "User.Read.All"},
		[]string{"Application Administrator", "hybrid identity administrator", RoleGlobalAdministrator}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := payload(t, tok)
	if got["scp"] != "Synchronization.ReadWrite.All User.Read.All" || got["idtyp"] != "user" || got["upn"] != "Admin@Contoso.com" {
		t.Errorf("claims = %v", got)
	}
	if _, ok := got["roles"]; ok {
		t.Error("delegated token carries roles")
	}
	p, err := iss.Authenticator().Authenticate(request("Bearer " + tok))
	if err != nil {
		t.Fatal(err)
	}
	wantP := Principal{
		TenantID: iss.TenantID(), ObjectID: iss.UserObjectID("admin@contoso.com"), AppID: iss.AppID(CLIAppName),
		Name: "Admin@Contoso.com", Delegated: true,
		Scopes:         []string{"Synchronization.ReadWrite.All", "User.Read.All"},
		DirectoryRoles: []string{RoleApplicationAdministrator, RoleHybridIdentityAdministrator, RoleGlobalAdministrator},
	}
	if diff := cmp.Diff(wantP, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

func TestMintErrors(t *testing.T) {
	iss := newTestIssuer(t)
	tests := []struct {
		name    string
		mint    func() (string, error)
		wantErr string
	}{
		{"unknown role", func() (string, error) {
			return iss.MintUser("a@b.c", nil, []string{"Helpdesk Administrator"}, time.Hour)
		}, `unknown directory role "Helpdesk Administrator"; known roles: Application Administrator, Cloud Application Administrator, Global Administrator, Hybrid Identity Administrator`},
		{"empty upn", func() (string, error) { return iss.MintUser(" ", nil, nil, time.Hour) }, "user principal name is empty"},
		{"scope with space", func() (string, error) { return iss.MintUser("a@b.c", []string{"A B"}, nil, time.Hour) }, `invalid delegated permission "A B"`},
		{"empty app", func() (string, error) { return iss.MintApp("", nil, time.Hour) }, "empty application name"},
		{"empty role", func() (string, error) { return iss.MintApp("x", []string{""}, time.Hour) }, `invalid application permission ""`},
		{"zero ttl", func() (string, error) { return iss.MintApp("x", nil, 0) }, "ttl must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.mint()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if tok != "" {
				t.Error("a token came with the error")
			}
		})
	}
}

func TestDerivedIDs(t *testing.T) {
	a, b := newTestIssuer(t), newTestIssuer(t)
	ids := map[string]string{
		"app oid":  a.AppObjectID("app1"),
		"app id":   a.AppID("app1"),
		"user oid": a.UserObjectID("u@x.y"),
		"app2 oid": a.AppObjectID("app2"),
		"b app":    b.AppObjectID("app1"),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
			t.Errorf("%s = %q, not a version 5 GUID", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %s", name, other, id)
		}
		seen[id] = name
	}
	if a.AppObjectID("app1") != ids["app oid"] || a.UserObjectID("U@X.Y") != ids["user oid"] {
		t.Error("derived ids are not stable")
	}
	// RFC 9562 Appendix A.4 test vector: DNS namespace, "www.example.com".
	dns, _ := parseGUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	if got := nameGUID(dns, "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Errorf("nameGUID = %s, want the RFC 9562 vector", got)
	}
}

func TestLoadIssuerCreatesNothing(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	for _, dir := range []string{empty, missing} {
		if _, err := LoadIssuer(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadIssuer(%s) = %v, want fs.ErrNotExist", dir, err)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("LoadIssuer wrote %v", entries)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadIssuer created %s", missing)
	}

	made, err := LoadOrCreateIssuer(empty)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadIssuer(empty)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.KeyID() != made.KeyID() || loaded.TenantID() != made.TenantID() {
		t.Errorf("LoadIssuer found another issuer: kid %s/%s", loaded.KeyID(), made.KeyID())
	}
	if want := filepath.Join(empty, "signing-key.pem"); loaded.KeyFile() != want || !filepath.IsAbs(loaded.KeyFile()) {
		t.Errorf("KeyFile = %q, want %q", loaded.KeyFile(), want)
	}
	// A relative data directory still gives an absolute key file.
	t.Chdir(empty)
	rel, err := LoadIssuer(".")
	if err != nil || rel.KeyFile() != filepath.Join(empty, "signing-key.pem") {
		t.Errorf("LoadIssuer(.) KeyFile = %v, %v", rel, err)
	}
}

func TestPermissionNames(t *testing.T) {
	app, delegated := ApplicationPermissions(), DelegatedPermissions()
	for _, list := range [][]string{app, delegated} {
		if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
			t.Errorf("not sorted and unique: %v", list)
		}
		for _, p := range []string{"Synchronization.ReadWrite.All", "Synchronization.Read.All", "User.Read.All", "Directory.ReadWrite.All", "AuditLog.Read.All"} {
			if !slices.Contains(list, p) {
				t.Errorf("%s missing from %v", p, list)
			}
		}
	}
	if !slices.Contains(app, "Application.ReadWrite.OwnedBy") || slices.Contains(delegated, "Application.ReadWrite.OwnedBy") {
		t.Errorf("Application.ReadWrite.OwnedBy is an application permission only: app %v, delegated %v", app, delegated)
	}
	// Every permission listed opens some operation.
	for _, p := range app {
		opens := false
		for op := range rules {
			if Authorize(Principal{Roles: []string{p}}, op, true) == nil {
				opens = true
			}
		}
		if !opens {
			t.Errorf("application permission %s opens nothing", p)
		}
	}
}

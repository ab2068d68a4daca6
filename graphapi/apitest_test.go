package graphapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/auth"
	"provisiond/graphapi/odata/odatatest"
	"provisiond/store/sqlstore"
)

// This file is the shared API test harness: the real Server over httptest,
// a real SQLite store in t.TempDir() and a fake Authenticator.
//
//	a := newAPITest(t)
//	res := a.call("POST", "/v1.0/users", map[string]any{...})
//	res.wantStatus(t, 201)
//	u := res.object(t)
//
// The caller is a.principal (an application holding every permission) unless
// a request names another with as("name"): a.principals[name].

// principalHeader names, per request, the key of the fake principal to use.
const principalHeader = "X-Test-Principal"

// adminPrincipal is an application with every application permission the
// directory and synchronization routes may ask for.
var adminPrincipal = auth.Principal{
	TenantID: "0f5d8c1e-5a57-4c38-9a3f-2f8e7e6c1a11",
	ObjectID: "6a1f2f58-9f46-4fb4-8a39-52b8f3b0c1de",
	AppID:    "2b7c9b7e-0e0e-4b8f-9f0b-3a1b8d2c6e55",
	Name:     "test-admin",
	Roles: []string{
		"Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
		"GroupMember.ReadWrite.All", "Application.ReadWrite.All",
		"AppRoleAssignment.ReadWrite.All", "Synchronization.ReadWrite.All",
		"AuditLog.Read.All",
	},
}

// fakeAuth authenticates every request as principals[X-Test-Principal], or
// def when the header is absent. An unknown name is a 401.
type fakeAuth struct {
	def        auth.Principal
	principals map[string]auth.Principal
}

func (f *fakeAuth) Authenticate(r *http.Request) (auth.Principal, error) {
	name := r.Header.Get(principalHeader)
	if name == "" {
		return f.def, nil
	}
	p, ok := f.principals[name]
	if !ok {
		return auth.Principal{}, &auth.Error{Status: http.StatusUnauthorized, Code: auth.CodeInvalidToken, Message: "Unknown test principal."}
	}
	return p, nil
}

// apiTest is one server under test.
type apiTest struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	store *sqlstore.Store
	auth  *fakeAuth
	// contexts checks every @odata.context on this server against its
	// $metadata.
	contexts *odatatest.Checker
}

// newAPITest starts a server; configure adjusts the Config (to add a Sync,
// a clock or ids) before New is called.
func newAPITest(t *testing.T, configure ...func(*Config)) *apiTest {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "provisiond.db"), nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	fa := &fakeAuth{def: adminPrincipal, principals: map[string]auth.Principal{"admin": adminPrincipal}}
	cfg := Config{Store: st, Auth: fa, Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(&cfg)
	}
	srv := New(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &apiTest{t: t, srv: srv, http: hs, store: st, auth: fa, contexts: &odatatest.Checker{Client: hs.Client()}}
}

// reqOpt adjusts a request before it is sent.
type reqOpt func(*http.Request)

// as sends the request as the fake principal registered under name.
func as(name string) reqOpt {
	return func(r *http.Request) { r.Header.Set(principalHeader, name) }
}

// header sets a request header.
func header(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// gzipped marks a body built by the gzipBody helper.
type gzipped []byte

// gzipBody compresses v (a string, []byte or a value to marshal) the way
// the msgraph SDKs send bodies.
func gzipBody(t *testing.T, v any) gzipped {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(rawBody(t, v)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return gzipped(buf.Bytes())
}

func rawBody(t *testing.T, v any) []byte {
	t.Helper()
	switch b := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	case []byte:
		return b
	case gzipped:
		return b
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// response is a received answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends method path (which includes /v1.0 and any query) with body:
// nil for none, a string or []byte as is, gzipped with Content-Encoding
// gzip, anything else as JSON.
func (a *apiTest) call(method, path string, body any, opts ...reqOpt) response {
	a.t.Helper()
	var rd io.Reader
	raw := rawBody(a.t, body)
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.http.URL+path, rd)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer test")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if _, ok := body.(gzipped); ok {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := a.http.Client().Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	var ctx struct {
		Context string `json:"@odata.context"`
	}
	// Contexts on another origin (a configured public URL) are the
	// business of the tests that configure it.
	if json.Unmarshal(b, &ctx) == nil && strings.HasPrefix(ctx.Context, a.http.URL+"/") {
		if err := a.contexts.Check(ctx.Context); err != nil {
			a.t.Errorf("%s %s: %v", method, path, err)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must sends the request and fails the test unless the status is want.
func (a *apiTest) must(want int, method, path string, body any, opts ...reqOpt) response {
	a.t.Helper()
	res := a.call(method, path, body, opts...)
	if res.status != want {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, res.status, want, res.body)
	}
	return res
}

// object decodes the body as a JSON object.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// values returns the "value" array of a collection body.
func (r response) values(t *testing.T) []map[string]any {
	t.Helper()
	var c struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil || c.Value == nil {
		t.Fatalf("body is not a collection (%v): %s", err, r.body)
	}
	return c.Value
}

// graphError checks that the body is a Graph error envelope and returns
// its code and message.
func (r response) graphError(t *testing.T) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code       string            `json:"code"`
			Message    string            `json:"message"`
			InnerError map[string]string `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body is not a Graph error (%v): %s", r.status, err, r.body)
	}
	if e.Error.InnerError["request-id"] == "" || e.Error.InnerError["date"] == "" {
		t.Errorf("error without innerError request-id/date: %s", r.body)
	}
	return e.Error.Code, e.Error.Message
}

// wantError checks status, code and that the message contains each of
// the fragments.
func (r response) wantError(t *testing.T, status int, code string, fragments ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %s", r.status, status, r.body)
		return
	}
	gotCode, msg := r.graphError(t)
	if code != "" && gotCode != code {
		t.Errorf("code %q, want %q (message %q)", gotCode, code, msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not contain %q", msg, f)
		}
	}
}

// without returns a copy of m without the given keys, after checking they
// are present and non-empty (generated ids and dates).
func without(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		if s, _ := out[k].(string); s == "" {
			t.Errorf("property %q missing or empty in %v", k, m)
		}
		delete(out, k)
	}
	return out
}

// diff fails the test when got and want differ.
func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// jsonValue round-trips v through JSON so that it compares with decoded
// bodies (numbers become float64, slices []any).
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

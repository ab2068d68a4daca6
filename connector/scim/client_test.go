package scim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

const token = "tok-123"

// harness is a client talking to a scimtest.Server that also records raw
// headers and queries.
type harness struct {
	srv    *scimtest.Server
	url    string // the SCIM base address
	client *scim.Client
	mu     sync.Mutex
	raw    []*http.Request // clones without bodies
}

func newHarness(t *testing.T, opts scimtest.Options, wrap func(http.Handler) http.Handler) *harness {
	t.Helper()
	opts.Token = token
	h := &harness{srv: scimtest.NewServer(opts)}
	var handler http.Handler = h.srv
	if wrap != nil {
		handler = wrap(handler)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.raw = append(h.raw, r.Clone(r.Context()))
		h.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	h.url = hs.URL + "/"
	h.client = newClient(t, h.url, token)
	return h
}

// rawRequests returns the recorded raw requests but discovery
// (GET /ServiceProviderConfig).
func (h *harness) rawRequests() []*http.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*http.Request
	for _, r := range h.raw {
		if r.URL.Path != "/ServiceProviderConfig" {
			out = append(out, r)
		}
	}
	return out
}

// since returns the logged requests after the first n, discovery left out.
func (h *harness) since(n int) []scimtest.Request {
	var out []scimtest.Request
	for _, r := range h.srv.Requests()[n:] {
		if r.Path != "/ServiceProviderConfig" {
			out = append(out, r)
		}
	}
	return out
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

func TestCreateSendsEntraShape(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	obj, err := h.client.Create(t.Context(), "user", connector.Attributes{
		"userName": {"ada@example.com"}, "active": {"True"}, "externalId": {"ada"},
		"name.givenName": {"Ada"}, `emails[type eq "work"].value`: {"ada@example.com"},
		scim.EnterpriseUserSchema + ":employeeNumber": {"7"}, "displayName": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Type != connector.TypeUser || obj.ID == "" || obj.Attrs["userName"][0] != "ada@example.com" {
		t.Errorf("Create = %+v", obj)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/Users" {
		t.Fatalf("requests = %+v, want one POST /Users", reqs)
	}
	want := mustJSON(t, `{
	  "schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	  "meta":{"resourceType":"User"}, "userName":"ada@example.com", "active":true, "externalId":"ada",
	  "name":{"givenName":"Ada"}, "emails":[{"primary":true,"type":"work","value":"ada@example.com"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7"}}`)
	if diff := cmp.Diff(want, mustJSON(t, reqs[0].Body)); diff != "" {
		t.Errorf("POST body (-want +got):\n%s", diff)
	}
	hdr := h.rawRequests()[0].Header
	if got := hdr.Get("Content-Type"); got != "application/scim+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := hdr.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q", got)
	}
}

func TestUpdatePatchBody(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	ctx := t.Context()
	u, err := h.client.Create(ctx, "User", connector.Attributes{
		"userName": {"bob"}, "title": {"Dev"}, `emails[type eq "work"].value`: {"bob@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.srv.Requests())
	err = h.client.Update(ctx, "User", u.ID, connector.Attributes{
		"active":                               {"False"},
		"title":                                nil,
		`emails[type eq "work"].value`:         {"bob@new.example.com"},
		`emails[type eq "other"].value`:        {"bob@other.example.com"},
		`addresses[type eq "work"].locality`:   {"Paris"},
		`addresses[type eq "work"].postalCode`: {"75001"},
		`phoneNumbers[type eq "fax"].value`:    nil, // absent: nothing to send
		scim.EnterpriseUserSchema + ":manager": {"m-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.since(n)
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[1].Method != "PATCH" || reqs[1].Path != "/Users/"+u.ID {
		t.Fatalf("requests = %+v, want GET then PATCH /Users/%s", reqs, u.ID)
	}
	want := mustJSON(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	  {"op":"replace","path":"active","value":false},
	  {"op":"replace","path":"emails[type eq \"work\"].value","value":"bob@new.example.com"},
	  {"op":"remove","path":"title"},
	  {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m-1"}},
	  {"op":"add","path":"addresses","value":[{"type":"work","locality":"Paris","postalCode":"75001"}]},
	  {"op":"add","path":"emails","value":[{"type":"other","value":"bob@other.example.com"}]}]}`)
	if diff := cmp.Diff(want, mustJSON(t, reqs[1].Body)); diff != "" {
		t.Errorf("PATCH body (-want +got):\n%s", diff)
	}

	// Without filtered paths there is no read first; nothing to set sends nothing.
	n = len(h.srv.Requests())
	if err := h.client.Update(ctx, "User", u.ID, connector.Attributes{"displayName": {"Bob"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Update(ctx, "User", u.ID, connector.Attributes{}); err != nil {
		t.Fatal(err)
	}
	reqs = h.since(n)
	if len(reqs) != 1 || reqs[0].Method != "PATCH" {
		t.Fatalf("requests = %+v, want one PATCH", reqs)
	}
	if diff := cmp.Diff(mustJSON(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
	  "Operations":[{"op":"replace","path":"displayName","value":"Bob"}]}`), mustJSON(t, reqs[0].Body)); diff != "" {
		t.Errorf("PATCH body (-want +got):\n%s", diff)
	}
}

func TestPatchOpsSeveralValues(t *testing.T) {
	current := map[string]any{"emails": []any{map[string]any{"type": "other", "value": "old"}}}
	ops, err := scim.PatchOps(connector.Attributes{`emails[type eq "other"].value`: {"a", "b"}}, current)
	if err != nil {
		t.Fatal(err)
	}
	want := []scim.PatchOp{
		{Op: "remove", Path: `emails[type eq "other"]`},
		{Op: "add", Path: "emails", Value: []any{map[string]any{"type": "other", "value": "a"}, map[string]any{"type": "other", "value": "b"}}},
	}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("PatchOps (-want +got):\n%s", diff)
	}
}

func TestMembersPatchBodies(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	ctx := t.Context()
	g, err := h.client.Create(ctx, "Group", connector.Attributes{"displayName": {"Eng"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.srv.Requests())
	if err := h.client.AddMembers(ctx, g.ID, []string{"a", "b", "a", ""}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.RemoveMembers(ctx, g.ID, []string{"a", `q"uote`}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.AddMembers(ctx, g.ID, nil); err != nil {
		t.Fatal(err)
	}
	reqs := h.since(n)
	if len(reqs) != 2 {
		t.Fatalf("requests = %+v, want 2 PATCHes", reqs)
	}
	wants := []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"remove","path":"members[value eq \"a\"]"},{"op":"remove","path":"members[value eq \"q\\\"uote\"]"}]}`,
	}
	for i, w := range wants {
		if reqs[i].Method != "PATCH" || reqs[i].Path != "/Groups/"+g.ID || reqs[i].Status != http.StatusNoContent {
			t.Errorf("request %d = %s %s → %d", i, reqs[i].Method, reqs[i].Path, reqs[i].Status)
		}
		if diff := cmp.Diff(mustJSON(t, w), mustJSON(t, reqs[i].Body)); diff != "" {
			t.Errorf("PATCH %d body (-want +got):\n%s", i, diff)
		}
	}
	got, err := h.client.Get(ctx, "group", g.ID)
	if err != nil || !cmp.Equal(got.Attrs["members"], []string{"b"}) {
		t.Errorf("Get = %v, %v; want members [b]", got.Attrs, err)
	}
}

// A strict server answers 400 noTarget to removing an absent member; the
// client reads the group and resends the removal for present members only.
func TestRemoveMembersStrictServer(t *testing.T) {
	strict := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				body := new(bytes.Buffer)
				_, _ = body.ReadFrom(r.Body)
				if strings.Contains(body.String(), "ghost") {
					w.Header().Set("Content-Type", "application/scim+json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"noTarget","detail":"no member ghost"}`))
					return
				}
				r.Body = io.NopCloser(body)
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, scimtest.Options{}, strict)
	ctx := t.Context()
	g, err := h.client.Create(ctx, "Group", connector.Attributes{"displayName": {"Ops"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.client.AddMembers(ctx, g.ID, []string{"u1", "u2"}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.RemoveMembers(ctx, g.ID, []string{"u1", "ghost"}); err != nil {
		t.Fatalf("RemoveMembers = %v", err)
	}
	if err := h.client.RemoveMembers(ctx, g.ID, []string{"ghost"}); err != nil {
		t.Fatalf("RemoveMembers(only absent) = %v", err)
	}
	got, _ := h.client.Get(ctx, "Group", g.ID)
	if !cmp.Equal(got.Attrs["members"], []string{"u2"}) {
		t.Errorf("members = %v, want [u2]", got.Attrs["members"])
	}
}

func TestFindQuery(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	ctx := t.Context()
	odd := `we"ird\name`
	u, err := h.client.Create(ctx, "User", connector.Attributes{"userName": {odd}, "active": {"True"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.rawRequests())
	got, err := h.client.Find(ctx, "User", "userName", odd)
	if err != nil || len(got) != 1 || got[0].ID != u.ID || got[0].Type != "User" {
		t.Fatalf("Find = %+v, %v", got, err)
	}
	if q := h.rawRequests()[n].URL.RawQuery; q != `filter=userName+eq+%22we%5C%22ird%5C%5Cname%22` {
		t.Errorf("query = %s", q)
	}
	if _, err := h.client.Find(ctx, "User", "active", "True"); err != nil {
		t.Fatal(err)
	}
	if q := h.rawRequests()[n+1].URL.Query().Get("filter"); q != "active eq true" {
		t.Errorf("boolean filter = %q", q)
	}
	if _, err := h.client.Find(ctx, "Group", "displayName", "x"); err != nil {
		t.Fatal(err)
	}
	if q := h.rawRequests()[n+2].URL.Query(); q.Get("excludedAttributes") != "members" || q.Get("filter") != `displayName eq "x"` {
		t.Errorf("group query = %v", q)
	}
	if _, err := h.client.Find(ctx, "User", "emails[type", "x"); connector.KindOf(err) != connector.KindInvalid {
		t.Errorf("Find(bad path) = %v, want KindInvalid", err)
	}
}

// A server that ignores filters must not make every user a match.
func TestFindDropsContradictingResults(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"totalResults":2,"Resources":[{"id":"1","userName":"a"},{"id":"2","userName":"B"}]}`))
	}))
	t.Cleanup(hs.Close)
	c := newClient(t, hs.URL, "")
	got, err := c.Find(t.Context(), "User", "userName", "b")
	if err != nil || len(got) != 1 || got[0].ID != "2" {
		t.Errorf("Find = %+v, %v; want only id 2", got, err)
	}
	if err := c.Test(t.Context()); connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "totalResults 2") {
		t.Errorf("Test = %v, want KindInvalid about totalResults", err)
	}
}

func TestFindPages(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.URL.Query().Get("startIndex"))
		mu.Unlock()
		if r.URL.Query().Get("startIndex") == "" {
			_, _ = w.Write([]byte(`{"totalResults":3,"Resources":[{"id":"1","externalId":"x"},{"id":"2","externalId":"x"}]}`))
			return
		}
		// SCIMMY-style: a page past the end repeats everything.
		_, _ = w.Write([]byte(`{"totalResults":3,"Resources":[{"id":"3","externalId":"x"},{"id":"1","externalId":"x"}]}`))
	}))
	t.Cleanup(hs.Close)
	c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, Profile: scim.Profile{NoDiscovery: true}})
	got, err := c.Find(t.Context(), "User", "externalId", "x")
	if err != nil || len(got) != 3 {
		t.Fatalf("Find = %+v, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !cmp.Equal(calls, []string{"", "3"}) {
		t.Errorf("startIndex per call = %q", calls)
	}
}

func TestUnknownObjectType(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", "")
	if _, err := c.Get(t.Context(), "Device", "1"); connector.KindOf(err) != connector.KindInvalid {
		t.Errorf("Get(Device) = %v, want KindInvalid", err)
	}
	if _, err := scim.New(scim.Config{BaseAddress: "not a url"}); err == nil {
		t.Error("New(bad base address) succeeded")
	}
	if c.Name() != "customappsso" {
		t.Errorf("Name = %q", c.Name())
	}
}

func TestTokenNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(scimtest.NewServer(scimtest.Options{Options: scimserver.Options{Token: token}}))
	t.Cleanup(srv.Close)
	cfg := scim.Config{BaseAddress: srv.URL, SecretToken: token, Logger: logger}
	c, err := scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Test(t.Context()); err != nil {
		t.Fatal(err)
	}
	logger.Info("config", "cfg", cfg)
	if strings.Contains(buf.String(), token) {
		t.Errorf("log contains the token:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "REDACTED") || !strings.Contains(buf.String(), `"path":"/Users"`) {
		t.Errorf("log lacks the request record or the redaction:\n%s", buf.String())
	}
	var ce *connector.Error
	bad := newClient(t, srv.URL, "wrong")
	if err := bad.Test(t.Context()); !errors.As(err, &ce) || ce.Kind != connector.KindUnauthorized || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Test(bad token) = %v", err)
	}
}

// A big membership change goes in requests of 5,000 members, and every
// member arrives.
func TestMembersInChunks(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	ctx := t.Context()
	g, err := h.client.Create(ctx, "Group", connector.Attributes{"displayName": {"Big"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 2*5000 + 1 {
		ids = append(ids, fmt.Sprintf("m%05d", i))
	}
	n := len(h.srv.Requests())
	if err := h.client.AddMembers(ctx, g.ID, ids); err != nil {
		t.Fatal(err)
	}
	if reqs := h.since(n); len(reqs) != 3 {
		t.Errorf("%d requests for %d members, want 3", len(reqs), len(ids))
	}
	got, err := h.client.Get(ctx, "group", g.ID)
	if err != nil {
		t.Fatal(err)
	}
	ms := slices.Clone(got.Attrs["members"])
	slices.Sort(ms)
	if !slices.Equal(ms, ids) {
		t.Errorf("the group has %d members, want %d", len(ms), len(ids))
	}
}

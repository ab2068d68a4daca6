package graphapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"provisiond/graphapi/odata/odatatest"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/memory"
)

// This file tests the Graph protocol around the handlers: links, errors,
// $metadata, $count and the provisioning logs' query options.

func TestMetadataDocument(t *testing.T) {
	a := newAPITest(t)
	// $metadata is public: an unknown caller gets it too.
	res := a.must(http.StatusOK, "GET", "/v1.0/$metadata", nil, as("nobody"))
	if ct := res.header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type %q, want application/xml", ct)
	}
	md, err := odatatest.Parse(res.body)
	if err != nil {
		t.Fatal(err)
	}
	// Every property $select and $filter accept is declared on its type.
	for typ, f := range map[string]fields{
		"microsoft.graph.user": userFields, "microsoft.graph.group": groupFields,
		"microsoft.graph.servicePrincipal": spFields, "microsoft.graph.application": appFields,
		"microsoft.graph.appRoleAssignment": assignmentFields, "microsoft.graph.provisioningObjectSummary": logFields,
	} {
		declared := md.Properties(typ)
		for _, name := range f.Names() {
			if !slices.Contains(declared, name) {
				t.Errorf("%s.%s is served but not in $metadata", typ, name)
			}
		}
	}
	// Case-insensitive, as every other segment.
	a.must(http.StatusOK, "GET", "/v1.0/$METADATA", nil)
}

func TestLinksFromConfiguredOrigin(t *testing.T) {
	setup := func(t *testing.T, cfg func(*Config)) *apiTest {
		a := newAPITest(t, cfg)
		for _, n := range []string{"a", "b"} {
			a.must(http.StatusCreated, "POST", "/v1.0/users", newUser(n+"@contoso.test"))
		}
		return a
	}
	forwarded := []reqOpt{
		header("X-Forwarded-Proto", "https"), header("X-Forwarded-Host", "proxy.example:8443"),
		header("X-Forwarded-Prefix", "/graph/"), func(r *http.Request) { r.Host = "evil.example" },
	}
	tests := []struct {
		name string
		cfg  func(*Config)
		opts []reqOpt
		want func(a *apiTest) string // origin the links must start with
	}{
		{"listen address, Host header ignored", func(*Config) {}, []reqOpt{func(r *http.Request) { r.Host = "evil.example" }},
			func(a *apiTest) string { return a.http.URL }},
		{"forwarded headers ignored without TrustProxy", func(*Config) {}, forwarded,
			func(a *apiTest) string { return a.http.URL }},
		{"public URL", func(c *Config) { c.PublicURL = "https://graph.example.com/base/" }, forwarded,
			func(*apiTest) string { return "https://graph.example.com/base" }},
		{"trusted proxy", func(c *Config) { c.TrustProxy = true }, forwarded,
			func(*apiTest) string { return "https://proxy.example:8443/graph" }},
		{"trusted proxy, malformed values ignored", func(c *Config) { c.TrustProxy = true }, []reqOpt{
			header("X-Forwarded-Proto", "javascript"), header("X-Forwarded-Host", "evil.example/x?"),
			header("X-Forwarded-Prefix", "/../admin")},
			func(a *apiTest) string { return a.http.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := setup(t, tt.cfg)
			body := a.must(http.StatusOK, "GET", "/v1.0/users?$top=1", nil, tt.opts...).object(t)
			origin := tt.want(a)
			for _, k := range []string{"@odata.context", "@odata.nextLink"} {
				link, _ := body[k].(string)
				if !strings.HasPrefix(link, origin+"/v1.0/") {
					t.Errorf("%s = %q, want it on %s", k, link, origin)
				}
			}
		})
	}
}

func TestCountSegment(t *testing.T) {
	a := newAPITest(t)
	for _, n := range []string{"ann", "bob", "bea"} {
		a.must(http.StatusCreated, "POST", "/v1.0/users", newUser(n+"@contoso.test"))
	}
	gid := a.must(http.StatusCreated, "POST", "/v1.0/groups", newGroup("g1")).object(t)["id"].(string)
	spID := a.instantiate("Counted")["id"].(string)
	eventual := header("ConsistencyLevel", "eventual")
	for _, tt := range []struct{ path, want string }{
		{"/v1.0/users/$count", "3"},
		{"/v1.0/users/$count?$filter=" + url.QueryEscape("startswith(displayName,'User b')"), "2"},
		{"/v1.0/groups/$count", "1"},
		{"/v1.0/Groups/$COUNT", "1"},
		{"/v1.0/servicePrincipals/$count", "1"},
	} {
		res := a.must(http.StatusOK, "GET", tt.path, nil, eventual)
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || string(res.body) != tt.want {
			t.Errorf("GET %s = %q (%s), want text/plain %s", tt.path, res.body, ct, tt.want)
		}
	}
	a.call("GET", "/v1.0/users/$count", nil).wantError(t, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.", "ConsistencyLevel: eventual")
	a.call("GET", "/v1.0/groups/$count", nil).wantError(t, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
	a.call("GET", "/v1.0/users/$count?$top=1", nil, eventual).wantError(t, http.StatusBadRequest, "BadRequest", "Only $filter")
	a.call("GET", "/v1.0/users/$count?$filter="+url.QueryEscape("nope eq 1"), nil, eventual).wantError(t, http.StatusBadRequest, "Request_BadRequest", "nope")
	// $count=true on any collection of directory objects needs the header too.
	for _, p := range []string{"/v1.0/users", "/v1.0/groups", "/v1.0/servicePrincipals", "/v1.0/groups/" + gid + "/members",
		"/v1.0/servicePrincipals/" + spID + "/owners", "/v1.0/servicePrincipals/" + spID + "/appRoleAssignedTo"} {
		a.call("GET", p+"?$count=true", nil).wantError(t, http.StatusBadRequest, "Request_BadRequest", "ConsistencyLevel: eventual")
		if n := a.must(http.StatusOK, "GET", p+"?$count=true", nil, eventual).object(t)["@odata.count"]; n == nil {
			t.Errorf("GET %s?$count=true with ConsistencyLevel: no @odata.count", p)
		}
	}
	// $count is not an object's id: other methods are a 405 for GET.
	for _, set := range []string{"users", "groups", "servicePrincipals"} {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			res := a.call(m, "/v1.0/"+set+"/$count", "{}", eventual)
			res.wantError(t, http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '"+m+"' is not allowed", "use GET")
			if allow := res.header.Get("Allow"); allow != "GET" {
				t.Errorf("%s /%s/$count: Allow %q, want GET", m, set, allow)
			}
		}
	}
}

func TestErrorKeepsItsCause(t *testing.T) {
	wrapped := fmt.Errorf("get user: %w", store.ErrNotFound)
	err := storeErr(wrapped, "u1")
	var ge *Error
	if !errors.Is(err, store.ErrNotFound) || !errors.As(err, &ge) || ge.Status != http.StatusNotFound || !errors.Is(ge.Cause, wrapped) {
		t.Errorf("storeErr(%v) = %#v: want a 404 *Error that unwraps to store.ErrNotFound", wrapped, err)
	}

	// A 5xx shows its message, never its cause, which goes to the log.
	var logged bytes.Buffer
	s := New(Config{Store: memory.New(), Auth: &fakeAuth{}, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	cause := errors.New("dial tcp 10.1.2.3:443: secret-internal-detail")
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("GET", "/v1.0/x", nil), &Error{Status: http.StatusBadGateway, Code: "BadGateway", Message: "The target did not answer.", Cause: cause})
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "secret-internal-detail") || !strings.Contains(rec.Body.String(), "The target did not answer.") {
		t.Errorf("response %d %s: want 502 with the message and without the cause", rec.Code, rec.Body)
	}
	if !strings.Contains(logged.String(), "secret-internal-detail") {
		t.Errorf("the cause is not logged: %q", logged.String())
	}
}

// goSyntax matches what Go type names look like in messages.
var goSyntax = regexp.MustCompile(`\[\]|\bstruct\b|\*string|\bmap\[|interface ?\{|json:"|\b[a-z][a-z0-9]*\.[A-Z]\w*|\b(u?int|float)(8|16|32|64)?\b`)

// quoted matches a quoted name in a message.
var quoted = regexp.MustCompile(`'[^']*'`)

func TestJSONErrorsNameEDMTypes(t *testing.T) {
	var onDemand onDemandBody
	var sch schema.Schema
	var secretsBody struct {
		Value *[]secrets.Pair `json:"value"`
	}
	var settings struct {
		Settings *[]keyValuePair `json:"synchronizationJobSettings"`
	}
	tests := []struct {
		into       any
		body, want string
	}{
		{&onDemand, `{"parameters":"x"}`, "'parameters': expected Collection(microsoft.graph.synchronizationJobApplicationParameters), got a JSON string"},
		{&onDemand, `{"parameters":[1]}`, "'parameters': expected microsoft.graph.synchronizationJobApplicationParameters, got a JSON number"},
		{&onDemand, `{"parameters":[{"ruleId":true}]}`, "'parameters.ruleId': expected Edm.String, got a JSON boolean"},
		{&onDemand, `{"parameters":[{"subjects":{}}]}`, "'parameters.subjects': expected Collection(microsoft.graph.synchronizationJobSubject), got a JSON object"},
		{&onDemand, `{"parameters":[{"subjects":[{"links":[]}]}]}`, "'parameters.subjects.links': expected microsoft.graph.synchronizationLinkedObjects"},
		{&onDemand, `[]`, "must be a JSON object, not a JSON array"},
		{&sch, `{"synchronizationRules":{}}`, "'synchronizationRules': expected Collection(microsoft.graph.synchronizationRule)"},
		{&sch, `{"synchronizationRules":[{"priority":"high"}]}`, "'synchronizationRules.priority': expected Edm.Int32, got a JSON string"},
		{&sch, `{"synchronizationRules":[{"priority":1.5}]}`, "expected Edm.Int32, got the number 1.5"},
		{&sch, `{"synchronizationRules":[{"editable":"yes"}]}`, "expected Edm.Boolean"},
		{&sch, `{"synchronizationRules":[{"objectMappings":[{"scope":[]}]}]}`, "expected microsoft.graph.filter, got a JSON array"},
		{&sch, `{"directories":[{"discoveryDateTime":"yesterday"}]}`, "Invalid Edm.DateTimeOffset value 'yesterday'"},
		{&sch, `{"directories":[{"discoveryDateTime":5}]}`, "date-time property"},
		{&sch, `"schema"`, "must be a JSON object, not a JSON string"},
		{&secretsBody, `{"value":{"key":"BaseAddress"}}`, "'value': expected Collection(microsoft.graph.synchronizationSecretKeyStringValuePair)"},
		{&secretsBody, `{"value":[{"key":1}]}`, "'value.key': expected Edm.String, got a JSON number"},
		{&settings, `{"synchronizationJobSettings":["x"]}`, "expected microsoft.graph.keyValuePair"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.body))
			err := decodeJSON(httptest.NewRecorder(), r, tt.into)
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest {
				t.Fatalf("decodeJSON = %v, want a 400 *Error", err)
			}
			if !strings.Contains(ge.Message, tt.want) {
				t.Errorf("message %q does not contain %q", ge.Message, tt.want)
			}
			if m := goSyntax.FindString(ge.Message); m != "" {
				t.Errorf("message %q shows Go syntax %q", ge.Message, m)
			}
		})
	}
}

// FuzzDecodeErrorMessages: whatever the body, decoding into the bodies of
// provisionOnDemand, PUT schema and PUT secrets fails, if at all, with a
// 400 whose message has no Go type syntax.
func FuzzDecodeErrorMessages(f *testing.F) {
	for _, s := range []string{`{"parameters":"x"}`, `{"parameters":[{"subjects":[{"links":1}]}]}`,
		`{"synchronizationRules":[{"priority":"x","objectMappings":[{"scope":{"groups":[{"clauses":"c"}]}}]}]}`,
		`{"directories":[{"discoveryDateTime":"x","objects":[{"attributes":[{"referencedObjects":[1]}]}]}]}`,
		`{"value":[{"key":1,"value":[]}]}`, `[]`, `{`, `{"priority":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, into := range []func() any{
			func() any { return new(onDemandBody) },
			func() any { return new(schema.Schema) },
			func() any { return new(struct{ Value *[]secrets.Pair }) },
		} {
			r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
			err := decodeJSON(httptest.NewRecorder(), r, into())
			if err == nil {
				continue
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest {
				t.Fatalf("decode error %T %v is not a 400 *Error", err, err)
			}
			// A name in quotes is the body's own, echoed back.
			if m := goSyntax.FindString(quoted.ReplaceAllString(ge.Message, "'…'")); m != "" {
				t.Fatalf("message %q shows Go syntax %q", ge.Message, m)
			}
		}
	})
}

// A write's body must be declared JSON, as Graph requires, and be plain
// or gzip; a write without a body needs no Content-Type.
func TestBodyHeaders(t *testing.T) {
	a := newAPITest(t)
	noType := func(r *http.Request) { r.Header.Del("Content-Type") }
	a.call("POST", "/v1.0/groups", newGroup("text"), header("Content-Type", "text/plain")).
		wantError(t, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type 'text/plain' is not supported", "application/json")
	a.call("POST", "/v1.0/groups", newGroup("form"), header("Content-Type", "application/x-www-form-urlencoded")).
		wantError(t, http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	a.call("PATCH", "/v1.0/groups/x", `{}`, noType).
		wantError(t, http.StatusBadRequest, "BadRequest", "must contain the Content-Type header declaration")
	a.call("POST", "/v1.0/groups", newGroup("deflated"), header("Content-Encoding", "deflate")).
		wantError(t, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding 'deflate' is not supported")
	a.call("POST", "/v1.0/groups", newGroup("br"), header("Content-Encoding", "br")).
		wantError(t, http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	if got := a.must(http.StatusOK, "GET", "/v1.0/groups", nil).values(t); len(got) != 0 {
		t.Fatalf("refused writes made %d groups", len(got))
	}
	a.must(http.StatusCreated, "POST", "/v1.0/groups", newGroup("charset"), header("Content-Type", "application/json; charset=utf-8"))
	a.must(http.StatusCreated, "POST", "/v1.0/groups", gzipBody(t, newGroup("gzipped")))
	a.must(http.StatusCreated, "POST", "/v1.0/groups", newGroup("identity"), header("Content-Encoding", "identity"))
	id := a.createGroup("emptied")
	a.must(http.StatusNoContent, "DELETE", "/v1.0/groups/"+id, nil, noType)
}

package scim_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimtest"
)

// fixed answers every request with the same status, headers and body and
// counts the requests. Its client does not retry.
func fixed(t *testing.T, status int, header map[string]string, body string) (*scim.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(hs.Close)
	return newClientConfig(t, scim.Config{BaseAddress: hs.URL, SecretToken: "t", MaxAttempts: 1}), &n
}

const scimJSON = "application/scim+json"

func TestErrorMapping(t *testing.T) {
	ct := map[string]string{"Content-Type": scimJSON}
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       connector.Kind
		code       string
		retryAfter float64
		scimType   string
		message    string // a substring of Message
		requests   int    // 0 means 1
	}{
		{
			name: "401", status: 401, header: ct,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`,
			kind: connector.KindUnauthorized, code: "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
			message: `StatusCode: Unauthorized Message: Processing of the HTTP request resulted in an exception.`,
		},
		{
			name: "404", status: 404, header: ct,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Resource 1 not found"}`,
			kind: connector.KindNotFound, code: "InvalidAnchor", message: `Web Response: {"schemas"`,
			requests: 2, // confirmed by a second GET
		},
		{
			name: "409", status: 409, header: ct,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":409,"scimType":"uniqueness","detail":"userName taken"}`,
			kind: connector.KindConflict, code: "EntryConflict", scimType: "uniqueness", message: `StatusCode: Conflict Message:`,
		},
		{
			name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "120"},
			kind: connector.KindTransient, code: "TooManyRequests", retryAfter: 120, message: "StatusCode: TooManyRequests",
		},
		{
			name: "503 with a date", status: 503, header: map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
			body: "<html>down</html>", kind: connector.KindTransient, code: "InternalServerError", retryAfter: 3590,
			message: "Web Response: (a 17-byte text/html body, not quoted)",
		},
		{
			name: "500", status: 500, body: "boom", kind: connector.KindTransient, code: "InternalServerError",
			message: "StatusCode: InternalServerError",
		},
		{
			name: "400 HTML", status: 400, header: map[string]string{"Content-Type": "text/html"}, body: "<h1>Bad</h1>",
			kind: connector.KindInvalid, code: "SystemForCrossDomainIdentityManagementBadRequest",
			message: "Web Response: (a 12-byte text/html body, not quoted)",
		},
		{
			name: "400 empty", status: 400, kind: connector.KindInvalid,
			code: "SystemForCrossDomainIdentityManagementBadRequest", message: "Web Response: (empty body)",
		},
		{
			name: "200 not JSON", status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "<html>login</html>",
			kind: connector.KindInvalid, code: scim.CodeServiceIncompatible, message: "Web Response: (a 18-byte text/html body, not quoted)",
		},
		{
			name: "200 without id", status: 200, header: ct, body: `{"userName":"x"}`,
			kind: connector.KindInvalid, code: scim.CodeServiceIncompatible, message: "no id",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, n := fixed(t, tc.status, tc.header, tc.body)
			_, err := c.Get(t.Context(), "User", "1")
			var ce *connector.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Get error = %v, want *connector.Error", err)
			}
			if ce.Kind != tc.kind || ce.Code != tc.code {
				t.Errorf("kind, code = %v, %q; want %v, %q", ce.Kind, ce.Code, tc.kind, tc.code)
			}
			if tc.status >= 400 && ce.Status != tc.status {
				t.Errorf("Status = %d, want %d", ce.Status, tc.status)
			}
			if ce.RetryAfter < tc.retryAfter || ce.RetryAfter > tc.retryAfter+11 {
				t.Errorf("RetryAfter = %v, want about %v", ce.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(ce.Message, tc.message) {
				t.Errorf("Message = %q, want it to contain %q", ce.Message, tc.message)
			}
			var re *scim.ResponseError
			if tc.scimType != "" && (!errors.As(err, &re) || re.ScimType != tc.scimType || re.Detail == "") {
				t.Errorf("ResponseError = %+v, want scimType %q with a detail", re, tc.scimType)
			}
			if want := max(tc.requests, 1); int(n.Load()) != want {
				t.Errorf("%d requests, want %d", n.Load(), want)
			}
		})
	}
}

// An error quotes at most 500 characters of a target's body, and only of a
// JSON or SCIM one: a target URL pointed at some other service must not
// become a way to read it.
func TestErrorQuotesOnlyJSONBodies(t *testing.T) {
	long := `{"detail":"` + strings.Repeat("é", 600) + `"}`
	tests := []struct {
		name, contentType, body string
		want                    string // the Web Response
		detail                  string // the ResponseError's Detail
	}{
		{"JSON", "application/json; charset=utf-8", `{"detail":"nope"}`, `{"detail":"nope"}`, "nope"},
		{"long SCIM", scimJSON, long, long[:len(`{"detail":"`)] + strings.Repeat("é", 500-len(`{"detail":"`)-len(" Detail: ")-251) + "… Detail: " +
			strings.Repeat("é", 250) + "…", strings.Repeat("é", 600)},
		{"text", "text/plain", `{"detail":"the admin password is hunter2"}`, "(a 42-byte text/plain body, not quoted)", ""},
		{"HTML", "text/html; charset=utf-8", "<title>Jenkins</title>", "(a 22-byte text/html body, not quoted)", ""},
		{"no type", "", "SECRET", "(a 6-byte body without a Content-Type, not quoted)", ""},
		{"odd type", "text/", "SECRET", "(a 6-byte body with an unreadable Content-Type, not quoted)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tc.contentType}
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(hs.Close)
			c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, MaxAttempts: 1})
			_, err := c.Get(t.Context(), "User", "1")
			var ce *connector.Error
			var re *scim.ResponseError
			if !errors.As(err, &ce) || !errors.As(err, &re) {
				t.Fatalf("Get = %v, want a *connector.Error with a *ResponseError", err)
			}
			if _, web, _ := strings.Cut(ce.Message, "Web Response: "); !strings.HasPrefix(web, tc.want) {
				t.Errorf("Web Response = %q, want %q", web, tc.want)
			}
			if tc.detail == "" && strings.Contains(ce.Message, "hunter2") || strings.Contains(ce.Message, "SECRET") || strings.Contains(ce.Message, "Jenkins") {
				t.Errorf("Message quotes a non-JSON body: %q", ce.Message)
			}
			if re.Detail != tc.detail {
				t.Errorf("Detail = %q, want %q", re.Detail, tc.detail)
			}
		})
	}
}

func TestCreateWithoutID(t *testing.T) {
	c, _ := fixed(t, 201, map[string]string{"Content-Type": scimJSON}, `{"userName":"x"}`)
	_, err := c.Create(t.Context(), "User", connector.Attributes{"userName": {"x"}})
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Code != scim.CodeServiceIncompatible {
		t.Errorf("Create = %v, want %s", err, scim.CodeServiceIncompatible)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hs.Close() })
	c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	_, err := c.Get(t.Context(), "User", "1")
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || ce.Code != "Timeout" {
		t.Errorf("Get = %v, want KindTransient Timeout", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = newClient(t, "http://"+addr, "").Get(t.Context(), "User", "1")
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || ce.Code != "WebExceptionProtocolError" {
		t.Errorf("Get = %v, want KindTransient WebExceptionProtocolError", err)
	}
}

// PATCHes to one group never overlap.
func TestGroupPatchesSerialised(t *testing.T) {
	var inflight, overlaps atomic.Int32
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				if inflight.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
				defer inflight.Add(-1)
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, scimtest.Options{}, slow)
	g, err := h.client.Create(t.Context(), "Group", connector.Attributes{"displayName": {"G"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			id := string(rune('a' + i))
			var err error
			switch i % 3 {
			case 0:
				err = h.client.AddMembers(t.Context(), g.ID, []string{id})
			case 1:
				err = h.client.RemoveMembers(t.Context(), g.ID, []string{id})
			default:
				err = h.client.Update(t.Context(), "group", g.ID, connector.Attributes{"externalId": {id}})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Errorf("%d overlapping PATCHes to one group", overlaps.Load())
	}
}

// TestErrorsRedactTheToken: a server quoting the request's Authorization
// header in its error does not put the bearer token in the error message
// (which provisioning logs keep) nor in the SCIM detail.
func TestErrorsRedactTheToken(t *testing.T) {
	const token = "s3cret-TOKEN-4711"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", scimJSON)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","detail":"bad header ` +
			r.Header.Get("Authorization") + `, that is ` + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + `"}`))
	}))
	t.Cleanup(hs.Close)
	c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, SecretToken: token, MaxAttempts: 1})
	_, err := c.Get(t.Context(), "User", "u1")
	var ce *connector.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Get = %v, want a connector error", err)
	}
	var re *scim.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("Get = %v, want a ResponseError", err)
	}
	for what, s := range map[string]string{"message": ce.Message, "error": err.Error(), "detail": re.Detail} {
		if strings.Contains(s, token) || !strings.Contains(s, "Bearer [redacted], that is [redacted]") {
			t.Errorf("%s %q shows the token or lacks the redacted header", what, s)
		}
	}
	// JSON may escape it: as PHP does (\/), or every other byte as \u00XX.
	const slashy = "abc/def+ghi/jklmnop=="
	for _, escape := range []func(string) string{
		func(s string) string { return strings.ReplaceAll(s, "/", `\/`) },
		func(s string) string {
			var b strings.Builder
			for _, r := range s {
				if strings.ContainsRune("/+=", r) {
					fmt.Fprintf(&b, `\u%04X`, r)
				} else {
					b.WriteRune(r)
				}
			}
			return b.String()
		},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", scimJSON)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","detail":"bad token ` +
				escape(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) + `"}`))
		}))
		c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, SecretToken: slashy, MaxAttempts: 1})
		_, err := c.Get(t.Context(), "User", "u1")
		hs.Close()
		var re *scim.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("Get = %v, want a ResponseError", err)
		}
		if strings.Contains(err.Error(), slashy) || strings.Contains(re.Detail, slashy) || strings.Contains(err.Error(), escape(slashy)) {
			t.Errorf("an escaped token shows: %v (detail %q)", err, re.Detail)
		}
	}
}

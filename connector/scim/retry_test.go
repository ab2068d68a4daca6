package scim_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// sleeps is a Config.Sleep that records the waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// rule disrupts the next `times` requests (1 if 0) with the method whose
// path starts with prefix and whose query contains query.
type rule struct {
	method, prefix, query string
	times                 int
	d                     scimtest.Disruption
}

// disrupter is a Disrupt hook that applies each of its rules to the
// requests it matches until the rule is used up (the first matching rule
// wins), once armed.
type disrupter struct {
	mu    sync.Mutex
	armed bool
	rules []*rule
}

// script returns an armed disrupter's hook.
func script(rules ...*rule) func(*http.Request) scimtest.Disruption {
	d := &disrupter{}
	d.arm(rules...)
	return d.hook
}

// arm sets the rules and starts applying them.
func (d *disrupter) arm(rules ...*rule) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rules {
		r.times = max(r.times, 1)
	}
	d.rules, d.armed = rules, true
}

func (d *disrupter) hook(req *http.Request) scimtest.Disruption {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.armed {
		for _, r := range d.rules {
			if r.times > 0 && req.Method == r.method && strings.HasPrefix(req.URL.Path, r.prefix) &&
				strings.Contains(req.URL.RawQuery, r.query) {
				r.times--
				return r.d
			}
		}
	}
	return scimtest.Disruption{}
}

// trace lists the logged requests as "METHOD path status", discovery left
// out, ids replaced by {id}.
func trace(h *harness, n int, ids ...string) []string {
	var out []string
	for _, r := range h.since(n) {
		p := r.Path
		for _, id := range ids {
			p = strings.ReplaceAll(p, id, "{id}")
		}
		if r.Query.Get("filter") != "" {
			p += "?filter"
		}
		out = append(out, r.Method+" "+p+" "+strconv.Itoa(r.Status))
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// retryHarness is a harness whose client records its sleeps.
func retryHarness(t *testing.T, opts scimtest.Options, cfg scim.Config) (*harness, *sleeps) {
	t.Helper()
	h := newHarness(t, opts, nil)
	s := &sleeps{}
	cfg.BaseAddress, cfg.SecretToken, cfg.Sleep = h.url, token, s.sleep
	h.client = newClientConfig(t, cfg)
	return h, s
}

func TestRetryTransientFailures(t *testing.T) {
	timeout := scimtest.Disruption{Delay: time.Second, Status: http.StatusGatewayTimeout}
	tests := []struct {
		name    string
		profile scim.Profile
		rule    *rule
		op      func(c *scim.Client, ctx context.Context, id string) error
		want    []string
	}{
		{
			name: "GET 500", rule: &rule{method: "GET", prefix: "/Users/", d: scimtest.Disruption{Status: 500}},
			op: getUser, want: []string{"GET /Users/{id} 500", "GET /Users/{id} 200"},
		},
		{
			name: "GET 502 twice", rule: &rule{method: "GET", prefix: "/Users/", times: 2, d: scimtest.Disruption{Status: 502}},
			op: getUser, want: []string{"GET /Users/{id} 502", "GET /Users/{id} 502", "GET /Users/{id} 200"},
		},
		{
			name: "GET 408", rule: &rule{method: "GET", prefix: "/Users/", d: scimtest.Disruption{Status: 408}},
			op: getUser, want: []string{"GET /Users/{id} 408", "GET /Users/{id} 200"},
		},
		{
			name: "GET timeout", rule: &rule{method: "GET", prefix: "/Users/", d: timeout},
			op: getUser, want: []string{"GET /Users/{id} 504", "GET /Users/{id} 200"},
		},
		{
			name: "GET dropped", rule: &rule{method: "GET", prefix: "/Users/", d: scimtest.Disruption{Drop: true}},
			op: getUser, want: []string{"GET /Users/{id} 0", "GET /Users/{id} 200"},
		},
		{
			name: "PATCH 503", rule: &rule{method: "PATCH", prefix: "/Users/", d: scimtest.Disruption{Status: 503}},
			op: setTitle, want: []string{"PATCH /Users/{id} 503", "PATCH /Users/{id} 200"},
		},
		{
			name: "PATCH answer lost", rule: &rule{method: "PATCH", prefix: "/Users/", d: scimtest.Disruption{Drop: true, AfterEffect: true}},
			op: setTitle, want: []string{"PATCH /Users/{id} 0", "PATCH /Users/{id} 200"},
		},
		{
			name: "PUT 500", profile: scim.Profile{UserUpdate: scim.UserUpdatePut},
			rule: &rule{method: "PUT", prefix: "/Users/", d: scimtest.Disruption{Status: 500}},
			op:   setTitle, want: []string{"GET /Users/{id} 200", "PUT /Users/{id} 500", "PUT /Users/{id} 200"},
		},
		{
			name: "DELETE 500", rule: &rule{method: "DELETE", prefix: "/Users/", d: scimtest.Disruption{Status: 500}},
			op:   func(c *scim.Client, ctx context.Context, id string) error { return c.Delete(ctx, "User", id) },
			want: []string{"DELETE /Users/{id} 500", "DELETE /Users/{id} 204"},
		},
		{
			// The retry answers 404 because the first attempt deleted the user.
			name: "DELETE answer lost", rule: &rule{method: "DELETE", prefix: "/Users/", d: scimtest.Disruption{Drop: true, AfterEffect: true}},
			op:   func(c *scim.Client, ctx context.Context, id string) error { return c.Delete(ctx, "User", id) },
			want: []string{"DELETE /Users/{id} 0", "DELETE /Users/{id} 404"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &disrupter{}
			h, _ := retryHarness(t, scimtest.Options{Disrupt: d.hook},
				scim.Config{Profile: tc.profile, Timeout: 100 * time.Millisecond})
			u, err := h.client.Create(t.Context(), "User", connector.Attributes{"userName": {"r@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			d.arm(tc.rule)
			n := len(h.srv.Requests())
			if err := tc.op(h.client, t.Context(), u.ID); err != nil {
				t.Fatalf("op = %v", err)
			}
			if got := trace(h, n, u.ID); !equal(got, tc.want) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func getUser(c *scim.Client, ctx context.Context, id string) error {
	_, err := c.Get(ctx, "User", id)
	return err
}

func setTitle(c *scim.Client, ctx context.Context, id string) error {
	return c.Update(ctx, "User", id, connector.Attributes{"title": {"Retried"}})
}

func TestRetryAfter(t *testing.T) {
	inTwoSeconds := func() string { return time.Now().Add(2500 * time.Millisecond).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name     string
		d        scimtest.Disruption
		maxWait  time.Duration
		attempts int
		min, max time.Duration // the one wait
		retryAft float64       // RetryAfter of the error when not retried
	}{
		{name: "429 seconds", d: scimtest.Disruption{Status: 429, RetryAfter: "2"}, attempts: 2, min: 2 * time.Second, max: 2 * time.Second},
		{name: "503 fraction", d: scimtest.Disruption{Status: 503, RetryAfter: "0.5"}, attempts: 2, min: 500 * time.Millisecond, max: 500 * time.Millisecond},
		{name: "503 HTTP-date", d: scimtest.Disruption{Status: 503, RetryAfter: inTwoSeconds()}, attempts: 2, min: time.Second, max: 3 * time.Second},
		{name: "429 without Retry-After backs off", d: scimtest.Disruption{Status: 429}, attempts: 2, min: 100 * time.Millisecond, max: 200 * time.Millisecond},
		{name: "500 ignores Retry-After", d: scimtest.Disruption{Status: 500, RetryAfter: "60"}, attempts: 2, min: 100 * time.Millisecond, max: 200 * time.Millisecond},
		{name: "429 longer than MaxRetryWait", d: scimtest.Disruption{Status: 429, RetryAfter: "120"}, attempts: 1, retryAft: 120},
		{name: "429 beyond a small MaxRetryWait", d: scimtest.Disruption{Status: 429, RetryAfter: "2"}, maxWait: time.Second, attempts: 1, retryAft: 2},
		{name: "retries disabled", d: scimtest.Disruption{Status: 500}, maxWait: -1, attempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, s := retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "GET", prefix: "/Users", d: tc.d})},
				scim.Config{MaxRetryWait: tc.maxWait, Profile: scim.Profile{NoDiscovery: true}})
			err := h.client.Test(t.Context())
			if got := len(h.srv.Requests()); got != tc.attempts {
				t.Errorf("%d requests, want %d", got, tc.attempts)
			}
			if tc.attempts == 1 {
				var ce *connector.Error
				if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || ce.RetryAfter != tc.retryAft {
					t.Errorf("Test = %v, want KindTransient with RetryAfter %v", err, tc.retryAft)
				}
				return
			}
			if err != nil {
				t.Fatalf("Test = %v", err)
			}
			if w := s.all(); len(w) != 1 || w[0] < tc.min || w[0] > tc.max {
				t.Errorf("waits = %v, want one in [%v, %v]", w, tc.min, tc.max)
			}
		})
	}
}

// A request that keeps failing is tried MaxAttempts times with growing,
// jittered waits, then reported as transient.
func TestRetryGivesUp(t *testing.T) {
	for _, tc := range []struct {
		maxAttempts, want int
	}{{0, 4}, {2, 2}, {6, 6}} {
		h, s := retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "GET", prefix: "/Users/", times: 100, d: scimtest.Disruption{Status: 500}})},
			scim.Config{MaxAttempts: tc.maxAttempts, MaxRetryWait: 2 * time.Second})
		_, err := h.client.Get(t.Context(), "User", "x")
		if connector.KindOf(err) != connector.KindTransient || statusOf(err) != 500 {
			t.Errorf("MaxAttempts %d: Get = %v, want transient 500", tc.maxAttempts, err)
		}
		if got := len(h.srv.Requests()); got != tc.want {
			t.Errorf("MaxAttempts %d: %d requests, want %d", tc.maxAttempts, got, tc.want)
		}
		for i, d := range s.all() {
			ceil := min(200*time.Millisecond<<i, 2*time.Second)
			if d < ceil/2 || d > ceil {
				t.Errorf("MaxAttempts %d: wait %d = %v, want in [%v, %v]", tc.maxAttempts, i+1, d, ceil/2, ceil)
			}
		}
	}
}

func statusOf(err error) int {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

func TestNoRetryOnPermanentErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 409, 422} {
		h, _ := retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "GET", prefix: "/Users/", d: scimtest.Disruption{Status: status}})}, scim.Config{})
		if _, err := h.client.Get(t.Context(), "User", "x"); statusOf(err) != status {
			t.Errorf("Get = %v, want status %d", err, status)
		}
		if got := len(h.srv.Requests()); got != 1 {
			t.Errorf("status %d: %d requests, want 1", status, got)
		}
	}
}

// The caller's context ends a wait for a retry at once.
func TestRetryWaitHonoursContext(t *testing.T) {
	h := newHarness(t, scimtest.Options{Disrupt: script(&rule{method: "GET", prefix: "/Users", d: scimtest.Disruption{Status: 429, RetryAfter: "30"}})}, nil)
	var asked time.Duration
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token, MaxRetryWait: time.Minute,
		// The caller gives up while the client waits; the wait returns only
		// when its context ends, so if the client ignored the context, Test
		// would never return.
		Sleep: func(ctx context.Context, d time.Duration) error { asked = d; cancel(); <-ctx.Done(); return ctx.Err() }})
	err := c.Test(ctx)
	if connector.KindOf(err) != connector.KindTransient || statusOf(err) != 429 {
		t.Errorf("Test = %v, want the 429 once the context ended", err)
	}
	if ctx.Err() == nil {
		t.Error("Test returned before its context ended")
	}
	if asked != 30*time.Second {
		t.Errorf("the wait asked for %v, want Retry-After's 30s", asked)
	}
}

func TestCreateRecovers(t *testing.T) {
	user := connector.Attributes{"userName": {"new@example.com"}, "externalId": {"e-1"}}
	tests := []struct {
		name        string
		rules       []*rule
		missSearch  bool
		uniqueNames bool
		want        []string
	}{
		{
			name:  "500 before effect: search, then POST again",
			rules: []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Status: 500}}},
			want:  []string{"POST /Users 500", "GET /Users?filter 200", "POST /Users 201"},
		},
		{
			name:  "429: search, then POST again",
			rules: []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Status: 429, RetryAfter: "1"}}},
			want:  []string{"POST /Users 429", "POST /Users 201"},
		},
		{
			name:  "timed out but created: found by the search",
			rules: []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Delay: time.Second, AfterEffect: true}}},
			want:  []string{"POST /Users 201", "GET /Users?filter 200"},
		},
		{
			name:  "connection dropped after it was created",
			rules: []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Drop: true, AfterEffect: true}}},
			want:  []string{"POST /Users 0", "GET /Users?filter 200"},
		},
		{
			name:  "500 after it was created",
			rules: []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Status: 500, AfterEffect: true}}},
			want:  []string{"POST /Users 500", "GET /Users?filter 200"},
		},
		{
			name: "created, filter refused: found by listing",
			rules: []*rule{
				{method: "POST", prefix: "/Users", d: scimtest.Disruption{Status: 500, AfterEffect: true}},
				{method: "GET", prefix: "/Users", query: "filter", d: scimtest.Disruption{Status: 400}},
			},
			want: []string{"POST /Users 500", "GET /Users?filter 400", "GET /Users 200"},
		},
		{
			name:        "created, search misses it, 409 on the retry: found",
			rules:       []*rule{{method: "POST", prefix: "/Users", d: scimtest.Disruption{Status: 500, AfterEffect: true}}},
			missSearch:  true,
			uniqueNames: true,
			// The missed search never reaches the server's log.
			want: []string{"POST /Users 500", "POST /Users 409", "GET /Users?filter 200"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wrap func(http.Handler) http.Handler
			if tc.missSearch { // the first search answers an empty list (a lagging index)
				var missed atomic.Bool
				wrap = func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Query().Get("filter") != "" && !missed.Swap(true) {
							w.Header().Set("Content-Type", "application/scim+json")
							_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`))
							return
						}
						next.ServeHTTP(w, r)
					})
				}
			}
			h := newHarness(t, scimtest.Options{Options: scimserver.Options{NoUniqueness: !tc.uniqueNames}, Disrupt: script(tc.rules...)}, wrap)
			h.client = newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token, Timeout: 100 * time.Millisecond})
			obj, err := h.client.Create(t.Context(), "User", user)
			if err != nil {
				t.Fatalf("Create = %v", err)
			}
			users := h.srv.Users()
			if len(users) != 1 || users[0]["id"] != obj.ID {
				t.Errorf("server has %d users %v, want one with id %s", len(users), users, obj.ID)
			}
			if got := trace(h, 0); !equal(got, tc.want) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCreateDoesNotRetryBlindly(t *testing.T) {
	// Without userName, displayName or externalId the object cannot be
	// searched for: a POST that may have reached the server is not resent.
	h, _ := retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "POST", prefix: "/Groups", d: scimtest.Disruption{Status: 500}})}, scim.Config{})
	if _, err := h.client.Create(t.Context(), "Group", connector.Attributes{"title": {"x"}}); statusOf(err) != 500 {
		t.Errorf("Create = %v, want the 500", err)
	}
	if got := len(h.srv.Requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}

	// Someone else's object (another externalId) is not taken for ours.
	h, _ = retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "POST", prefix: "/Users", times: 1, d: scimtest.Disruption{Status: 500}})}, scim.Config{})
	h.srv.Reset()
	other := connector.Attributes{"userName": {"taken@example.com"}, "externalId": {"theirs"}}
	if _, err := newClient(t, h.url, token).Create(t.Context(), "User", other); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.Create(t.Context(), "User", connector.Attributes{"userName": {"taken@example.com"}, "externalId": {"ours"}})
	if connector.KindOf(err) != connector.KindConflict {
		t.Errorf("Create(taken userName) = %v, want KindConflict", err)
	}
}

// A POST that failed to connect is resent at once: nothing reached the
// server, so there is nothing to search for.
func TestCreateRetriedAfterDialError(t *testing.T) {
	srv := scimtest.NewServer(scimtest.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, HTTPClient: &http.Client{Transport: tr}, Profile: scim.Profile{NoDiscovery: true}})
	if _, err := c.Create(t.Context(), "User", connector.Attributes{"userName": {"d@example.com"}}); err != nil {
		t.Fatalf("Create = %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || dials.Load() != 2 {
		t.Errorf("requests = %+v after %d dials, want one POST after 2 dials", reqs, dials.Load())
	}
}

func TestNotFoundIsConfirmed(t *testing.T) {
	notFound := scimtest.Disruption{Status: 404}
	tests := []struct {
		name  string
		rules []*rule
		op    func(c *scim.Client, ctx context.Context, id string) error
		want  []string
		kind  connector.Kind // of the error; KindUnknown for nil
	}{
		{
			name: "Get: one flaky 404", rules: []*rule{{method: "GET", prefix: "/Users/", d: notFound}},
			op: getUser, want: []string{"GET /Users/{id} 404", "GET /Users/{id} 200"},
		},
		{
			name: "Get: gone", rules: []*rule{{method: "GET", prefix: "/Users/", times: 2, d: notFound}},
			op: getUser, want: []string{"GET /Users/{id} 404", "GET /Users/{id} 404"}, kind: connector.KindNotFound,
		},
		{
			name: "Update: one flaky 404", rules: []*rule{{method: "PATCH", prefix: "/Users/", d: notFound}},
			op: setTitle, want: []string{"PATCH /Users/{id} 404", "GET /Users/{id} 200", "PATCH /Users/{id} 200"},
		},
		{
			name: "Update: 404 twice for a user GET returns", rules: []*rule{{method: "PATCH", prefix: "/Users/", times: 2, d: notFound}},
			op: setTitle, want: []string{"PATCH /Users/{id} 404", "GET /Users/{id} 200", "PATCH /Users/{id} 404"}, kind: connector.KindTransient,
		},
		{
			name: "Update: gone", rules: []*rule{{method: "PATCH", prefix: "/Users/", d: notFound}, {method: "GET", prefix: "/Users/", d: notFound}},
			op: setTitle, want: []string{"PATCH /Users/{id} 404", "GET /Users/{id} 404"}, kind: connector.KindNotFound,
		},
		{
			name: "Delete: one flaky 404", rules: []*rule{{method: "DELETE", prefix: "/Users/", d: notFound}},
			op:   func(c *scim.Client, ctx context.Context, id string) error { return c.Delete(ctx, "User", id) },
			want: []string{"DELETE /Users/{id} 404", "GET /Users/{id} 200", "DELETE /Users/{id} 204"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &disrupter{}
			h, _ := retryHarness(t, scimtest.Options{Disrupt: d.hook}, scim.Config{})
			u, err := h.client.Create(t.Context(), "User", connector.Attributes{"userName": {"nf@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			d.arm(tc.rules...)
			n := len(h.srv.Requests())
			err = tc.op(h.client, t.Context(), u.ID)
			if got := connector.KindOf(err); got != tc.kind || (tc.kind == connector.KindUnknown) != (err == nil) {
				t.Errorf("op = %v (kind %v), want kind %v", err, got, tc.kind)
			}
			if got := trace(h, n, u.ID); !equal(got, tc.want) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

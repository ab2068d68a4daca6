package scim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim"
)

// fakeTarget is an http.RoundTripper standing in for a SCIM target inside
// a synctest bubble: it counts the requests per "METHOD path" and answers
// with answer, or, when answer is nil, never (until the request's context
// ends).
type fakeTarget struct {
	answer func(r *http.Request) *http.Response

	mu    sync.Mutex
	count map[string]int
}

func (f *fakeTarget) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	f.mu.Lock()
	if f.count == nil {
		f.count = map[string]int{}
	}
	f.count[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/scim/v2")]++
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(r), nil
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func (f *fakeTarget) requests() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.count {
		out[k] = v
	}
	return out
}

func fakeClient(t *testing.T, f *fakeTarget, cfg scim.Config) *scim.Client {
	t.Helper()
	cfg.BaseAddress = "https://scim.example.test/scim/v2"
	cfg.HTTPClient = &http.Client{Transport: f}
	c, err := scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A target that never answers holds an interactive call no longer than the
// caller's deadline, however many attempts the client may make, and the
// error says what timed out and after how long.
func TestHangingTargetEndsAtTheDeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // per attempt
		profile scim.Profile
		op      func(ctx context.Context, c *scim.Client) error
		request string // the request that timed out
		want    string
	}{
		{
			name: "Test, 30s attempts", timeout: 30 * time.Second,
			op:      func(ctx context.Context, c *scim.Client) error { return c.Test(ctx) },
			request: "GET /ServiceProviderConfig",
			want:    "The SCIM target at https://scim.example.test did not answer GET /ServiceProviderConfig within 30s (1 attempt).",
		},
		{
			name: "Test, 10s attempts", timeout: 10 * time.Second,
			op:      func(ctx context.Context, c *scim.Client) error { return c.Test(ctx) },
			request: "GET /ServiceProviderConfig",
			want:    "The SCIM target at https://scim.example.test did not answer GET /ServiceProviderConfig within 30s (3 attempts).",
		},
		{
			name: "Test without discovery", timeout: 10 * time.Second, profile: scim.Profile{NoDiscovery: true},
			op:      func(ctx context.Context, c *scim.Client) error { return c.Test(ctx) },
			request: "GET /Users",
			want:    "did not answer GET /Users within 30s (3 attempts).",
		},
		{
			name: "Find", timeout: 10 * time.Second, profile: scim.Profile{NoDiscovery: true},
			op: func(ctx context.Context, c *scim.Client) error {
				_, err := c.Find(ctx, "User", "userName", "ada@example.com")
				return err
			},
			request: "GET /Users",
			want:    "did not answer GET /Users within 30s (3 attempts).",
		},
		{
			name: "Get", timeout: 10 * time.Second,
			op: func(ctx context.Context, c *scim.Client) error {
				_, err := c.Get(ctx, "User", "1")
				return err
			},
			request: "GET /Users/1",
			want:    "did not answer GET /Users/1 within 30s (3 attempts).",
		},
		{
			// The POST may have reached the target, so the retry searches
			// first; the search is cut by the deadline.
			name: "Create", timeout: 10 * time.Second, profile: scim.Profile{NoDiscovery: true},
			op: func(ctx context.Context, c *scim.Client) error {
				_, err := c.Create(ctx, "User", connector.Attributes{"userName": {"ada@example.com"}})
				return err
			},
			request: "POST /Users",
			want:    "did not answer POST /Users within 30s (1 attempt).",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeTarget{}
				c := fakeClient(t, f, scim.Config{Timeout: tc.timeout, Profile: tc.profile})
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				start := time.Now()
				err := tc.op(ctx, c)
				if took := time.Since(start); took != 30*time.Second {
					t.Errorf("the call took %v of the bubble's clock, want the 30s deadline", took)
				}
				var ce *connector.Error
				if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || ce.Code != scim.CodeTimeout ||
					!strings.Contains(ce.Message, tc.want) {
					t.Fatalf("error = %v, want a transient Timeout saying %q", err, tc.want)
				}
				if got := f.requests()[tc.request]; got == 0 {
					t.Errorf("requests = %v, want %s", f.requests(), tc.request)
				}
			})
		})
	}
}

// A retry whose wait would outlast the deadline is not waited for: the
// client gives up at once, keeping the target's status and Retry-After.
func TestRetryWaitBeyondDeadlineGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTarget{answer: func(r *http.Request) *http.Response {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"5"}},
				Body: io.NopCloser(strings.NewReader("")), Request: r}
		}}
		c := fakeClient(t, f, scim.Config{MaxAttempts: 10, MaxRetryWait: 10 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 12*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Get(ctx, "User", "1")
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("Get took %v of the bubble's clock, want 10s (attempts at 0, 5 and 10s; no wait past 12s)", took)
		}
		if n := f.requests()["GET /Users/1"]; n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		var ce *connector.Error
		if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || ce.Status != 503 || ce.RetryAfter != 5 ||
			!strings.Contains(ce.Message, "did not answer GET /Users/1 within 12s (3 attempts). The last attempt: StatusCode: ServiceUnavailable") {
			t.Errorf("Get = %v, want a transient 503 with Retry-After 5 that names the deadline", err)
		}
	})
}

// A change waiting for another change to the same group gives up when its
// context ends.
func TestLockWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTarget{}
		c := fakeClient(t, f, scim.Config{Profile: scim.Profile{NoDiscovery: true}, MaxAttempts: 1})
		first, cancelFirst := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.AddMembers(first, "g1", []string{"u1"}) }()
		synctest.Wait() // the first PATCH is at the target, holding the group's lock

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := c.RemoveMembers(ctx, "g1", []string{"u2"})
		var ce *connector.Error
		if !errors.As(err, &ce) || ce.Kind != connector.KindTransient || !errors.Is(err, context.DeadlineExceeded) ||
			!strings.Contains(ce.Message, "another change to Group g1") {
			t.Errorf("RemoveMembers = %v, want a transient error about the wait", err)
		}
		if n := f.requests()["PATCH /Groups/g1"]; n != 1 {
			t.Errorf("%d PATCHes, want only the first", n)
		}
		cancelFirst()
		<-done
	})
}

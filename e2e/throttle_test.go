package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/throttle"
)

// TestOnDemandRateLimitUnderLoad: 50 concurrent clients call
// provisionOnDemand for 30 s (of a fake clock that advances 20 ms per
// request); no sliding 10 s window may hold more than 5 accepted calls per
// service principal, and every 429 carries a Retry-After.
func TestOnDemandRateLimitUnderLoad(t *testing.T) {
	var fake atomic.Int64 // nanoseconds since start
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(fake.Load())) }
	e := newEnv(t, options{limit: throttle.New(5, 10*time.Second, now)})
	e.setupApp()
	id, _ := e.user("Rate", "Limited")
	e.assign(id)
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	body := map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}

	// The limiter reads the clock somewhere between before and after.
	type call struct{ before, after time.Duration }
	var mu sync.Mutex
	var accepted []call
	var rejected int
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				at := time.Duration(fake.Add(int64(20 * time.Millisecond)))
				if at > 30*time.Second {
					return
				}
				status, m, raw := e.send("POST", path, body, e.token)
				after := time.Duration(fake.Load())
				mu.Lock()
				switch status {
				case http.StatusOK:
					accepted = append(accepted, call{at, after})
				case http.StatusTooManyRequests:
					rejected++
					if m["error"].(map[string]any)["code"] != "TooManyRequests" {
						t.Errorf("429 body: %s", raw)
					}
				default:
					t.Errorf("status %d: %s", status, raw)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(accepted) < 5 || rejected == 0 {
		t.Fatalf("accepted %d, rejected %d: the test did not exercise the limit", len(accepted), rejected)
	}
	// Calls that began at or after a's start and ended before a's start +
	// 10 s were all accepted inside one 10 s window: at most 5 may exist.
	for _, a := range accepted {
		n := 0
		for _, b := range accepted {
			if b.before >= a.before && b.after < a.before+10*time.Second {
				n++
			}
		}
		if n > 5 {
			t.Errorf("%d calls accepted within 10 s starting at %v", n, a.before)
		}
	}
	if len(accepted) > 5*4 { // 30 s holds at most 3 full windows + the first burst
		t.Errorf("accepted %d calls in 30 s, want at most 20", len(accepted))
	}
	t.Logf("accepted %d, rejected %d", len(accepted), rejected)
}

func TestOnDemandRetryAfter(t *testing.T) {
	var fake atomic.Int64
	now := func() time.Time { return time.Unix(1e9, fake.Load()) }
	e := newEnv(t, options{limit: throttle.New(5, 10*time.Second, now)})
	e.setupApp()
	id, _ := e.user("Retry", "After")
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	body := map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}
	for i := range 5 {
		if status, _, raw := e.send("POST", path, body, e.token); status != 200 {
			t.Fatalf("call %d: %d %s", i, status, raw)
		}
	}
	fake.Add(int64(2500 * time.Millisecond))
	raw, _ := json.Marshal(body) // a well-formed call: malformed ones are not counted
	req, _ := http.NewRequest("POST", e.url+"/v1.0"+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("6th call: %d, want 429", resp.StatusCode)
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra != 8 { // 7.5 s left, rounded up
		t.Errorf("Retry-After = %q, want 8", resp.Header.Get("Retry-After"))
	}
	fake.Add(int64(7500 * time.Millisecond))
	if status, _, raw := e.send("POST", path, body, e.token); status != 200 {
		t.Errorf("after the wait: %d %s", status, raw)
	}
}

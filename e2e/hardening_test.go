package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// postOnDemand sends one provisionOnDemand with a client deadline, so a
// hang fails the test instead of stalling it.
func (e *env) postOnDemand(t *testing.T, subject map[string]any, deadline time.Duration) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{subject}}}})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1.0/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/provisionOnDemand", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("provisionOnDemand did not answer within %v: %v", deadline, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func groupSubject(id string, members ...map[string]any) map[string]any {
	ms := make([]any, len(members))
	for i, m := range members {
		ms[i] = m
	}
	return map[string]any{"objectId": id, "objectTypeName": "Group", "links": map[string]any{"members": ms}}
}

func (e *env) group(name string, members ...string) string {
	e.t.Helper()
	g := e.do("POST", "/groups", map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}, 201)
	id := g["id"].(string)
	for _, m := range members {
		e.do("POST", "/groups/"+id+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m}, 204)
	}
	return id
}

// A group subject whose members name the group itself, or two groups that
// name each other in parallel requests, must be refused at once (400 naming
// the member), and must not leave a lock behind: the group can be
// provisioned normally afterwards.
func TestOnDemandGroupSelfAndCrossMembersDoNotHang(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	u, _ := e.user("Ada", "Lovelace")
	g1 := e.group("Loop One", u)
	g2 := e.group("Loop Two", u)
	e.assign(g1)
	e.assign(g2)

	cases := []struct {
		name    string
		subject map[string]any
		member  string
	}{
		{"itself as a Group", groupSubject(g1, map[string]any{"objectId": g1, "objectTypeName": "Group"}), g1},
		{"itself as a User", groupSubject(g1, userSubject(g1)), g1},
		{"another group", groupSubject(g1, map[string]any{"objectId": g2, "objectTypeName": "Group"}), g2},
	}
	for _, c := range cases {
		status, m := e.postOnDemand(t, c.subject, 10*time.Second)
		msg := errMessage(m)
		if status != http.StatusBadRequest || !strings.Contains(msg, c.member) {
			t.Errorf("%s: status %d, message %q; want 400 naming %s", c.name, status, msg, c.member)
		}
	}

	// Two groups naming each other, in parallel, many times.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(2)
		for _, pair := range [][2]string{{g1, g2}, {g2, g1}} {
			go func() {
				defer wg.Done()
				status, m := e.postOnDemand(t, groupSubject(pair[0], map[string]any{"objectId": pair[1], "objectTypeName": "Group"}), 10*time.Second)
				if status != http.StatusBadRequest {
					t.Errorf("round %d: %s with member %s: status %d (%v), want 400", i, pair[0], pair[1], status, m)
				}
			}()
		}
	}
	wg.Wait()

	// Nothing is left locked: both groups provision with their user member,
	// in parallel, within the deadline.
	for _, g := range []string{g1, g2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, m := e.postOnDemand(t, groupSubject(g, userSubject(u)), 10*time.Second)
			if status != http.StatusOK {
				t.Errorf("group %s with a user member: status %d (%v), want 200", g, status, m)
			}
		}()
	}
	wg.Wait()
}

// hangingTarget is a SCIM endpoint that accepts connections and never
// answers until the caller gives up (or the test ends).
func hangingTarget(t *testing.T) string {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv.URL
}

// A target that never answers holds an interactive call only for its
// budget (all attempts together), and the answer says what timed out.
func TestInteractiveCallsHaveOneDeadline(t *testing.T) {
	const budget = 2 * time.Second
	e := newEnv(t, options{interactive: budget})
	e.setupApp()
	uid, _ := e.user("Grace", "Hopper")
	e.assign(uid)
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": hangingTarget(t)}, {"key": "SecretToken", "value": "x"}}}, 204)

	// provisionOnDemand: a Failure naming the timeout, well before the
	// client's own deadline of ten budgets.
	status, m := e.postOnDemand(t, userSubject(uid), 10*budget)
	if status != http.StatusOK {
		t.Fatalf("provisionOnDemand status %d (%v), want 200 with a Failure", status, m)
	}
	var key map[string]any
	_ = json.Unmarshal([]byte(m["key"].(string)), &key)
	msg := fmt.Sprint(key["details"].(map[string]any)["errorMessage"])
	if key["result"] != "Failure" || !strings.Contains(strings.ToLower(msg), "time") {
		t.Errorf("key = %v; want a Failure whose message says it timed out", key)
	}
	if !strings.Contains(msg, budget.String()) && !strings.Contains(msg, "2.0s") && !strings.Contains(msg, "2s") {
		t.Errorf("failure message %q does not say after how long (%v)", msg, budget)
	}
	// The failure is in the provisioning logs too.
	logs := e.do("GET", "/auditLogs/provisioning", nil, 200)["value"].([]any)
	if len(logs) == 0 {
		t.Fatal("no provisioning log for the timed-out call")
	}

	// validateCredentials: a 400 that says what timed out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*budget)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1.0/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/validateCredentials",
		strings.NewReader(`{"useSavedCredentials":true}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("validateCredentials did not answer within %v: %v", 10*budget, err)
	}
	defer resp.Body.Close()
	var vm map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&vm)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(strings.ToLower(errMessage(vm)), "time") {
		t.Errorf("validateCredentials: status %d, message %q; want 400 saying it timed out", resp.StatusCode, errMessage(vm))
	}
}

// A request that waits for an object another request holds gives up with
// its budget, and the holder's result is unaffected.
func TestOnDemandWaitingForABusyObjectGivesUp(t *testing.T) {
	const budget = time.Second
	e := newEnv(t, options{interactive: budget})
	e.setupApp()
	uid, _ := e.user("Hedy", "Lamarr")
	e.assign(uid)
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": hangingTarget(t)}, {"key": "SecretToken", "value": "x"}}}, 204)
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = e.postOnDemand(t, userSubject(uid), 20*budget)
		}()
	}
	wg.Wait()
	// One holds the user until its budget ends (200 with a Failure); the
	// other either waited and gave up (409) or ran after it (200).
	ok := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("status %d, want 200 or 409", s)
		}
	}
	if ok == 0 {
		t.Errorf("statuses %v: no request ran", statuses)
	}
}

func errMessage(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		return fmt.Sprint(e["message"])
	}
	return ""
}

// A job's target may not point at cloud metadata (link-local addresses):
// validateCredentials and provisionOnDemand answer 400 naming the rule, and
// quote nothing of what is there.
func TestTargetAddressGuard(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	uid, _ := e.user("Katherine", "Johnson")
	e.assign(uid)
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": "http://169.254.169.254/latest/meta-data"}, {"key": "SecretToken", "value": "x"}}}, 204)
	status, m, _ := e.send("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/validateCredentials",
		map[string]any{"useSavedCredentials": true}, e.token)
	if status != http.StatusBadRequest || !strings.Contains(errMessage(m), "link-local") {
		t.Errorf("validateCredentials: status %d, message %q; want 400 saying link-local", status, errMessage(m))
	}
	status, m = e.postOnDemand(t, userSubject(uid), 30*time.Second)
	if status != http.StatusBadRequest || !strings.Contains(errMessage(m), "link-local") {
		t.Errorf("provisionOnDemand: status %d, message %q; want 400 saying link-local", status, errMessage(m))
	}

	// provisiond's own API is not a target either: nothing of /v1.0 leaks
	// into the message.
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.url + "/v1.0"}, {"key": "SecretToken", "value": e.token}}}, 204)
	status, m, _ = e.send("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/validateCredentials",
		map[string]any{"useSavedCredentials": true}, e.token)
	if msg := errMessage(m); status != http.StatusBadRequest || !strings.Contains(msg, "own") || strings.Contains(msg, "odata") {
		t.Errorf("validateCredentials against provisiond itself: status %d, message %q; want 400 naming its own address", status, msg)
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// crashUsers is how many users the crash test provisions.
const crashUsers = 300

// createDelay holds the answer to every create the target gets: it slows
// the initial cycle down enough for the kills to land inside it, and every
// kill loses the answers to creates that did happen in the target.
const createDelay = 40 * time.Millisecond

// A started job's initial cycle survives kill -9: provisiond, a real
// process, is killed three times while the cycle is creating users (at
// about 20%, 50% and 80% of them in the target) and restarted on the same
// data directory each time. The job goes on by itself after each restart,
// well before River would rescue the killed cycle, and converges: every
// user exactly once in the target, active, the group with all of them;
// the job reports a successful execution; the database is intact.
func TestCrashDuringInitialCycle(t *testing.T) {
	bin := buildProvisiond(t)
	t.Run("scimtest", func(t *testing.T) {
		const token = "crash-test-token"
		srv := scimtest.NewServer(scimtest.Options{Options: scimserver.Options{Token: token}})
		slow := &slowCreates{next: srv, delay: createDelay}
		ts := httptest.NewServer(slow)
		t.Cleanup(ts.Close)
		crashDuringInitialCycle(t, bin, slow, ts.URL, token)
	})
	t.Run("SCIMMY", func(t *testing.T) {
		t.Setenv("PROVISIOND_COMPONENTS", "required") // fail, not skip, without SCIMMY
		base, token := scimtest.StartSCIMMY(t)
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
		proxy.ErrorLog = log.New(io.Discard, "", 0) // requests cut short by the kills
		slow := &slowCreates{next: proxy, delay: createDelay}
		ts := httptest.NewServer(slow)
		t.Cleanup(ts.Close)
		crashDuringInitialCycle(t, bin, slow, ts.URL+u.Path, token)
	})
}

func crashDuringInitialCycle(t *testing.T, bin string, slow *slowCreates, scimURL, scimToken string) {
	start := time.Now()
	target := &scimPeer{t: t, url: strings.TrimRight(scimURL, "/"), token: scimToken}
	d := &daemon{t: t, bin: bin, data: t.TempDir()}
	d.start()
	t.Cleanup(d.killIfRunning)
	api := d.client()

	const groupName = "Crash Testers"
	spID, jobID, upns := crashDirectory(t, api, target, groupName)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	t.Logf("directory of %d users ready in %v", crashUsers, time.Since(start).Round(time.Millisecond))

	api.must("POST", jobPath+"/start", nil, 204)
	cycleStart := time.Now()
	for _, pct := range []int{20, 50, 80} {
		at := crashUsers * pct / 100
		// Well under River's one-minute rescue of a killed cycle: the
		// restarted process must go on by itself.
		n := target.waitUsers(at, 20*time.Second)
		if n >= crashUsers {
			t.Fatalf("the initial cycle created all %d users before the kill at %d%%: nothing was killed during it", n, pct)
		}
		d.kill()
		t.Logf("killed provisiond with %d of %d users in the target (%v after start)", n, crashUsers, time.Since(cycleStart).Round(time.Millisecond))
		d.start()
	}
	api = d.client()
	// The kills came right after creates took effect, inside the delay of
	// their answers: the replays had creates to match, not to repeat.
	if n := slow.lost.Load(); n == 0 {
		t.Errorf("the kills lost no answers to creates that took effect: nothing tested that a replay matches them")
	} else {
		t.Logf("the kills lost the answers to %d creates that took effect", n)
	}

	// The restarted job finishes its initial cycle.
	var status map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		status = api.must("GET", jobPath, nil, 200)["status"].(map[string]any)
		if status["lastSuccessfulExecution"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job reported no successful execution within 30s of the last restart: status %v", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("converged %v after the job started", time.Since(cycleStart).Round(time.Millisecond))
	if le, _ := status["lastExecution"].(map[string]any); le == nil || le["state"] != "Succeeded" {
		t.Errorf("lastExecution = %v, want Succeeded", status["lastExecution"])
	}

	checkTargetOnce(t, target, upns, groupName)

	d.stop()
	checkIntegrity(t, filepath.Join(d.data, "provisiond.db"))
}

// crashDirectory makes the directory the crash tests provision through
// api: crashUsers users, a group of all of them (groupName), assigned to a
// SCIM app whose job writes to target. It returns the app's service
// principal, the job and the users' UPNs.
func crashDirectory(t *testing.T, api *apiClient, target *scimPeer, groupName string) (spID, jobID string, upns []string) {
	t.Helper()
	// The directory: users, a group of all of them, assigned to a SCIM app.
	upns = make([]string, crashUsers)
	userIDs := make([]string, crashUsers)
	inParallel(t, crashUsers, func(i int) error {
		upns[i] = fmt.Sprintf("crash.user%03d@contoso.test", i)
		m, err := api.call("POST", "/users", map[string]any{"accountEnabled": true, "displayName": fmt.Sprintf("Crash User %03d", i),
			"mailNickname": fmt.Sprintf("crash.user%03d", i), "userPrincipalName": upns[i]}, 201)
		if err == nil {
			userIDs[i] = m["id"].(string)
		}
		return err
	})
	g := api.must("POST", "/groups", map[string]any{"displayName": groupName, "mailEnabled": false, "mailNickname": "crashtesters", "securityEnabled": true}, 201)
	groupID := g["id"].(string)
	inParallel(t, crashUsers, func(i int) error {
		_, err := api.call("POST", "/groups/"+groupID+"/members/$ref",
			map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + userIDs[i]}, 204)
		return err
	})
	inst := api.must("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Crash App"}, 201)
	spID = inst["servicePrincipal"].(map[string]any)["id"].(string)
	jobID = api.must("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}, 201)["id"].(string)
	api.must("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": target.url}, {"key": "SecretToken", "value": target.token}}}, 204)
	api.must("POST", "/servicePrincipals/"+spID+"/appRoleAssignedTo", map[string]any{
		"principalId": groupID, "resourceId": spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}, 201)
	return spID, jobID, upns
}

// checkTargetOnce checks that target holds every user of upns exactly
// once, active, and the group groupName once, with all of them.
func checkTargetOnce(t *testing.T, target *scimPeer, upns []string, groupName string) {
	t.Helper()
	// Every user exactly once, active; the group once, with all of them.
	users := target.list("Users")
	byName := map[string]int{}
	idOf := map[string]string{}
	for _, u := range users {
		name := strings.ToLower(fmt.Sprint(u["userName"]))
		byName[name]++
		idOf[name] = fmt.Sprint(u["id"])
		if u["active"] != true {
			t.Errorf("target user %s: active = %v, want true", name, u["active"])
		}
	}
	for name, n := range byName {
		if n != 1 {
			t.Errorf("target has %d users named %s, want 1", n, name)
		}
	}
	var wantMembers []string
	for _, upn := range upns {
		if byName[upn] == 0 {
			t.Errorf("target lacks user %s", upn)
		}
		wantMembers = append(wantMembers, idOf[upn])
	}
	if len(users) != len(upns) {
		t.Errorf("target has %d users, want %d", len(users), len(upns))
	}
	var groups []map[string]any
	for _, g := range target.list("Groups") {
		if g["displayName"] == groupName {
			groups = append(groups, g)
		}
	}
	if len(groups) != 1 {
		t.Fatalf("target has %d groups named %q, want 1", len(groups), groupName)
	}
	var members []string
	for _, m := range target.get("Groups/" + fmt.Sprint(groups[0]["id"]))["members"].([]any) {
		members = append(members, fmt.Sprint(m.(map[string]any)["value"]))
	}
	slices.Sort(members)
	slices.Sort(wantMembers)
	if !slices.Equal(members, wantMembers) {
		t.Errorf("target group has %d members, want the %d users (first members %v)", len(members), len(wantMembers), members[:min(3, len(members))])
	}

}

// slowCreates serves every request with next, and holds the answer to
// each create (POST) for delay or until the client is gone. The create
// takes effect at once, even when its client is killed: a kill loses the
// answers to creates in flight that did happen, which a replay must match
// rather than create again.
type slowCreates struct {
	next  http.Handler
	delay time.Duration
	lost  atomic.Int64 // answers to creates that took effect, lost with their client
}

func (s *slowCreates) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
	timer := time.NewTimer(s.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		if rec.Code == http.StatusCreated {
			s.lost.Add(1)
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// buildProvisiond builds the binary into a temporary directory.
func buildProvisiond(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "provisiond")
	build := exec.Command("go", "build", "-o", bin, "./cmd/provisiond")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemon is a `provisiond serve` process on a data directory, started
// again on the same directory after each kill.
type daemon struct {
	t         *testing.T
	bin, data string
	args      []string // more flags for serve, after the test's defaults
	cmd       *exec.Cmd
	exited    chan struct{}
	url       string
	token     string
	log       *logTail
	runs      int
}

var listeningRE = regexp.MustCompile(`msg="provisiond listening" (?:\S+ )*?addr=(\S+)`)

// start runs `provisiond serve` and waits until it listens.
func (d *daemon) start() {
	d.t.Helper()
	d.runs++
	d.log = &logTail{}
	cmd := exec.Command(d.bin, append([]string{"serve", "--data", d.data, "--addr", "127.0.0.1:0", "--ondemand-limit", "off"}, d.args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start provisiond: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	exited := d.exited
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(exited)
	}()
	run, tail := d.runs, d.log
	d.t.Cleanup(func() {
		if d.t.Failed() {
			d.t.Logf("provisiond run %d, last log lines:\n%s", run, tail)
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			tail.add(sc.Text())
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		d.url = "http://" + a
	case <-exited:
		d.t.Fatalf("provisiond exited before it listened: %v\n%s", cmd.ProcessState, tail)
	case <-time.After(15 * time.Second):
		d.t.Fatalf("provisiond did not listen within 15s:\n%s", tail)
	}
	if d.token == "" {
		out, err := exec.Command(d.bin, "token", "--data", d.data, "--app", "crash-test",
			"--roles", "Synchronization.ReadWrite.All,Directory.ReadWrite.All,Application.ReadWrite.All,AppRoleAssignment.ReadWrite.All").Output()
		if err != nil {
			d.t.Fatalf("provisiond token: %v", err)
		}
		d.token = strings.TrimSpace(string(out))
	}
}

// kill kills the process with SIGKILL and waits until it is gone.
func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill provisiond: %v", err)
	}
	d.wait(10 * time.Second)
}

// stop asks the process to shut down (SIGTERM) and requires a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatalf("stop provisiond: %v", err)
	}
	d.wait(15 * time.Second)
	if !d.cmd.ProcessState.Success() {
		d.t.Fatalf("provisiond did not stop cleanly: %v\n%s", d.cmd.ProcessState, d.log)
	}
}

func (d *daemon) wait(limit time.Duration) {
	d.t.Helper()
	select {
	case <-d.exited:
	case <-time.After(limit):
		_ = d.cmd.Process.Kill()
		d.t.Fatalf("provisiond did not exit within %v", limit)
	}
}

func (d *daemon) killIfRunning() {
	select {
	case <-d.exited:
	default:
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

func (d *daemon) client() *apiClient {
	return &apiClient{t: d.t, base: d.url + "/v1.0", token: d.token}
}

// logTail keeps the last lines of a process's log.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines = append(l.lines, s); len(l.lines) > 40 {
		l.lines = l.lines[1:]
	}
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// apiClient calls provisiond's Graph API over HTTP.
type apiClient struct {
	t           *testing.T
	base, token string
}

// call sends a request and decodes its JSON answer; it is an error unless
// the status is want. It is safe to call from any goroutine.
func (c *apiClient) call(method, path string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return m, nil
}

func (c *apiClient) must(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	m, err := c.call(method, path, body, want)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

// inParallel runs f for 0..n-1 on a few goroutines and fails the test with
// the first error.
func inParallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// scimPeer reads a SCIM server directly, as the test's witness of what
// provisiond wrote.
type scimPeer struct {
	t          *testing.T
	url, token string
}

func (p *scimPeer) get(path string) map[string]any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("SCIM GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("SCIM GET %s: status %d, %v", path, resp.StatusCode, err)
	}
	return m
}

// list reads every resource of a type, page by page.
func (p *scimPeer) list(resource string) []map[string]any {
	p.t.Helper()
	var all []map[string]any
	for {
		m := p.get(fmt.Sprintf("%s?startIndex=%d&count=100", resource, len(all)+1))
		rs, _ := m["Resources"].([]any)
		for _, r := range rs {
			all = append(all, r.(map[string]any))
		}
		total, _ := m["totalResults"].(float64)
		if len(rs) == 0 || len(all) >= int(total) {
			return all
		}
	}
}

// waitUsers polls the number of users until it is at least n, and returns
// the number seen.
func (p *scimPeer) waitUsers(n int, limit time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		total, _ := p.get("Users?count=1")["totalResults"].(float64)
		if int(total) >= n {
			return int(total)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the target had %d users %v after the (re)start, want at least %d: the job did not go on", int(total), limit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkIntegrity runs SQLite's integrity check on a closed database.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"ok"}) {
		t.Errorf("PRAGMA integrity_check = %q, want ok", got)
	}
}

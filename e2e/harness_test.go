package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/auth"
	"provisiond/cmd/provisiond/wiring"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
	"provisiond/graphapi"
	"provisiond/graphapi/odata/odatatest"
	"provisiond/ids"
	"provisiond/jobs"
	"provisiond/metrics"
	"provisiond/store"
	"provisiond/store/pgtest"
	"provisiond/store/sqlstore"
	"provisiond/throttle"
)

// env is one running provisiond with a SCIM target.
type env struct {
	t       testing.TB
	dir     string // the data directory (keys, SQLite file)
	url     string
	token   string
	st      store.Store
	app     *wiring.App
	issuer  *auth.Issuer
	scimURL string
	scimTok string
	scimSrv *scimtest.Server // nil for SCIMMY
	spID    string
	jobID   string
	ruleID  string
	clock   *fakeClock
	ids     *seqIDs
	limiter *throttle.Limiter
	mu      sync.Mutex
	userSeq int
	// lastKey and lastValue are the raw strings of the last onDemand answer.
	lastKey, lastValue string
	// contexts are the @odata.context URLs answered, checked against
	// $metadata when the test ends (so that fetching it does not shift
	// the ids golden tests compare).
	contexts map[string]string // context → the request that got it
}

type options struct {
	scimmy bool
	// postgres puts the store on a database of its own in the test's
	// PostgreSQL cluster instead of a SQLite file.
	postgres bool
	limit    *throttle.Limiter
	fixed    bool // deterministic time and ids (golden tests)
	// disrupt slows or breaks requests to the in-process SCIM server.
	disrupt func(r *http.Request) scimtest.Disruption
	// interactive shortens the budget of provisionOnDemand and
	// validateCredentials (default: the production 30 s).
	interactive time.Duration
	// manualCycles leaves the scheduler stopped: cycles run only when the
	// test runs them, so counts are exact.
	manualCycles bool
	// log receives provisiond's info log (nil: discarded); it must be
	// safe for concurrent writes.
	log io.Writer
	// sources registers source connectors beside those provisiond ships
	// (an in-memory Active Directory).
	sources map[string]jobs.SourceFactory
	// trustProxy builds links from X-Forwarded-* (serve --trust-proxy).
	trustProxy bool
	// chunk is how many objects a chunk of a big cycle holds (0: the
	// default).
	chunk int
}

// fakeClock advances 1 ms on every reading, from a fixed start.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

type seqIDs struct{ n atomic.Int64 }

func (s *seqIDs) New() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.n.Add(1)) }

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	ctx := context.Background()
	logTo := o.log
	if logTo == nil {
		logTo = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	dir := t.TempDir()
	var st *sqlstore.Store
	var err error
	if o.postgres {
		st, err = sqlstore.OpenPostgres(ctx, pgtest.Database(t), log)
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "provisiond.db"), log)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, dir: dir, st: st, limiter: o.limit}
	now, newID := time.Now, ids.NewUUID
	if o.fixed {
		e.clock, e.ids = &fakeClock{}, &seqIDs{}
		now, newID = e.clock.Now, e.ids.New
	}
	if o.scimmy {
		e.scimURL, e.scimTok = scimtest.StartSCIMMY(t)
	} else {
		e.scimTok = "scim-test-token"
		e.scimSrv = scimtest.NewServer(scimtest.Options{Options: scimserver.Options{Token: e.scimTok}, Disrupt: o.disrupt})
		ts := httptest.NewServer(e.scimSrv)
		t.Cleanup(ts.Close)
		e.scimURL = ts.URL
	}
	// The server runs as `serve` runs it: production wiring (its own address
	// guarded against as a target), its http.Server limits, and Graph errors
	// for what net/http answers by itself.
	srv := httptest.NewUnstartedServer(nil)
	wc := wiring.Config{DataDir: dir, OnDemand: o.limit, Interactive: o.interactive,
		Self: "http://" + srv.Listener.Addr().String(), Now: now, NewID: newID, Logger: log,
		Metrics: metrics.New(log), Sources: o.sources, TrustProxy: o.trustProxy, CycleChunk: o.chunk} // metrics on, as serve has it by default
	wc.UseStore(st)
	w, err := wiring.Wire(ctx, st, wc)
	if err != nil {
		t.Fatal(err)
	}
	if !o.manualCycles {
		if err := w.Runner.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Runner.Shutdown(sctx)
	})
	e.issuer, e.app = w.Issuer, w
	srv.Config = w.Handler.HTTPServer(graphapi.Limits{})
	srv.Listener = w.Handler.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	e.url = srv.URL
	t.Cleanup(func() {
		var c odatatest.Checker
		for ctx, req := range e.contexts {
			if err := c.Check(ctx); err != nil {
				t.Errorf("%s: %v", req, err)
			}
		}
	})
	e.token, err = w.Issuer.MintApp("e2e-admin", []string{"Synchronization.ReadWrite.All", "Directory.ReadWrite.All",
		"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request and decodes the JSON answer; it fails the test unless
// the status is want.
func (e *env) do(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	status, m, raw := e.send(method, path, body, e.token)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	return m
}

func (e *env) send(method, path string, body any, token string) (int, map[string]any, string) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+"/v1.0"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if ctx, ok := m["@odata.context"].(string); ok {
		e.mu.Lock()
		if e.contexts == nil {
			e.contexts = map[string]string{}
		}
		e.contexts[ctx] = method + " " + path
		e.mu.Unlock()
	}
	return resp.StatusCode, m, string(raw)
}

// setupApp instantiates an application with a scim job whose secrets point
// at the test SCIM server.
func (e *env) setupApp() {
	e.t.Helper()
	inst := e.do("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "E2E SCIM App"}, 201)
	e.spID = inst["servicePrincipal"].(map[string]any)["id"].(string)
	job := e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}, 201)
	e.jobID = job["id"].(string)
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok}}}, 204)
	sch := e.do("GET", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/schema", nil, 200)
	e.ruleID = sch["synchronizationRules"].([]any)[0].(map[string]any)["id"].(string)
}

// user creates a directory user with a unique name and returns its id and UPN.
func (e *env) user(given, sur string) (id, upn string) {
	e.t.Helper()
	e.mu.Lock()
	e.userSeq++
	n := e.userSeq
	e.mu.Unlock()
	nick := fmt.Sprintf("%s.%s.%d.%d", strings.ToLower(given), strings.ToLower(sur), n, time.Now().UnixNano()%1e6)
	upn = nick + "@contoso.test"
	m := e.do("POST", "/users", map[string]any{"accountEnabled": true, "displayName": given + " " + sur,
		"givenName": given, "surname": sur, "mailNickname": nick, "userPrincipalName": upn, "mail": upn}, 201)
	return m["id"].(string), upn
}

func (e *env) assign(principalID string) string {
	e.t.Helper()
	m := e.do("POST", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo", map[string]any{
		"principalId": principalID, "resourceId": e.spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}, 201)
	return m["id"].(string)
}

// onDemand provisions one subject and returns the decoded key and value.
func (e *env) onDemand(subject map[string]any) (key, value map[string]any) {
	e.t.Helper()
	return e.onDemandQuery(subject, "")
}

// onDemandQuery is onDemand with a query string ("?dryRun=true").
func (e *env) onDemandQuery(subject map[string]any, query string) (key, value map[string]any) {
	e.t.Helper()
	m := e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/provisionOnDemand"+query,
		map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{subject}}}}, 200)
	e.lastKey, e.lastValue = m["key"].(string), m["value"].(string)
	if err := json.Unmarshal([]byte(m["key"].(string)), &key); err != nil {
		e.t.Fatalf("key is not JSON: %v: %s", err, m["key"])
	}
	if err := json.Unmarshal([]byte(m["value"].(string)), &value); err != nil {
		e.t.Fatalf("value is not JSON: %v: %s", err, m["value"])
	}
	return key, value
}

func userSubject(id string) map[string]any {
	return map[string]any{"objectId": id, "objectTypeName": "User"}
}

// scimFind returns the SCIM resources whose attr eq value, read straight
// from the SCIM server.
func (e *env) scimFind(resource, attr, value string) []map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("GET", strings.TrimRight(e.scimURL, "/")+"/"+resource+"?filter="+
		urlEscape(fmt.Sprintf(`%s eq "%s"`, attr, value)), nil)
	req.Header.Set("Authorization", "Bearer "+e.scimTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var lr struct{ Resources []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil {
		e.t.Fatalf("SCIM list: %v", err)
	}
	return lr.Resources
}

func (e *env) scimGet(resource, id string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("GET", strings.TrimRight(e.scimURL, "/")+"/"+resource+"/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+e.scimTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", `"`, "%22", "&", "%26", "+", "%2B", "#", "%23").Replace(s)
}

// scrape GETs /metrics without a token, as Prometheus does, and returns
// its samples keyed by series as exposed (`name{label="value",...}`,
// labels in name order) and the raw text.
func (e *env) scrape(t *testing.T) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	samples := map[string]float64{}
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ') // label values may hold spaces
		if i < 0 {
			t.Fatalf("GET /metrics: malformed sample %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("GET /metrics: malformed sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, string(raw)
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

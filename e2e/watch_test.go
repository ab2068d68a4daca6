package e2e

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/adfake"
	"provisiond/jobs"
	"provisiond/schema"
)

// watchedAD is the in-memory AD with a change notification the test
// drives: its first watch breaks when the test closes breakFirst, later
// ones hand the callback to the test and last until their context ends.
type watchedAD struct {
	*adfake.Source
	watches    atomic.Int32
	breakFirst chan struct{}
	callback   chan func()
	ended      chan error
}

func (w *watchedAD) Watch(ctx context.Context, changed func()) error {
	if w.watches.Add(1) == 1 {
		select {
		case <-w.breakFirst:
		case <-ctx.Done():
			return ctx.Err()
		}
		return errors.New("connection reset by peer")
	}
	w.callback <- changed
	<-ctx.Done()
	w.ended <- ctx.Err()
	return ctx.Err()
}

// newCloudSyncJob is a cloud-sync job (AD to the directory) reading ad,
// with its secrets saved, not started; it returns the service and the
// job's path.
func newCloudSyncJob(t *testing.T, ad connector.Source) (*env, string) {
	e := newEnv(t, options{sources: map[string]jobs.SourceFactory{
		schema.DirectoryAD: func(context.Context, jobs.Config) (connector.Source, error) { return ad, nil },
	}})
	inst := e.do("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Cloud sync"}, 201)
	spID := inst["servicePrincipal"].(map[string]any)["id"].(string)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" +
		e.do("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": schema.TemplateAD2AAD}, 201)["id"].(string)
	e.do("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "Server", "value": "ldap://dc.corp.chicago.com"}, {"key": "UserName", "value": "CORP\\sync"},
		{"key": "Password", "value": "secret"}, {"key": "Domain", "value": "corp.chicago.com"}}}, 204)
	return e, jobPath
}

// A started job watches a source that is a connector.Watcher: a watch that
// breaks is dialled again after a backoff, and once it is back a cycle
// catches up with what changed meanwhile (nobody was told of it); a
// notification runs the incremental cycle at once (the interval is 40
// minutes), and pausing the job ends the watch.
func TestRunnerWatchesSources(t *testing.T) {
	ad := &watchedAD{Source: adfake.New(schema.DirectoryAD, "objectGUID"), breakFirst: make(chan struct{}),
		callback: make(chan func(), 4), ended: make(chan error, 4)}
	const guid = "cccccccc-0000-4000-8000-000000000001"
	ad.Put(adUser(guid, "CN=Ada,OU=Staff,DC=corp,DC=chicago,DC=com", "ada", "Ada", "Lovelace"))
	e, jobPath := newCloudSyncJob(t, ad)
	e.do("POST", jobPath+"/start", nil, 204)
	displayName := func() any {
		u, err := e.st.GetUserByUPN(context.Background(), "ada@chicago.com")
		if err != nil {
			return nil
		}
		return u.Props["displayName"]
	}
	waitFor(t, "the initial cycle", func() bool { return displayName() == "Ada Lovelace" })

	// A change the broken watch never reported, once the cycle its own
	// writes to the directory started has run: nothing else picks it up.
	time.Sleep(3 * time.Second)
	ad.Modify(guid, connector.Attributes{"displayName": {"Ada Byron"}})
	time.Sleep(3 * time.Second)
	if got := displayName(); got != "Ada Lovelace" {
		t.Fatalf("displayName %v before the watch broke; want Ada Lovelace (no cycle was due)", got)
	}
	close(ad.breakFirst)
	took := waitFor(t, "the change made while the watch was broken", func() bool { return displayName() == "Ada Byron" })
	t.Logf("watch broken → the change it missed in the directory: %v", took)

	var changed func()
	select {
	case changed = <-ad.callback: // the second watch: the first one broke
	case <-time.After(10 * time.Second):
		t.Fatalf("no watch after the first one broke (%d watches)", ad.watches.Load())
	}
	ad.Modify(guid, connector.Attributes{"displayName": {"Ada King"}})
	changed()
	took = waitFor(t, "a notified change in the directory", func() bool { return displayName() == "Ada King" })
	t.Logf("notification → directory: %v", took)

	e.do("POST", jobPath+"/pause", nil, 204)
	select {
	case err := <-ad.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the watch ended with %v, want its context cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pausing the job did not end its watch")
	}
	if n := ad.watches.Load(); n != 2 {
		t.Errorf("%d watches, want 2 (one broken, one until the pause)", n)
	}
}

// failingAD is the in-memory AD whose reads fail with fail while it is
// set, as a server that refuses the job's bind or is down would.
type failingAD struct {
	*adfake.Source
	fail atomic.Pointer[connector.Error]
}

func (f *failingAD) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	if err := f.fail.Load(); err != nil {
		return connector.Page{}, err
	}
	return f.Source.List(ctx, objectType, token, pageSize)
}

func (f *failingAD) Head(ctx context.Context) (string, error) {
	if err := f.fail.Load(); err != nil {
		return "", err
	}
	return f.Source.Head(ctx)
}

func (f *failingAD) Changes(ctx context.Context, watermark string, max int) ([]connector.Change, string, error) {
	if err := f.fail.Load(); err != nil {
		return nil, "", err
	}
	return f.Source.Changes(ctx, watermark, max)
}

// A cycle that fails reading its source shows the source's error code in
// lastExecution (not a bare CycleFailed); a source that refuses the job's
// credentials quarantines the job with EncounteredQuarantineException, a
// server that is down does not.
func TestSourceFailuresInStatus(t *testing.T) {
	ad := &failingAD{Source: adfake.New(schema.DirectoryAD, "objectGUID")}
	ad.Put(adUser("cccccccc-0000-4000-8000-000000000002", "CN=Ada,OU=Staff,DC=corp,DC=chicago,DC=com", "ada", "Ada", "Lovelace"))
	e, jobPath := newCloudSyncJob(t, ad)

	status := func() (code string, le map[string]any, q map[string]any) {
		st := e.do("GET", jobPath, nil, 200)["status"].(map[string]any)
		le, _ = st["lastExecution"].(map[string]any)
		q, _ = st["quarantine"].(map[string]any)
		return st["code"].(string), le, q
	}
	failedWith := func(code string) (map[string]any, string, map[string]any) {
		var le, q map[string]any
		var st string
		waitFor(t, "a cycle failing with "+code, func() bool {
			st, le, q = status()
			ee, _ := le["error"].(map[string]any)
			return le["state"] == "Failed" && ee["code"] == code
		})
		return le["error"].(map[string]any), st, q
	}

	ad.fail.Store(&connector.Error{Kind: connector.KindTransient, Code: "LdapServerUnreachable", Message: "cannot connect to dc.corp.chicago.com: connection refused"})
	e.do("POST", jobPath+"/start", nil, 204)
	ee, st, q := failedWith("LdapServerUnreachable")
	if ee["tenantActionable"] != false || st == "Quarantine" || q != nil {
		t.Errorf("server down: error %v, status %s, quarantine %v; want not tenant-actionable and no quarantine", ee, st, q)
	}
	if msg, _ := ee["message"].(string); !strings.Contains(msg, "connection refused") {
		t.Errorf("server down: message %q, want the source's", msg)
	}

	ad.fail.Store(&connector.Error{Kind: connector.KindUnauthorized, Code: "LdapCredentialValidationFailure", Message: "dc.corp.chicago.com refused the bind as \"CORP\\\\sync\": check the user name and password"})
	e.do("POST", jobPath+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Watermark"}}, 204)
	ee, st, q = failedWith("LdapCredentialValidationFailure")
	if ee["tenantActionable"] != true || st != "Quarantine" || q == nil || q["reason"] != "EncounteredQuarantineException" {
		t.Errorf("bind refused: error %v, status %s, quarantine %v; want tenant-actionable, Quarantine with EncounteredQuarantineException", ee, st, q)
	}
	if qe, _ := q["error"].(map[string]any); qe["code"] != "LdapCredentialValidationFailure" {
		t.Errorf("the quarantine's error %v, want LdapCredentialValidationFailure", q["error"])
	}
}

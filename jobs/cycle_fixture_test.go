package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/logbuf"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/memory"
)

// cycleFixture runs real cycles of one job over the in-memory store (as
// directory, job store and engine state), the built-in directory as source
// and memtarget as target, on a clock the test moves.
type cycleFixture struct {
	t   *testing.T
	st  *memory.Store
	tgt *memtarget.Target
	// target, when set, is what the job's target factory returns instead
	// of tgt (a wrapper of it).
	target connector.Target
	svc    *Service
	box    *secrets.Box

	mu  sync.Mutex
	now time.Time
	// token is the SecretToken the target was last built with.
	token atomic.Value
	ids   atomic.Int64
	// logs is what the service logged, as text.
	logs logbuf.Buffer
	// sweeps counts the pages of anchors the service listed; counts, its
	// CountAnchors calls.
	sweeps, counts atomic.Int64
}

// sweepCounting is the fixture's store as its service sees it: it counts
// the pages of anchors listed (ListAnchorsAfter for more than one), and
// the counts of all of a job's anchors (CountAnchors) in counted.
type sweepCounting struct {
	*memory.Store
	n       *atomic.Int64
	counted *atomic.Int64
}

func (s sweepCounting) CountAnchors(ctx context.Context, jobID string) ([]store.AnchorCount, error) {
	s.counted.Add(1)
	return s.Store.CountAnchors(ctx, jobID)
}

func (s sweepCounting) ListAnchorsAfter(ctx context.Context, jobID, sourceType, after string, limit int) ([]store.Anchor, error) {
	if limit > 1 {
		s.n.Add(1)
	}
	return s.Store.ListAnchorsAfter(ctx, jobID, sourceType, after, limit)
}

const (
	fxSP  = "sp"
	fxJob = "job"
)

func newCycleFixture(t *testing.T, settings map[string]string) *cycleFixture {
	t.Helper()
	f := &cycleFixture{t: t, st: memory.New(), now: epoch}
	f.token.Store("")
	f.tgt = memtarget.New(memtarget.Options{NewID: func() string { return fmt.Sprintf("t%d", f.ids.Add(1)) }})
	var err error
	if f.box, err = secrets.NewBox(bytes.Repeat([]byte{3}, 32)); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	f.must(f.st.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: fxSP, AppID: "appid", ApplicationID: "app"}))
	sch, err := json.Marshal(schema.SCIMSchema())
	f.must(err)
	type kv struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	var kvs []kv
	for k, v := range settings {
		kvs = append(kvs, kv{k, v})
	}
	set, err := json.Marshal(kvs)
	f.must(err)
	f.must(f.st.CreateJob(ctx, store.Job{ID: fxJob, ServicePrincipalID: fxSP, TemplateID: "scim", Schema: sch, Settings: set,
		Status: store.Status{Code: store.StatusNotRun}, Schedule: store.Schedule{Interval: "PT40M", State: store.ScheduleActive}}))
	f.putToken("right")
	eng := engine.New(engine.Config{State: f.st, Now: f.clock, NewID: func() string { return fmt.Sprintf("c%d", f.ids.Add(1)) }})
	log := slog.New(slog.NewTextHandler(&f.logs, nil))
	f.svc = New(Options{Store: sweepCounting{f.st, &f.sweeps, &f.counts}, Secrets: f.box, Engine: eng, Now: f.clock, CycleWorkers: 4, Logger: log, Registry: Registry{
		Sources: map[string]SourceFactory{schema.DirectoryEntra: func(_ context.Context, c Config) (connector.Source, error) {
			return directory.NewSource(f.st, c.ServicePrincipal.ID), nil
		}},
		Targets: map[string]TargetFactory{schema.DirectorySCIM: func(_ context.Context, c Config) (connector.Target, error) {
			tok, _ := secrets.Lookup(c.Secrets, "SecretToken")
			f.token.Store(tok.Reveal())
			if f.target != nil {
				return f.target, nil
			}
			return f.tgt, nil
		}},
	}})
	return f
}

func (f *cycleFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *cycleFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *cycleFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// putToken stores the job's credentials with a SecretToken.
func (f *cycleFixture) putToken(tok string) {
	f.t.Helper()
	sealed, err := f.box.SealPairs([]secrets.Pair{{Key: "BaseAddress", Value: "https://scim.example"}, {Key: "SecretToken", Value: secrets.Value(tok)}})
	f.must(err)
	f.must(f.st.PutSecrets(f.t.Context(), fxSP, sealed))
}

// users creates n assigned users u00, u01, ... and returns their ids.
func (f *cycleFixture) users(n int) []string {
	f.t.Helper()
	ctx := f.t.Context()
	var out []string
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		nick := fmt.Sprintf("user%02d", i)
		f.must(f.st.CreateUser(ctx, store.User{ID: id, UserPrincipalName: nick + "@contoso.test", AccountEnabled: true,
			Props: map[string]any{"displayName": nick, "givenName": nick, "surname": "Test", "mailNickname": nick, "mail": nick + "@contoso.test"}}))
		f.must(f.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a-" + id, AppRoleID: directory.DefaultAppRoleID,
			PrincipalID: id, PrincipalType: "User", ResourceID: fxSP}))
		out = append(out, id)
	}
	return out
}

// cycle runs one cycle and returns its error and the job after it.
func (f *cycleFixture) cycle() (store.Job, error) {
	f.t.Helper()
	err := f.svc.RunCycle(f.t.Context(), fxSP, fxJob)
	j, gerr := f.st.GetJob(f.t.Context(), fxSP, fxJob)
	f.must(gerr)
	return j, err
}

// okCycle runs a cycle that must not fail.
func (f *cycleFixture) okCycle() store.Job {
	f.t.Helper()
	j, err := f.cycle()
	if err != nil {
		f.t.Fatalf("RunCycle: %v", err)
	}
	return j
}

func (f *cycleFixture) escrows() []store.Escrow {
	f.t.Helper()
	es, err := f.st.ListEscrows(f.t.Context(), fxJob)
	f.must(err)
	return es
}

// activeUsers counts the target's users by their active attribute.
func (f *cycleFixture) activeUsers() (active, inactive int) {
	for _, o := range f.tgt.Objects(connector.TypeUser) {
		if v, _ := o.Attrs.Get("active"); v == "False" {
			inactive++
		} else {
			active++
		}
	}
	return active, inactive
}

// loggedActions counts the job's provisioning logs by event action.
func (f *cycleFixture) loggedActions() map[string]int {
	f.t.Helper()
	ls, err := f.st.ListProvisioningLogs(f.t.Context(), fxJob, store.ListOptions{})
	f.must(err)
	n := map[string]int{}
	for _, l := range ls {
		var ev engine.Event
		f.must(json.Unmarshal(l.Data, &ev))
		n[ev.Action]++
	}
	return n
}

package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
	"provisiond/store/memory"
)

// TestRequestErrors covers the requests the engine refuses as a whole: a
// typed error, and nothing read from or written to the target, no anchor,
// no provisioning log.
func TestRequestErrors(t *testing.T) {
	cases := []struct {
		name   string
		schema func(*schema.Schema)
		req    engine.Request
		want   error
	}{
		{
			name: "members on a user",
			req:  engine.Request{ObjectType: "User", ObjectID: "u-ann", Members: []engine.Request{userReq("u-bob")}},
			want: &engine.MemberError{Member: userReq("u-bob"), Reason: engine.MembersOfNonGroup},
		},
		{
			name: "a member that is not a user",
			req:  engine.Request{ObjectType: "Group", ObjectID: "g-eng", Members: []engine.Request{{ObjectType: "Group", ObjectID: "g-ops"}}},
			want: &engine.MemberError{Member: engine.Request{ObjectType: "Group", ObjectID: "g-ops"}, Reason: engine.MemberNotUser},
		},
		{
			name: "the group as its own member",
			req:  engine.Request{ObjectType: "Group", ObjectID: "g-eng", Members: []engine.Request{userReq("g-eng")}},
			want: &engine.MemberError{Member: userReq("g-eng"), Reason: engine.MemberIsSubject},
		},
		{
			name: "an unmapped object type",
			req:  engine.Request{ObjectType: "Device", ObjectID: "d-1"},
			want: &engine.UnmappedError{RuleID: schema.SCIMUserRuleID, ObjectType: "Device"},
		},
		{
			name:   "a disabled object mapping",
			schema: func(s *schema.Schema) { s.SynchronizationRules[0].ObjectMappings[1].Enabled = false },
			req:    groupReq("g-eng"),
			want:   &engine.UnmappedError{RuleID: schema.SCIMUserRuleID, ObjectType: "Group"},
		},
		{
			name: "a member of an unmapped type",
			req:  engine.Request{ObjectType: "Group", ObjectID: "g-eng", Members: []engine.Request{{ObjectType: "Device", ObjectID: "d-1"}}},
			want: &engine.UnmappedError{RuleID: schema.SCIMUserRuleID, ObjectType: "Device", Member: true},
		},
		{
			name: "an unknown user",
			req:  userReq("u-nobody"),
			want: &engine.NotFoundError{ObjectType: "User", ID: "u-nobody", Source: directory.Name},
		},
		{
			name: "an unknown group",
			req:  groupReq("g-nobody"),
			want: &engine.NotFoundError{ObjectType: "Group", ID: "g-nobody", Source: directory.Name},
		},
		{
			// Found out before the group is provisioned, so the refused
			// request leaves nothing behind.
			name: "an unknown member",
			req:  groupReq("g-eng", "u-ann", "u-nobody"),
			want: &engine.NotFoundError{ObjectType: "User", ID: "u-nobody", Source: directory.Name, Member: true},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.schema)
			ann, bob := f.user("ann", nil), f.user("bob", nil)
			f.assign(ann)
			f.assign(bob)
			f.assign(f.group("eng", ann))
			f.group("ops")
			_, err := f.eng.Process(t.Context(), f.job, c.req)
			if d := cmp.Diff(c.want, err); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if err != nil && err.Error() != c.want.Error() {
				t.Errorf("error says %q, want %q", err, c.want)
			}
			if calls := f.tgt.Calls(); len(calls) != 0 {
				t.Errorf("target calls %v, want none", calls)
			}
			if as := f.anchors(); len(as) != 0 {
				t.Errorf("anchors %v, want none", as)
			}
			if n := len(f.logs()); n != 0 {
				t.Errorf("%d provisioning logs, want none", n)
			}
		})
	}
}

// TestBusy: a request whose context ends while another request holds one
// of its objects gives up with a *BusyError wrapping the context's error,
// having done nothing; the holder finishes undisturbed.
func TestBusy(t *testing.T) {
	for _, c := range []struct {
		name           string
		holder, waiter engine.Request
	}{
		{"same user", userReq("u-ann"), userReq("u-ann")},
		{"a user held as a group's member", groupReq("g-eng", "u-ann"), userReq("u-ann")},
		{"a group's member held as a user", userReq("u-ann"), groupReq("g-eng", "u-ann")},
		{"same group", groupReq("g-eng"), groupReq("g-eng")},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, nil)
				ann := f.user("ann", nil)
				f.assign(ann)
				f.assign(f.group("eng", ann))
				// The holder's first anchor read waits until released, with
				// its objects locked.
				st := &pausing{Store: f.st, entered: make(chan struct{}), release: make(chan struct{})}
				f.useState(st)
				var held *engine.Outcome
				var heldErr error
				done := make(chan struct{})
				go func() {
					defer close(done)
					held, heldErr = f.eng.Process(t.Context(), f.job, c.holder)
				}()
				<-st.entered

				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				_, err := f.eng.Process(ctx, f.job, c.waiter)
				var busy *engine.BusyError
				if !errors.As(err, &busy) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("waiter: %v, want a *BusyError wrapping the deadline", err)
				}
				if calls := f.tgt.Calls(); len(calls) != 0 {
					t.Errorf("target calls %v before the holder went on, want none", calls)
				}

				close(st.release)
				<-done
				if heldErr != nil || held.Status != engine.StatusSuccess || held.Action != engine.ActionCreate {
					t.Fatalf("holder: %v, %+v", heldErr, held)
				}
				wantLogs := 1 + len(c.holder.Members)
				if n := len(f.logs()); n != wantLogs {
					t.Errorf("%d provisioning logs, want the holder's %d", n, wantLogs)
				}
			})
		})
	}
}

// pausing is the memory store whose first GetAnchor waits for release.
type pausing struct {
	*memory.Store
	once             sync.Once
	entered, release chan struct{}
}

func (s *pausing) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	s.once.Do(func() { close(s.entered); <-s.release })
	return s.Store.GetAnchor(ctx, jobID, sourceType, sourceID)
}

// cancelAware is the memory store with the writes the engine records
// results with failing once their context is done, as SQL drivers do.
type cancelAware struct{ *memory.Store }

func (s cancelAware) PutAnchor(ctx context.Context, a store.Anchor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.PutAnchor(ctx, a)
}

func (s cancelAware) AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.AddProvisioningLog(ctx, l)
}

// TestCallerGoneAfterExport: a caller that goes away once the target object
// was created still gets its anchor and provisioning log written, so the
// next run updates the object instead of creating a duplicate.
func TestCallerGoneAfterExport(t *testing.T) {
	f := newFixture(t, nil)
	f.useState(cancelAware{f.st})
	ann := f.user("ann", nil)
	f.assign(ann)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate {
			cancel() // the caller goes away; the create itself succeeds
		}
		return nil
	})
	out, err := f.eng.Process(ctx, f.job, userReq(ann))
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if ctx.Err() == nil {
		t.Fatal("the caller's context was not cancelled: the test proves nothing")
	}
	if out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate || out.TargetID != "t1" {
		t.Errorf("outcome %s/%s %q, want Success/Create t1", out.Status, out.Action, out.TargetID)
	}
	if d := cmp.Diff([]string{"User/u-ann -> User/t1"}, f.anchors()); d != "" {
		t.Errorf("anchors (-want +got):\n%s", d)
	}
	if n := len(f.logs()); n != 1 {
		t.Errorf("%d provisioning logs, want 1", n)
	}
	checkLogged(t, f, out)

	// The next run finds the object by its anchor.
	f.tgt.FailWhen(nil)
	if again := f.process(userReq(ann)); again.Code != "RedundantExport" || len(f.tgt.Objects("User")) != 1 {
		t.Errorf("next run: %s %s with %d target users, want RedundantExport with 1", again.Status, again.Code, len(f.tgt.Objects("User")))
	}
}

package engine_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/engine"
	"provisiond/schema"
)

// TestHoldDeletes: with HoldDeletes, a disable or delete the pipeline
// decides on is staged: nothing is written to the target, no anchor changes,
// no log is recorded, and the outcome says what it would have done with
// Code StagedDelete (its event's action StagedDelete). Record logs that
// event; the same request without the hold then carries the delete out.
// What is no delete (a create, an update) is not held.
func TestHoldDeletes(t *testing.T) {
	cases := []struct {
		name   string
		schema func(*schema.Schema)
		before func(f *fixture) engine.Request
		action engine.Action
		then   []string // the writes of the same request without the hold
	}{
		{
			name:   "disable",
			schema: salesOnly,
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				return userReq(id)
			},
			action: engine.ActionDisable,
			then:   []string{"Update User t1 [active]"},
		},
		{
			name:   "delete out of scope",
			schema: all(salesOnly, withoutSoftDelete),
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				return userReq(id)
			},
			action: engine.ActionDelete,
			then:   []string{"Delete User t1"},
		},
		{
			name: "delete hard-deleted",
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return userReq(id)
			},
			action: engine.ActionDelete,
			then:   []string{"Delete User t1"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.schema)
			req := c.before(f)
			anchors, logs := f.anchors(), len(f.logs())
			f.mark()
			held := req
			held.HoldDeletes = true
			out := f.process(held)
			if out.Status != engine.StatusSkipped || out.Action != c.action || out.Code != engine.CodeStagedDelete || out.TargetID != "t1" {
				t.Errorf("held outcome = %s/%s %q target %q; want Skipped/%s StagedDelete target t1", out.Status, out.Action, out.Code, out.TargetID, c.action)
			}
			if out.Event.Action != "StagedDelete" {
				t.Errorf("held event action = %q, want StagedDelete", out.Event.Action)
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("held: target writes %v, want none", w)
			}
			if d := cmp.Diff(anchors, f.anchors()); d != "" {
				t.Errorf("held: anchors changed (-before +after):\n%s", d)
			}
			if n := len(f.logs()); n != logs {
				t.Errorf("held: %d provisioning logs written, want none", n-logs)
			}
			must(t, f.eng.Record(t.Context(), f.job, &out.Event))
			if ev, ok := f.loggedEvent(out.Event.ChangeID); !ok || ev.Action != "StagedDelete" {
				t.Errorf("recorded event = %+v (found %v), want action StagedDelete", ev.Action, ok)
			}
			f.mark()
			real := f.process(req)
			if real.Status != engine.StatusSuccess || real.Action != c.action {
				t.Errorf("without the hold: %s/%s, want Success/%s", real.Status, real.Action, c.action)
			}
			if d := cmp.Diff(c.then, f.writes()); d != "" {
				t.Errorf("writes without the hold (-want +got):\n%s", d)
			}
		})
	}

	// A group's delete is held too, its event staged after the members'
	// step.
	g := newFixture(t, nil)
	grp := g.group("eng")
	a := g.assign(grp)
	if out := g.process(engine.Request{ObjectType: "Group", ObjectID: grp, AllMembers: true}); out.Action != engine.ActionCreate {
		t.Fatalf("creating the group: %s/%s %s", out.Status, out.Action, out.Code)
	}
	must(t, g.st.DeleteAppRoleAssignment(t.Context(), a))
	g.mark()
	out := g.process(engine.Request{ObjectType: "Group", ObjectID: grp, AllMembers: true, HoldDeletes: true})
	if out.Code != engine.CodeStagedDelete || out.Event.Action != "StagedDelete" || len(g.writes()) != 0 {
		t.Errorf("unassigned group with HoldDeletes: %s/%s %q, event action %q, writes %v; want StagedDelete and no write",
			out.Status, out.Action, out.Code, out.Event.Action, g.writes())
	}

	// A create is not held.
	f := newFixture(t, nil)
	ann := f.user("ann", nil)
	f.assign(ann)
	if out := f.process(engine.Request{ObjectType: "User", ObjectID: ann, HoldDeletes: true}); out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate {
		t.Errorf("create with HoldDeletes: %s/%s, want Success/Create", out.Status, out.Action)
	}
}

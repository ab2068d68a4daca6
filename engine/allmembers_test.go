package engine_test

import (
	"fmt"
	"slices"
	"testing"

	"provisiond/connector"
	"provisiond/engine"
)

// A cycle's group request (AllMembers) reconciles the whole membership:
// provisioned source members are added, members that left are removed, and
// target members the job never provisioned stay. Small and big groups
// (which read their members' links in batches), and many members leaving
// at once (whose links are read in one listing), agree.
func TestAllMembers(t *testing.T) {
	for _, tt := range []struct{ n, leave int }{{3, 1}, {70, 1}, {140, 70}} {
		n := tt.n
		t.Run(fmt.Sprintf("%d members, %d leave", n, tt.leave), func(t *testing.T) {
			f := newFixture(t, nil)
			var users []string
			for i := range n {
				users = append(users, f.user(fmt.Sprintf("m%02d", i), nil))
			}
			g := f.group("team", users...)
			f.assign(g)
			for _, u := range users {
				f.process(userReq(u))
			}
			out := f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
			if out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate {
				t.Fatalf("group outcome %s/%s, want Success/Create", out.Status, out.Action)
			}
			members := func() []string {
				obj, err := f.tgt.Get(t.Context(), "Group", out.TargetID)
				must(t, err)
				ms := slices.Clone(obj.Attrs["members"])
				slices.Sort(ms)
				return ms
			}
			var want []string
			for _, u := range users {
				want = append(want, f.anchor("User", u))
			}
			slices.Sort(want)
			if got := members(); !slices.Equal(got, want) {
				t.Fatalf("target members = %d, want all %d provisioned users", len(got), len(want))
			}
			// A member the job never provisioned, added in the target.
			stranger, err := f.tgt.Create(t.Context(), "User", connector.Attributes{"userName": {"stranger@contoso.test"}})
			must(t, err)
			must(t, f.tgt.AddMembers(t.Context(), out.TargetID, []string{stranger.ID}))
			// The first users leave the source group.
			for _, u := range users[:tt.leave] {
				must(t, f.st.RemoveMember(t.Context(), g, u))
			}
			out = f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
			if out.Status != engine.StatusSuccess {
				t.Fatalf("reconcile: %s %s", out.Status, out.Message)
			}
			got := members()
			for _, u := range users[:tt.leave] {
				if slices.Contains(got, f.anchor("User", u)) {
					t.Errorf("member %s left the source group but is still in the target group", u)
				}
			}
			if !slices.Contains(got, stranger.ID) {
				t.Error("a target member the job never provisioned was removed")
			}
			if len(got) != n-tt.leave+1 {
				t.Errorf("target members = %d, want %d (those who stayed + the stranger)", len(got), n-tt.leave+1)
			}
			// In sync: nothing to do.
			before := len(f.tgt.Calls())
			out = f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
			for _, c := range f.tgt.Calls()[before:] {
				if c.Op == "AddMembers" || c.Op == "RemoveMembers" {
					t.Errorf("in-sync reconcile wrote %s", c.Op)
				}
			}
		})
	}
}

// A group's event lists at most 1,000 member changes, however many were
// made: the target gets them all.
func TestAllMembersEventCapped(t *testing.T) {
	f := newFixture(t, nil)
	var users []string
	for i := range 1100 {
		users = append(users, f.user(fmt.Sprintf("m%04d", i), nil))
	}
	g := f.group("big", users...)
	f.assign(g)
	for _, u := range users {
		f.process(userReq(u))
	}
	out := f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
	if out.Status != engine.StatusSuccess {
		t.Fatalf("group outcome %s %s", out.Status, out.Message)
	}
	listed := 0
	for _, p := range out.Event.ModifiedProperties {
		if p.DisplayName == "members" {
			listed++
		}
	}
	if listed != 1000 {
		t.Errorf("the event lists %d member changes, want 1000", listed)
	}
	obj, err := f.tgt.Get(t.Context(), "Group", out.TargetID)
	must(t, err)
	if n := len(obj.Attrs["members"]); n != len(users) {
		t.Errorf("target members = %d, want %d", n, len(users))
	}
}

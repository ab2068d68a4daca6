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
// (which read the job's links in one listing) agree.
func TestAllMembers(t *testing.T) {
	for _, n := range []int{3, 70} {
		t.Run(fmt.Sprintf("%d members", n), func(t *testing.T) {
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
			// The first user leaves the source group.
			must(t, f.st.RemoveMember(t.Context(), g, users[0]))
			out = f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
			if out.Status != engine.StatusSuccess {
				t.Fatalf("reconcile: %s %s", out.Status, out.Message)
			}
			got := members()
			if slices.Contains(got, f.anchor("User", users[0])) {
				t.Error("the member who left the source group is still in the target group")
			}
			if !slices.Contains(got, stranger.ID) {
				t.Error("a target member the job never provisioned was removed")
			}
			if len(got) != n {
				t.Errorf("target members = %d, want %d (n-1 provisioned + the stranger)", len(got), n)
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

package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/connector/memtarget"
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
			users, g := provisionedTeam(f, n, n)
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
// made, and its import step at most 1,000 members: the target gets them
// all.
func TestAllMembersEventCapped(t *testing.T) {
	f := newFixture(t, nil)
	var users []string
	for i := range 1100 {
		users = append(users, f.user(fmt.Sprintf("m%04d", i), nil)) // ids in the order the group lists them
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
	// The import step shows the first 1,000 members and says how many more.
	shown, _ := out.Event.ProvisioningSteps[0].Details.Get("members")
	if want := strings.Join(users[:1000], ",") + ",… (100 more)"; shown != want {
		t.Errorf("the import step shows members %.40q…%q, want the first 1000 and (100 more)", shown, shown[max(0, len(shown)-20):])
	}
	obj, err := f.tgt.Get(t.Context(), "Group", out.TargetID)
	must(t, err)
	if n := len(obj.Attrs["members"]); n != len(users) {
		t.Errorf("target members = %d, want %d", n, len(users))
	}
}

// A group bigger than a chunk reconciles chunk by chunk: every request
// carries at most a chunk of members, members already in the target are
// not added again, provisioned members that left are removed, and members
// the job never provisioned stay.
func TestAllMembersInChunks(t *testing.T) {
	const chunk = 4
	engine.SetLinkChunk(t, chunk)
	f := newFixture(t, nil)
	users, g := provisionedTeam(f, 23, 20)
	req := engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true}
	out := f.process(req)
	if out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate {
		t.Fatalf("group outcome %s/%s %s, want Success/Create", out.Status, out.Action, out.Message)
	}
	groupID := out.TargetID
	targets := func(us []string) []string {
		var ts []string
		for _, u := range us {
			ts = append(ts, f.anchor("User", u))
		}
		return ts
	}
	members := func() []string {
		obj, err := f.tgt.Get(t.Context(), "Group", groupID)
		must(t, err)
		return slices.Sorted(slices.Values(obj.Attrs["members"]))
	}
	// changed checks the member requests since mark (each at most a
	// chunk) and the step's counts.
	changed := func(out *engine.Outcome, added, removed int) {
		t.Helper()
		n := map[string]int{}
		for _, c := range f.tgt.Calls()[f.calls:] {
			if c.Op == "AddMembers" || c.Op == "RemoveMembers" {
				n[string(c.Op)] += len(c.MemberIDs)
				if len(c.MemberIDs) > chunk {
					t.Errorf("%s of %d members, want at most a chunk (%d)", c.Op, len(c.MemberIDs), chunk)
				}
			}
		}
		if n["AddMembers"] != added || n["RemoveMembers"] != removed {
			t.Errorf("members sent: %v, want %d added and %d removed", n, added, removed)
		}
		if added+removed == 0 {
			return
		}
		d := out.Event.ProvisioningSteps[len(out.Event.ProvisioningSteps)-1].Details
		a, _ := d.Get("MembersAdded")
		r, _ := d.Get("MembersRemoved")
		if a != fmt.Sprint(added) || r != fmt.Sprint(removed) {
			t.Errorf("step counts %s added, %s removed; want %d and %d", a, r, added, removed)
		}
	}
	f.calls = 0
	changed(out, 20, 0)
	if got, want := members(), slices.Sorted(slices.Values(targets(users[:20]))); !slices.Equal(got, want) {
		t.Fatalf("target members %v, want the 20 source members' %v", got, want)
	}

	// In the target: three members the job never provisioned, and two
	// users it provisioned that are not source members (21, 22); user 20
	// joins the source group after being added in the target, and the
	// first six leave it.
	var strangers []string
	for i := range 3 {
		s, err := f.tgt.Create(t.Context(), "User", connector.Attributes{"userName": {fmt.Sprintf("stranger%d@contoso.test", i)}})
		must(t, err)
		strangers = append(strangers, s.ID)
	}
	must(t, f.tgt.AddMembers(t.Context(), groupID, append(slices.Clone(strangers), targets(users[20:])...)))
	must(t, f.st.AddMember(t.Context(), g, users[20]))
	for _, u := range users[:6] {
		must(t, f.st.RemoveMember(t.Context(), g, u))
	}
	f.mark()
	out = f.process(req)
	if out.Status != engine.StatusSuccess {
		t.Fatalf("reconcile: %s %s", out.Status, out.Message)
	}
	changed(out, 0, 8)
	want := slices.Sorted(slices.Values(append(targets(users[6:21]), strangers...)))
	if got := members(); !slices.Equal(got, want) {
		t.Errorf("target members %v, want users 6 to 20 and the strangers %v", got, want)
	}
	var gone int
	for _, p := range out.Event.ModifiedProperties {
		if p.DisplayName == "members" && p.OldValue != nil && p.NewValue == nil {
			gone++
		}
	}
	if gone != 8 {
		t.Errorf("the event lists %d members removed, want 8", gone)
	}

	// In sync: nothing is sent.
	f.mark()
	out = f.process(req)
	changed(out, 0, 0)
	if out.Status != engine.StatusSkipped {
		t.Errorf("in-sync reconcile: %s/%s, want Skipped", out.Status, out.Action)
	}
}

// A membership write that fails in the middle of a chunked reconciliation
// fails the group as a reference: after a refusal of some members the
// other chunks still go, after any other failure nothing more is written
// (no removal either), and the counts are what the reconciliation wanted.
func TestAllMembersChunkFails(t *testing.T) {
	for _, tt := range []struct {
		name      string
		kind      connector.Kind
		sentAdded int // members in AddMembers requests that reached the target
		inTarget  int // source members in the target group afterwards
	}{
		{"refused", connector.KindInvalid, 12, 8},
		{"unavailable", connector.KindTransient, 8, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			engine.SetLinkChunk(t, 4)
			f := newFixture(t, nil)
			users, g := provisionedTeam(f, 13, 12)
			grp, err := f.tgt.Create(t.Context(), "Group", connector.Attributes{"displayName": {"team"}})
			must(t, err)
			// User 12 is in the target group and left the source one: a
			// removal, never sent after a failed add.
			must(t, f.tgt.AddMembers(t.Context(), grp.ID, []string{f.anchor("User", users[12])}))
			adds := 0
			f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
				if c.Op != memtarget.OpAddMembers {
					return nil
				}
				if adds++; adds == 2 {
					return &connector.Error{Kind: tt.kind, Message: "no"}
				}
				return nil
			})
			f.mark()
			out := f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true})
			if out.Status != engine.StatusFailure || !out.Reference || out.TargetID != grp.ID {
				t.Fatalf("outcome %s reference %v target %q, want a Failure of the group's references, target %s", out.Status, out.Reference, out.TargetID, grp.ID)
			}
			sent := 0
			for _, c := range f.tgt.Calls()[f.calls:] {
				switch c.Op {
				case memtarget.OpAddMembers:
					sent += len(c.MemberIDs)
				case memtarget.OpRemoveMembers:
					t.Errorf("RemoveMembers %v after a failed add", c.MemberIDs)
				}
			}
			if sent != tt.sentAdded {
				t.Errorf("AddMembers sent %d members, want %d", sent, tt.sentAdded)
			}
			obj, err := f.tgt.Get(t.Context(), "Group", grp.ID)
			must(t, err)
			if n := len(obj.Attrs["members"]); n != tt.inTarget+1 {
				t.Errorf("target group has %d members, want %d and user 12", n, tt.inTarget)
			}
			var a, r string
			for _, st := range out.Event.ProvisioningSteps {
				if v, ok := st.Details.Get("MembersAdded"); ok {
					a = v
					r, _ = st.Details.Get("MembersRemoved")
					if st.Status != "Failure" {
						t.Errorf("membership step %s, want Failure", st.Status)
					}
				}
			}
			if a != "12" || r != "1" {
				t.Errorf("step counts %s added, %s removed; want what was wanted: 12 and 1", a, r)
			}
			for _, p := range out.Event.ModifiedProperties {
				if p.DisplayName == "members" {
					t.Errorf("a failed reconciliation lists member changes: %+v", p)
				}
			}
		})
	}
}

// A dry run of a chunked reconciliation writes nothing and says what it
// would do.
func TestAllMembersDryRunInChunks(t *testing.T) {
	engine.SetLinkChunk(t, 4)
	f := newFixture(t, nil)
	users, g := provisionedTeam(f, 10, 10)
	grp, err := f.tgt.Create(t.Context(), "Group", connector.Attributes{"displayName": {"team"}})
	must(t, err)
	must(t, f.tgt.AddMembers(t.Context(), grp.ID, []string{f.anchor("User", users[0])}))
	must(t, f.st.RemoveMember(t.Context(), g, users[0]))
	f.mark()
	out := f.process(engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true, DryRun: true})
	if w := f.writes(); len(w) != 0 {
		t.Errorf("a dry run wrote %v", w)
	}
	last := out.Event.ProvisioningSteps[len(out.Event.ProvisioningSteps)-1]
	if want := "Membership of Group 'team' in memtarget: 9 would be added, 1 removed"; !strings.HasPrefix(last.Description, want) {
		t.Errorf("dry run says %q, want %q…", last.Description, want)
	}
}

// provisionedTeam makes n users and the assigned group "team" of the
// first members of them, assigns the others directly, and provisions the
// users (not the group).
func provisionedTeam(f *fixture, n, members int) (users []string, group string) {
	for i := range n {
		users = append(users, f.user(fmt.Sprintf("m%02d", i), nil))
	}
	group = f.group("team", users[:members]...)
	f.assign(group)
	for _, u := range users[members:] {
		f.assign(u)
	}
	for _, u := range users {
		f.process(userReq(u))
	}
	return users, group
}

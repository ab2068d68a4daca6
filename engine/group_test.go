package engine_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/engine"
	"provisiond/store"
)

// memberStep is what a group's member step pins: its shape and details.
type memberStep struct {
	Step    string
	Details map[string]string
}

func TestGroupOutcomes(t *testing.T) {
	// g-eng (assigned) has member ann (assigned); bob is assigned but
	// not a member.
	base := func(f *fixture) {
		ann := f.user("ann", nil)
		f.assign(ann)
		f.assign(f.user("bob", nil))
		f.assign(f.group("eng", ann))
	}
	// provisioned runs the group with ann once: g-eng → t1, ann → t2.
	provisioned := func(f *fixture) {
		base(f)
		if out := f.process(groupReq("g-eng", "u-ann")); out.Action != engine.ActionCreate || out.TargetID != "t1" {
			f.t.Fatalf("provisioning the group: %s/%s %s %q", out.Status, out.Action, out.Code, out.TargetID)
		}
	}
	cases := []struct {
		name    string
		before  func(f *fixture)
		req     engine.Request
		inject  func(f *fixture)
		want    summary
		members []summary
		// memberSteps are the member steps (the last len(memberSteps)
		// steps of the group's event).
		memberSteps []memberStep
		writes      []string
		targetID    string
		// groups is every target group's members afterwards, by id.
		groups  map[string][]string
		anchors []string
		logs    int
	}{
		{
			name:   "create with a member not yet provisioned: the member is created first",
			before: base, req: groupReq("g-eng", "u-ann"),
			want:    summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd, stMember}, []string{"displayName", "externalId", "members"}},
			members: []summary{{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames}},
			memberSteps: []memberStep{{stMember, map[string]string{"MemberObjectId": "u-ann", "MemberProvisioningResult": "Success",
				"IsMemberInSource": "True", "MemberTargetId": "t2", "MembershipAction": "Add"}}},
			writes:   []string{"Create Group", "Create User", "AddMembers t1 [t2]"},
			targetID: "t1", groups: map[string][]string{"t1": {"t2"}},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2"}, logs: 2,
		},
		{
			name:   "no change",
			before: provisioned, req: groupReq("g-eng", "u-ann"),
			want:    summary{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip, stMemberNone}, nil},
			members: []summary{{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil}},
			memberSteps: []memberStep{{stMemberNone, map[string]string{"MemberObjectId": "u-ann", "MemberProvisioningResult": "Skipped",
				"MemberProvisioningCode": "RedundantExport", "IsMemberInSource": "True", "MemberTargetId": "t2", "MembershipAction": "None"}}},
			targetID: "t1", groups: map[string][]string{"t1": {"t2"}},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2"}, logs: 2,
		},
		{
			name: "add a member provisioned before",
			before: func(f *fixture) {
				provisioned(f)
				f.process(userReq("u-bob")) // → t3
				must(f.t, f.st.AddMember(f.t.Context(), "g-eng", "u-bob"))
			},
			req:     groupReq("g-eng", "u-bob"),
			want:    summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stSkip, stMember}, []string{"members"}},
			members: []summary{{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil}},
			memberSteps: []memberStep{{stMember, map[string]string{"MemberObjectId": "u-bob", "MemberProvisioningResult": "Skipped",
				"MemberProvisioningCode": "RedundantExport", "IsMemberInSource": "True", "MemberTargetId": "t3", "MembershipAction": "Add"}}},
			writes:   []string{"AddMembers t1 [t3]"},
			targetID: "t1", groups: map[string][]string{"t1": {"t2", "t3"}},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2", "User/u-bob -> User/t3"}, logs: 2,
		},
		{
			name: "remove a member that left the source group",
			before: func(f *fixture) {
				provisioned(f)
				must(f.t, f.st.RemoveMember(f.t.Context(), "g-eng", "u-ann"))
			},
			req:     groupReq("g-eng", "u-ann"),
			want:    summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stSkip, stMember}, []string{"members"}},
			members: []summary{{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil}},
			memberSteps: []memberStep{{stMember, map[string]string{"MemberObjectId": "u-ann", "MemberProvisioningResult": "Skipped",
				"MemberProvisioningCode": "RedundantExport", "IsMemberInSource": "False", "MemberTargetId": "t2", "MembershipAction": "Remove"}}},
			writes:   []string{"RemoveMembers t1 [t2]"},
			targetID: "t1", groups: map[string][]string{"t1": nil},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2"}, logs: 2,
		},
		{
			name:   "a listed member in neither group is left alone",
			before: base, req: groupReq("g-eng", "u-ann", "u-bob"),
			want: summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd, stMember, stMemberNone},
				[]string{"displayName", "externalId", "members"}},
			members: []summary{
				{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
				{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			},
			memberSteps: []memberStep{
				{stMember, map[string]string{"MemberObjectId": "u-ann", "MemberProvisioningResult": "Success",
					"IsMemberInSource": "True", "MemberTargetId": "t2", "MembershipAction": "Add"}},
				{stMemberNone, map[string]string{"MemberObjectId": "u-bob", "MemberProvisioningResult": "Success",
					"IsMemberInSource": "False", "MemberTargetId": "t3", "MembershipAction": "None"}},
			},
			writes:   []string{"Create Group", "Create User", "Create User", "AddMembers t1 [t2]"},
			targetID: "t1", groups: map[string][]string{"t1": {"t2"}},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2", "User/u-bob -> User/t3"}, logs: 3,
		},
		{
			name: "a member out of scope is not added",
			before: func(f *fixture) {
				base(f)
				f.editUser("u-ann", func(u *store.User) { u.AccountEnabled = false })
			},
			req:     groupReq("g-eng", "u-ann"),
			want:    summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd, stMemberNone}, []string{"displayName", "externalId"}},
			members: []summary{{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil}},
			memberSteps: []memberStep{{stMemberNone, map[string]string{"MemberObjectId": "u-ann", "MemberProvisioningResult": "Skipped",
				"MemberProvisioningCode": "NotEffectivelyEntitled", "IsMemberInSource": "True", "MembershipAction": "None"}}},
			writes:   []string{"Create Group"},
			targetID: "t1", groups: map[string][]string{"t1": nil},
			anchors: []string{"Group/g-eng -> Group/t1"}, logs: 2,
		},
		{
			name: "a group out of scope: members are not processed",
			before: func(f *fixture) {
				base(f)
				must(f.t, f.st.DeleteAppRoleAssignment(f.t.Context(), "a3"))
			},
			req:         groupReq("g-eng", "u-ann"),
			want:        summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip, stMemberNone}, nil},
			memberSteps: []memberStep{{stMemberNone, map[string]string{"MemberObjectId": "u-ann"}}},
			groups:      map[string][]string{}, anchors: []string{}, logs: 1,
		},
		{
			name:   "the target refuses the membership change",
			before: base, req: groupReq("g-eng", "u-ann"),
			inject: func(f *fixture) {
				f.tgt.FailNext(memtarget.OpAddMembers, 1, memtarget.Failure(connector.KindTransient, 5))
			},
			want: summary{engine.StatusFailure, engine.ActionOther, "TooManyRequests",
				[]string{stImport, stInScope, stNoMatch, stAdd, "EntryExportUpdate/Export/Failure", stUpdateFail}, []string{"displayName", "externalId"}},
			members: []summary{{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames}},
			writes:  []string{"Create Group", "Create User", "AddMembers t1 [t2]"},
			// The group and the member were created: they stay anchored.
			targetID: "t1", groups: map[string][]string{"t1": nil},
			anchors: []string{"Group/g-eng -> Group/t1", "User/u-ann -> User/t2"}, logs: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			c.before(f)
			if c.inject != nil {
				c.inject(f)
			}
			logs := len(f.logs())
			f.mark()
			out := f.process(c.req)
			if d := cmp.Diff(c.want, summarize(out)); d != "" {
				t.Errorf("group outcome (-want +got):\n%s", d)
			}
			checkEvent(t, out)
			var members []summary
			for _, m := range out.Members {
				members = append(members, summarize(m))
				checkEvent(t, m)
				checkLogged(t, f, m)
			}
			if d := cmp.Diff(c.members, members); d != "" {
				t.Errorf("member outcomes (-want +got):\n%s", d)
			}
			steps := out.Event.ProvisioningSteps
			var gotSteps []memberStep
			for _, s := range steps[len(steps)-len(c.memberSteps):] {
				d := map[string]string{}
				for _, kv := range s.Details {
					d[kv.Key] = kv.Value
				}
				gotSteps = append(gotSteps, memberStep{s.Name + "/" + s.Type + "/" + s.Status, d})
			}
			if d := cmp.Diff(c.memberSteps, gotSteps); d != "" {
				t.Errorf("member steps (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.writes, f.writes()); d != "" {
				t.Errorf("target writes (-want +got):\n%s", d)
			}
			if out.TargetID != c.targetID {
				t.Errorf("TargetID %q, want %q", out.TargetID, c.targetID)
			}
			groups := map[string][]string{}
			for _, g := range f.tgt.Objects("Group") {
				groups[g.ID] = g.Attrs["members"]
			}
			if d := cmp.Diff(c.groups, groups); d != "" {
				t.Errorf("target groups' members (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.anchors, f.anchors()); d != "" {
				t.Errorf("anchors (-want +got):\n%s", d)
			}
			if n := len(f.logs()); n != logs+c.logs {
				t.Errorf("%d provisioning logs written, want %d", n-logs, c.logs)
			}
			checkLogged(t, f, out)
		})
	}
}

// TestGroupTargetAttributes pins what a created group holds in the target.
func TestGroupTargetAttributes(t *testing.T) {
	f := newFixture(t, nil)
	f.assign(f.group("eng"))
	out := f.process(groupReq("g-eng"))
	want := []connector.Object{{ID: "t1", Type: "Group", Attrs: connector.Attributes{"displayName": {"eng"}, "externalId": {"g-eng"}}}}
	if d := cmp.Diff(want, f.tgt.Objects("Group")); d != "" {
		t.Errorf("target groups (-want +got):\n%s", d)
	}
	if out.Action != engine.ActionCreate || out.Event.StartTime != engine.Time(epoch) {
		t.Errorf("outcome %s at %v", out.Action, time.Time(out.Event.StartTime))
	}
}

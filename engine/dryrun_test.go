package engine_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/schema"
)

// TestDryRun runs each exporting outcome as a dry run: the same outcome
// and steps as the real run, the export step saying what would be done,
// and nothing written to the target, the anchors or the logs.
func TestDryRun(t *testing.T) {
	const dry = " (dry run: nothing was written)"
	cases := []struct {
		name   string
		schema func(*schema.Schema)
		before func(f *fixture) engine.Request
		want   summary
		// says is the export step's description, "" when the object
		// itself needs no change.
		says    string
		members []summary
		// memberSays are the member steps' descriptions.
		memberSays []string
	}{
		{
			name:   "create",
			before: func(f *fixture) engine.Request { id := f.user("ann", nil); f.assign(id); return userReq(id) },
			want:   summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			says:   "User 'ann@contoso.test' would be created in memtarget" + dry,
		},
		{
			name: "update",
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				f.setProp(id, "jobTitle", "Lead")
				return userReq(id)
			},
			want: summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stUpdate}, []string{"title"}},
			says: "User 'ann@contoso.test' would be updated in memtarget" + dry,
		},
		{
			name:   "disable",
			schema: salesOnly,
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				return userReq(id)
			},
			want: summary{engine.StatusSuccess, engine.ActionDisable, "", []string{stImport, stOutOfScope, stMatched, stDisable}, []string{"active"}},
			says: "User 'ann@contoso.test' would be disabled in memtarget because it is no longer in scope" + dry,
		},
		{
			name:   "delete out of scope",
			schema: all(salesOnly, withoutSoftDelete),
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				return userReq(id)
			},
			want: summary{engine.StatusSuccess, engine.ActionDelete, "", []string{stImport, stOutOfScope, stMatched, stDelete}, nil},
			says: "User 'ann@contoso.test' would be deleted in memtarget" + dry,
		},
		{
			name: "delete hard-deleted",
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return userReq(id)
			},
			want: summary{engine.StatusSuccess, engine.ActionDelete, "", []string{stGone, stMatched, stDelete}, nil},
			says: "User 'u-ann' would be deleted in memtarget" + dry,
		},
		{
			name: "anchored target object vanished",
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				must(f.t, f.tgt.Delete(f.t.Context(), "User", "t1"))
				return userReq(id)
			},
			// The stale anchor is kept: a dry run changes no anchor.
			want: summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			says: "User 'ann@contoso.test' would be created in memtarget" + dry,
		},
		{
			name: "anchored target object vanished, another matched",
			before: func(f *fixture) engine.Request {
				id := created(f, "ann")
				must(f.t, f.tgt.Delete(f.t.Context(), "User", "t1"))
				if _, err := f.tgt.Create(f.t.Context(), "User", with(userAttrs("ann", "True"), "displayName", "Old Name")); err != nil {
					f.t.Fatal(err)
				}
				return userReq(id)
			},
			// The anchor still names t1: it is not moved to t2.
			want: summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stUpdate}, []string{"displayName"}},
			says: "User 'ann@contoso.test' would be updated in memtarget" + dry,
		},
		{
			name: "group and member created",
			before: func(f *fixture) engine.Request {
				ann := f.user("ann", nil)
				f.assign(ann)
				f.assign(f.group("eng", ann))
				return groupReq("g-eng", ann)
			},
			want: summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd, stMember},
				[]string{"displayName", "externalId"}},
			says:       "Group 'eng' would be created in memtarget" + dry,
			members:    []summary{{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames}},
			memberSays: []string{"ADD member 'u-ann' to Group 'eng' in memtarget" + dry},
		},
		{
			name: "member added and removed",
			before: func(f *fixture) engine.Request {
				ann, bob := f.user("ann", nil), f.user("bob", nil)
				f.assign(ann)
				f.assign(bob)
				f.assign(f.group("eng", ann))
				f.process(groupReq("g-eng", ann)) // g-eng → t1, ann → t2
				f.process(userReq(bob))           // → t3
				must(f.t, f.st.RemoveMember(f.t.Context(), "g-eng", ann))
				must(f.t, f.st.AddMember(f.t.Context(), "g-eng", bob))
				return groupReq("g-eng", ann, bob)
			},
			want: summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stSkip, stMember, stMember},
				[]string{"members", "members"}},
			members: []summary{
				{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil},
				{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil},
			},
			memberSays: []string{
				"REMOVE member 'u-ann' by targetAnchor t2 from Group 'eng' in memtarget" + dry,
				"ADD member 'u-bob' by targetAnchor t3 to Group 'eng' in memtarget" + dry,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.schema)
			req := c.before(f)
			req.DryRun = true
			anchors, logs := f.anchors(), len(f.logs())
			users, groups := f.tgt.Objects("User"), f.tgt.Objects("Group")
			f.mark()
			out := f.process(req)
			if d := cmp.Diff(c.want, summarize(out)); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
			checkEvent(t, out)
			var members []summary
			for _, m := range out.Members {
				members = append(members, summarize(m))
			}
			if d := cmp.Diff(c.members, members); d != "" {
				t.Errorf("member outcomes (-want +got):\n%s", d)
			}
			var says []string
			for _, s := range out.Event.ProvisioningSteps {
				if s.Type == string(engine.StepExport) && s.Status == string(engine.StatusSuccess) {
					says = append(says, s.Description)
				}
			}
			var wantSays []string
			if c.says != "" {
				wantSays = append(wantSays, c.says)
			}
			wantSays = append(wantSays, c.memberSays...)
			if d := cmp.Diff(wantSays, says); d != "" {
				t.Errorf("export steps (-want +got):\n%s", d)
			}
			for _, m := range out.Members {
				if s := m.Event.ProvisioningSteps[len(m.Event.ProvisioningSteps)-1]; s.Status == string(engine.StatusSuccess) && !strings.HasSuffix(s.Description, dry) {
					t.Errorf("member export step %q does not say it was a dry run", s.Description)
				}
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("target writes %v, want none", w)
			}
			if d := cmp.Diff(users, f.tgt.Objects("User")); d != "" {
				t.Errorf("target users changed (-before +after):\n%s", d)
			}
			if d := cmp.Diff(groups, f.tgt.Objects("Group")); d != "" {
				t.Errorf("target groups changed (-before +after):\n%s", d)
			}
			if d := cmp.Diff(anchors, f.anchors()); d != "" {
				t.Errorf("anchors changed (-before +after):\n%s", d)
			}
			if n := len(f.logs()); n != logs {
				t.Errorf("%d provisioning logs written, want none", n-logs)
			}
		})
	}
}

// TestDryRunThenRealRun: a dry run leaves the state as it was, so the real
// run that follows does what the dry run said.
func TestDryRunThenRealRun(t *testing.T) {
	f := newFixture(t, nil)
	ann := f.user("ann", nil)
	f.assign(ann)
	dryRun := f.process(engine.Request{ObjectType: "User", ObjectID: ann, DryRun: true})
	real := f.process(userReq(ann))
	if d := cmp.Diff(summarize(dryRun), summarize(real)); d != "" {
		t.Errorf("dry run and real run differ (-dry +real):\n%s", d)
	}
	want := []connector.Object{{ID: "t1", Type: "User", Attrs: userAttrs("ann", "True")}}
	if d := cmp.Diff(want, f.tgt.Objects("User")); d != "" {
		t.Errorf("target users (-want +got):\n%s", d)
	}
}

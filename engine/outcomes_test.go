package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
	"provisiond/store/memory"
)

// userCase is one user request and the state it meets.
type userCase struct {
	name   string
	schema func(*schema.Schema)
	job    func(*engine.Job)
	// before builds what the request meets and returns the user's id;
	// target calls it makes are not counted in writes.
	before func(f *fixture) string
	want   summary
	// writes are the target writes the request makes (failed ones too).
	writes []string
	// targetID is the outcome's TargetID; anchor the target id the user
	// is anchored to afterwards ("" for none).
	targetID, anchor string
	// target is every target user afterwards, by id.
	target map[string]connector.Attributes
	// check, if set, checks the rest.
	check func(t *testing.T, f *fixture, out *engine.Outcome)
}

// created is a user created through the engine as the first target object
// (t1).
func created(f *fixture, nick string) string {
	f.t.Helper()
	id := f.user(nick, nil)
	f.assign(id)
	if out := f.process(userReq(id)); out.Action != engine.ActionCreate || out.TargetID != "t1" {
		f.t.Fatalf("creating %s: %s/%s %s %q", nick, out.Status, out.Action, out.Code, out.TargetID)
	}
	return id
}

// then runs the request once and returns the id, for befores that need a
// second step.
func then(f *fixture, id string) string {
	f.t.Helper()
	f.process(userReq(id))
	return id
}

func with(a connector.Attributes, kv ...string) connector.Attributes {
	a = a.Clone()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(a, kv[i])
			continue
		}
		a[kv[i]] = []string{kv[i+1]}
	}
	return a
}

func TestUserOutcomes(t *testing.T) {
	ann := userAttrs("ann", "True")
	annOff := userAttrs("ann", "False")
	noActive := with(ann, "active", "")
	none := map[string]connector.Attributes{}
	cases := []userCase{
		{
			name:   "create",
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			want:   summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			writes: []string{"Create User"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": ann},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				for _, p := range out.Event.ModifiedProperties {
					if p.OldValue != nil || p.NewValue == nil || *p.NewValue != strings.Join(ann[p.DisplayName], ",") {
						t.Errorf("modified %s: old %v new %v, want nil and %q", p.DisplayName, p.OldValue, p.NewValue, ann[p.DisplayName])
					}
				}
				if out.Event.TargetIdentity.ID != "t1" || out.Event.ReportableIdentifier != "ann@contoso.test" {
					t.Errorf("event target %q, reportable %q", out.Event.TargetIdentity.ID, out.Event.ReportableIdentifier)
				}
			},
		},
		{
			name:     "redundant export",
			before:   func(f *fixture) string { return created(f, "ann") },
			want:     summary{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name: "update",
			before: func(f *fixture) string {
				id := created(f, "ann")
				f.setProp(id, "jobTitle", "Lead")
				f.setProp(id, "displayName", "Ann G")
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stUpdate}, []string{"displayName", "title"}},
			writes: []string{"Update User t1 [displayName title]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": with(ann, "title", "Lead", "displayName", "Ann G")},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				old, title := out.Event.ModifiedProperties[0].OldValue, out.Event.ModifiedProperties[1].OldValue
				if old == nil || *old != "ann" || title != nil {
					t.Errorf("old values: displayName %v, title %v; want ann and none", old, title)
				}
			},
		},
		{
			name:   "not entitled: not assigned",
			before: func(f *fixture) string { return f.user("ann", nil) },
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				scoping(map[string]string{"Assigned": "False", "IsActive": "True", "IsEffectivelyEntitledForProvisioning": "False"},
					"1) This object is not assigned to the application.")(t, f, out)
				if calls := f.tgt.Calls()[f.calls:]; len(calls) != 0 {
					t.Errorf("target calls %v, want none for an object never provisioned and out of scope", calls)
				}
			},
		},
		{
			name: "not entitled: disabled",
			before: func(f *fixture) string {
				id := f.user("ann", nil)
				f.assign(id)
				f.editUser(id, func(u *store.User) { u.AccountEnabled = false })
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check:  scoping(map[string]string{"Assigned": "True", "IsActive": "False", "IsEffectivelyEntitledForProvisioning": "False"}, "1) This object is disabled or deleted in the source system."),
		},
		{
			name: "not entitled: soft-deleted",
			before: func(f *fixture) string {
				id := f.user("ann", nil)
				f.assign(id)
				f.editUser(id, func(u *store.User) { u.Deleted = &epoch })
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				scoping(map[string]string{"IsActive": "False"}, "1) This object is disabled or deleted in the source system.")(t, f, out)
				if v, _ := out.Event.ProvisioningSteps[0].Details.Get("IsSoftDeleted"); v != "True" {
					t.Errorf("import IsSoftDeleted = %q, want True", v)
				}
			},
		},
		{
			name:   "not entitled: scoping filter",
			schema: salesOnly,
			before: func(f *fixture) string {
				id := f.user("ann", map[string]any{"department": "HR"})
				f.assign(id)
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check: scoping(map[string]string{"Assigned": "True", "IsActive": "True", "IsEffectivelyEntitledForProvisioning": "True",
				"IsInProvisioningScopeDisplayName": "False", "sales department EQUALS 'Sales'": "False",
				"ScopeEvaluationResult": `{"sales department EQUALS 'Sales'":"False"}`}, "1) This object does not pass the scoping filters."),
		},
		{
			name:   "not entitled: several reasons",
			schema: salesOnly,
			before: func(f *fixture) string {
				id := f.user("ann", map[string]any{"department": "HR"})
				f.editUser(id, func(u *store.User) { u.AccountEnabled = false })
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check: scoping(nil, "1) This object is not assigned to the application. 2) This object is disabled or deleted in the source system. "+
				"3) This object does not pass the scoping filters."),
		},
		{
			name:   "SyncAll: unassigned user is created",
			job:    func(j *engine.Job) { j.SyncAll = true },
			before: func(f *fixture) string { return f.user("ann", nil) },
			want:   summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			writes: []string{"Create User"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": ann},
			check:  scoping(map[string]string{"Assigned": "False", "ScopeSyncAll": "True", "IsEffectivelyEntitledForProvisioning": "True"}, ""),
		},
		{
			name: "SyncAll: a disabled user is not entitled",
			job:  func(j *engine.Job) { j.SyncAll = true },
			before: func(f *fixture) string {
				id := f.user("ann", nil)
				f.editUser(id, func(u *store.User) { u.AccountEnabled = false })
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "NotEffectivelyEntitled", []string{stImport, stOutOfScope, stSkip}, nil},
			target: none,
			check:  scoping(map[string]string{"ScopeSyncAll": "True", "IsActive": "False"}, "1) This object is disabled or deleted in the source system."),
		},
		{
			name:   "disable on leaving the scoping filter",
			schema: salesOnly,
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			want:   summary{engine.StatusSuccess, engine.ActionDisable, "", []string{stImport, stOutOfScope, stMatched, stDisable}, []string{"active"}},
			// Deprovisioning writes only what reads IsSoftDeleted: the
			// department stays as it was.
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": annOff},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				p := out.Event.ModifiedProperties[0]
				if p.OldValue == nil || *p.OldValue != "True" || p.NewValue == nil || *p.NewValue != "False" {
					t.Errorf("active: old %v new %v, want True → False", p.OldValue, p.NewValue)
				}
			},
		},
		{
			name: "disable when unassigned",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.DeleteAppRoleAssignment(f.t.Context(), "a1"))
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionDisable, "", []string{stImport, stOutOfScope, stMatched, stDisable}, []string{"active"}},
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": annOff},
		},
		{
			name: "disable when disabled in the source",
			before: func(f *fixture) string {
				id := created(f, "ann")
				f.editUser(id, func(u *store.User) { u.AccountEnabled = false })
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionDisable, "", []string{stImport, stOutOfScope, stMatched, stDisable}, []string{"active"}},
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": annOff},
		},
		{
			name: "disable when soft-deleted in the source",
			before: func(f *fixture) string {
				id := created(f, "ann")
				f.editUser(id, func(u *store.User) { u.Deleted = &epoch })
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionDisable, "", []string{stImport, stOutOfScope, stMatched, stDisable}, []string{"active"}},
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": annOff},
		},
		{
			name:   "out of scope again: already disabled",
			schema: salesOnly,
			before: func(f *fixture) string {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				return then(f, id)
			},
			want:     summary{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stOutOfScope, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": annOff},
		},
		{
			name:   "re-enable on return to scope",
			schema: salesOnly,
			before: func(f *fixture) string {
				id := created(f, "ann")
				f.setProp(id, "department", "HR")
				then(f, id)
				f.setProp(id, "department", "Sales")
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stUpdate}, []string{"active"}},
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name: "re-enable on reassignment",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.DeleteAppRoleAssignment(f.t.Context(), "a1"))
				then(f, id)
				f.assign(id)
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionUpdate, "", []string{stImport, stInScope, stMatched, stUpdate}, []string{"active"}},
			writes: []string{"Update User t1 [active]"}, targetID: "t1", anchor: "t1",
			target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name:   "delete on leaving scope without an IsSoftDeleted mapping",
			schema: all(salesOnly, withoutSoftDelete),
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			want:   summary{engine.StatusSuccess, engine.ActionDelete, "", []string{stImport, stOutOfScope, stMatched, stDelete}, nil},
			writes: []string{"Delete User t1"}, targetID: "t1", anchor: "", target: none,
		},
		{
			name:     "ObjectDeleteNotAllowed",
			schema:   all(salesOnly, withoutSoftDelete, flowTypes("Add,Update")),
			before:   func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			want:     summary{engine.StatusSkipped, engine.ActionOther, "ObjectDeleteNotAllowed", []string{stImport, stOutOfScope, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": noActive},
		},
		{
			name:   "ObjectAddNotAllowed",
			schema: flowTypes("Update,Delete"),
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			want:   summary{engine.StatusSkipped, engine.ActionOther, "ObjectAddNotAllowed", []string{stImport, stInScope, stNoMatch, stSkip}, nil},
			target: none,
		},
		{
			name:   "ObjectUpdateNotAllowed",
			schema: flowTypes("Add"),
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "jobTitle", "Lead"); return id },
			// Nothing was written, so no property was modified.
			want:     summary{engine.StatusSkipped, engine.ActionOther, "ObjectUpdateNotAllowed", []string{stImport, stInScope, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name:     "ObjectUpdateNotAllowed: no disable either",
			schema:   all(salesOnly, flowTypes("Add,Delete")),
			before:   func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			want:     summary{engine.StatusSkipped, engine.ActionOther, "ObjectUpdateNotAllowed", []string{stImport, stOutOfScope, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name:     "SkipOutOfScopeDeletions",
			schema:   salesOnly,
			job:      func(j *engine.Job) { j.SkipOutOfScopeDeletions = true },
			before:   func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			want:     summary{engine.StatusSkipped, engine.ActionOther, "SkipOutOfScopeDeletions", []string{stImport, stOutOfScope, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name: "DuplicateTargetEntries",
			schema: func(s *schema.Schema) {
				setMapping("userName", "[userPrincipalName]", 0)(s)
				setMapping("externalId", "[mailNickname]", 1)(s)
			},
			before: func(f *fixture) string {
				for _, n := range []string{"dup1", "dup2"} {
					if _, err := f.tgt.Create(f.t.Context(), "User", connector.Attributes{"userName": {n + "@target.test"}, "externalId": {"dan"}}); err != nil {
						f.t.Fatal(err)
					}
				}
				id := f.user("dan", nil)
				f.assign(id)
				return id
			},
			want: summary{engine.StatusFailure, engine.ActionOther, "DuplicateTargetEntries", []string{stImport, stInScope, stMatchFail}, nil},
			target: map[string]connector.Attributes{
				"t1": {"userName": {"dup1@target.test"}, "externalId": {"dan"}},
				"t2": {"userName": {"dup2@target.test"}, "externalId": {"dan"}},
			},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				d := out.Event.ProvisioningSteps[2].Details
				if d1, _ := d.Get("Match 1 id"); d1 != "t1" {
					t.Errorf("Match 1 id = %q, want t1", d1)
				}
				if d2, _ := d.Get("Match 2 id"); d2 != "t2" {
					t.Errorf("Match 2 id = %q, want t2", d2)
				}
				category(t, out, "NonServiceFailure")
			},
		},
		{
			name: "ImportSkipped: no value for any matching attribute",
			schema: func(s *schema.Schema) {
				setMapping("userName", "[userPrincipalName]", 0)(s)
				setMapping(empNumber, "[employeeId]", 1)(s)
			},
			before: func(f *fixture) string { id := f.user("fay", nil); f.assign(id); return id },
			want:   summary{engine.StatusSkipped, engine.ActionOther, "ImportSkipped", []string{stImport, stInScope, stSkip}, nil},
			target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if calls := f.tgt.Calls()[f.calls:]; len(calls) != 0 {
					t.Errorf("target calls %v, want none: there was nothing to match by", calls)
				}
			},
		},
		{
			name: "target conflict on create",
			schema: func(s *schema.Schema) {
				setMapping("userName", "[userPrincipalName]", 0)(s)
				setMapping(empNumber, "[employeeId]", 1)(s)
			},
			before: func(f *fixture) string {
				if _, err := f.tgt.Create(f.t.Context(), "User", connector.Attributes{"userName": {"eve@contoso.test"}}); err != nil {
					f.t.Fatal(err)
				}
				id := f.user("eve", map[string]any{"employeeId": "E-7"})
				f.assign(id)
				return id
			},
			want: summary{engine.StatusFailure, engine.ActionOther, "EntryConflict", []string{stImport, stInScope, stNoMatch, stAddFail},
				[]string{"userName", "active", "displayName", workEmail, "name.givenName", "name.familyName", "name.formatted", "externalId", empNumber, dept}},
			writes: []string{"Create User"},
			target: map[string]connector.Attributes{"t1": {"userName": {"eve@contoso.test"}}},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if out.Kind != connector.KindConflict {
					t.Errorf("kind %v, want Conflict", out.Kind)
				}
				category(t, out, "NonServiceFailure")
			},
		},
		{
			name: "anchored target object vanished: created again",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.tgt.Delete(f.t.Context(), "User", "t1"))
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionCreate, "", []string{stImport, stInScope, stNoMatch, stAdd}, createdNames},
			writes: []string{"Create User"}, targetID: "t2", anchor: "t2",
			target: map[string]connector.Attributes{"t2": ann},
		},
		{
			name: "anchored target object vanished: matched again",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.tgt.Delete(f.t.Context(), "User", "t1"))
				if _, err := f.tgt.Create(f.t.Context(), "User", ann); err != nil {
					f.t.Fatal(err)
				}
				return id
			},
			want:     summary{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stImport, stInScope, stMatched, stSkip}, nil},
			targetID: "t2", anchor: "t2", target: map[string]connector.Attributes{"t2": ann},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if d := out.Event.ProvisioningSteps[2].Description; !strings.Contains(d, "(matched by userName)") {
					t.Errorf("matching step %q, want it matched by userName", d)
				}
			},
		},
		{
			name: "hard-deleted: deleted in the target",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return id
			},
			want:   summary{engine.StatusSuccess, engine.ActionDelete, "", []string{stGone, stMatched, stDelete}, nil},
			writes: []string{"Delete User t1"}, targetID: "t1", anchor: "", target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				// One read of the target object, before the delete: none
				// after it, by a read ahead still under way.
				var calls []string
				for _, c := range f.tgt.Calls()[f.calls:] {
					calls = append(calls, string(c.Op)+" "+c.ID)
				}
				if d := cmp.Diff([]string{"Get t1", "Delete t1"}, calls); d != "" {
					t.Errorf("target calls (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "hard-deleted: gone from the target too",
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.tgt.Delete(f.t.Context(), "User", "t1"))
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return id
			},
			want:   summary{engine.StatusSkipped, engine.ActionOther, "RedundantExport", []string{stGone, stSkip}, nil},
			anchor: "", target: none,
		},
		{
			name:   "hard-deleted: ObjectDeleteNotAllowed",
			schema: flowTypes("Add,Update"),
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return id
			},
			want:     summary{engine.StatusSkipped, engine.ActionOther, "ObjectDeleteNotAllowed", []string{stGone, stMatched, stSkip}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
		},
		{
			name:   "expression Error(): ExpressionError",
			schema: setMapping("title", `IIF(IsPresent([jobTitle]), [jobTitle], Error("Every user needs a jobTitle."))`, 0),
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			want:   summary{engine.StatusFailure, engine.ActionOther, "ExpressionError", []string{stImport, stInScope, stNoMatch, stAddFail}, nil},
			target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if out.Message != "Every user needs a jobTitle." {
					t.Errorf("message %q, want the expression's own", out.Message)
				}
				category(t, out, "NonServiceFailure")
			},
		},
		{
			name:   "expression Error() in a matching attribute",
			schema: setMapping("userName", `Error("No userName today.")`, 1),
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			want:   summary{engine.StatusFailure, engine.ActionOther, "ExpressionError", []string{stImport, stInScope, stMatchFail}, nil},
			target: none,
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if out.Message != "No userName today." {
					t.Errorf("message %q, want the expression's own", out.Message)
				}
			},
		},
		{
			name:     "expression evaluation failure",
			schema:   setMapping("title", `CDate([jobTitle])`, 0),
			before:   func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "jobTitle", "Lead"); return id },
			want:     summary{engine.StatusFailure, engine.ActionOther, "ExpressionEvaluationFailure", []string{stImport, stInScope, stMatched, stUpdateFail}, nil},
			targetID: "t1", anchor: "t1", target: map[string]connector.Attributes{"t1": ann},
			check: func(t *testing.T, f *fixture, out *engine.Outcome) {
				if !strings.Contains(out.Message, "target attribute 'title'") || !strings.Contains(out.Message, `cannot parse "Lead" as a date`) {
					t.Errorf("message %q, want the attribute and the cause", out.Message)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.schema)
			if c.job != nil {
				c.job(f.job)
			}
			id := c.before(f)
			logs := len(f.logs())
			f.mark()
			out := f.process(userReq(id))
			if d := cmp.Diff(c.want, summarize(out)); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
			checkEvent(t, out)
			if d := cmp.Diff(c.writes, f.writes()); d != "" {
				t.Errorf("target writes (-want +got):\n%s", d)
			}
			if out.TargetID != c.targetID {
				t.Errorf("TargetID %q, want %q", out.TargetID, c.targetID)
			}
			if got := f.anchor("User", id); got != c.anchor {
				t.Errorf("anchor → %q, want %q", got, c.anchor)
			}
			got := map[string]connector.Attributes{}
			for _, o := range f.tgt.Objects("User") {
				got[o.ID] = o.Attrs
			}
			if d := cmp.Diff(c.target, got); d != "" {
				t.Errorf("target users (-want +got):\n%s", d)
			}
			if n := len(f.logs()); n != logs+1 {
				t.Errorf("%d provisioning logs written, want 1", n-logs)
			}
			checkLogged(t, f, out)
			if c.check != nil {
				c.check(t, f, out)
			}
		})
	}
}

// checkLogged checks that the provisioning log holds the outcome's event.
func checkLogged(t *testing.T, f *fixture, out *engine.Outcome) {
	t.Helper()
	ev, ok := f.loggedEvent(out.Event.ChangeID)
	if !ok {
		t.Errorf("no provisioning log for change %s", out.Event.ChangeID)
		return
	}
	want, _ := json.Marshal(&out.Event)
	got, _ := json.Marshal(&ev)
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("logged event differs from the outcome's (-want +got):\n%s", d)
	}
}

// scoping checks the scoping step's details and the skip message's reasons.
func scoping(details map[string]string, reasons string) func(*testing.T, *fixture, *engine.Outcome) {
	return func(t *testing.T, f *fixture, out *engine.Outcome) {
		t.Helper()
		d := out.Event.ProvisioningSteps[1].Details
		for k, want := range details {
			if got, _ := d.Get(k); got != want {
				t.Errorf("scoping %s = %q, want %q", k, got, want)
			}
		}
		if reasons != "" && !strings.Contains(out.Message, "skipped due to the following reasons: "+reasons+" If you did not expect") {
			t.Errorf("message %q, want the reasons %q", out.Message, reasons)
		}
	}
}

func category(t *testing.T, out *engine.Outcome, want string) {
	t.Helper()
	if c := out.Event.StatusInfo.ErrorCategory; c == nil || *c != want {
		t.Errorf("errorCategory %v, want %s", c, want)
	}
}

// meeting is the memory store whose first two GetAnchor calls wait for
// each other: the import's and the read ahead's, so the read ahead is sure
// to find the anchor before anything is deleted.
type meeting struct {
	*memory.Store
	calls atomic.Int32
	both  chan struct{}
}

func (s *meeting) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	n := s.calls.Add(1)
	if n == 2 {
		close(s.both)
	}
	if n <= 2 {
		<-s.both
	}
	return s.Store.GetAnchor(ctx, jobID, sourceType, sourceID)
}

// TestHardDeletedReadsTargetOnce: the hard-deleted path works from the
// anchor and target object read ahead, so the target object is read once,
// before it is deleted, and nothing reads it after.
func TestHardDeletedReadsTargetOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, nil)
		id := created(f, "ann")
		must(t, f.st.PurgeUser(t.Context(), id))
		f.useState(&meeting{Store: f.st, both: make(chan struct{})})
		f.mark()
		if out := f.process(userReq(id)); out.Action != engine.ActionDelete {
			t.Fatalf("outcome %s/%s %s, want Delete", out.Status, out.Action, out.Code)
		}
		var calls []string
		for _, c := range f.tgt.Calls()[f.calls:] {
			calls = append(calls, string(c.Op)+" "+c.ID)
		}
		if d := cmp.Diff([]string{"Get t1", "Delete t1"}, calls); d != "" {
			t.Errorf("target calls (-want +got):\n%s", d)
		}
	})
}

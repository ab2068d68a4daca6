package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/engine"
	"provisiond/schema"
)

// TestTargetRefusals makes every target call the pipeline makes fail with
// every connector.Kind: the outcome is a Failure with the code Entra
// reports for the status, the connector error's Kind and RetryAfter kept,
// and a failed step where the call was made. Nothing is anchored anew.
func TestTargetRefusals(t *testing.T) {
	kinds := []struct {
		kind       connector.Kind
		retryAfter float64
		code       string
		category   string
	}{
		{connector.KindTransient, 2.5, "TooManyRequests", "Failure"},
		{connector.KindTransient, 0, "InternalServerError", "Failure"},
		{connector.KindUnauthorized, 0, "SystemForCrossDomainIdentityManagementCredentialValidationFailure", "Failure"},
		{connector.KindNotFound, 0, "InvalidAnchor", "NonServiceFailure"},
		{connector.KindConflict, 0, "EntryConflict", "NonServiceFailure"},
		{connector.KindInvalid, 0, "SystemForCrossDomainIdentityManagementBadRequest", "NonServiceFailure"},
		{connector.KindUnknown, 0, "WebExceptionProtocolError", "Failure"},
	}
	ops := []struct {
		name   string
		op     memtarget.Op
		schema func(*schema.Schema)
		before func(f *fixture) string
		steps  []string
		mods   []string
		// targetID is the outcome's target id (the object the failed
		// export was for); anchor the anchor's afterwards.
		targetID, anchor string
		// skipNotFound: a KindNotFound answer here is no refusal (the
		// anchored object vanished and is matched afresh).
		skipNotFound bool
	}{
		{
			name: "create", op: memtarget.OpCreate,
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			steps:  []string{stImport, stInScope, stNoMatch, stAddFail}, mods: createdNames,
		},
		{
			name: "find", op: memtarget.OpFind,
			before: func(f *fixture) string { id := f.user("ann", nil); f.assign(id); return id },
			steps:  []string{stImport, stInScope, stMatchFail},
		},
		{
			name: "get by anchor", op: memtarget.OpGet, skipNotFound: true,
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "jobTitle", "Lead"); return id },
			steps:  []string{stImport, stInScope, stMatchFail}, anchor: "t1",
		},
		{
			name: "update", op: memtarget.OpUpdate,
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "jobTitle", "Lead"); return id },
			steps:  []string{stImport, stInScope, stMatched, stUpdateFail}, mods: []string{"title"}, targetID: "t1", anchor: "t1",
		},
		{
			name: "disable", op: memtarget.OpUpdate, schema: salesOnly,
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			steps:  []string{stImport, stOutOfScope, stMatched, "EntryExportUpdateSoftDelete/Export/Failure"}, mods: []string{"active"}, targetID: "t1", anchor: "t1",
		},
		{
			name: "delete out of scope", op: memtarget.OpDelete, schema: all(salesOnly, withoutSoftDelete),
			before: func(f *fixture) string { id := created(f, "ann"); f.setProp(id, "department", "HR"); return id },
			steps:  []string{stImport, stOutOfScope, stMatched, "EntryExportDelete/Export/Failure"}, targetID: "t1", anchor: "t1",
			// A target that says the object is gone already is no failure.
			skipNotFound: true,
		},
		{
			name: "delete hard-deleted", op: memtarget.OpDelete,
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return id
			},
			steps: []string{stGone, stMatched, "EntryExportDelete/Export/Failure"}, targetID: "t1", anchor: "t1", skipNotFound: true,
		},
		{
			name: "get hard-deleted", op: memtarget.OpGet, skipNotFound: true,
			before: func(f *fixture) string {
				id := created(f, "ann")
				must(f.t, f.st.PurgeUser(f.t.Context(), id))
				return id
			},
			steps: []string{stGone, stMatchFail}, anchor: "t1",
		},
	}
	for _, op := range ops {
		for _, k := range kinds {
			if op.skipNotFound && k.kind == connector.KindNotFound {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s %v", op.name, k.kind, k.retryAfter), func(t *testing.T) {
				f := newFixture(t, op.schema)
				id := op.before(f)
				before := f.tgt.Objects("User")
				logs := len(f.logs())
				injected := memtarget.Failure(k.kind, k.retryAfter)
				f.tgt.FailNext(op.op, 1, injected)
				out := f.process(userReq(id))
				want := summary{engine.StatusFailure, engine.ActionOther, k.code, op.steps, op.mods}
				if d := cmp.Diff(want, summarize(out)); d != "" {
					t.Errorf("outcome (-want +got):\n%s", d)
				}
				checkEvent(t, out)
				category(t, out, k.category)
				if out.Kind != k.kind || out.RetryAfter != time.Duration(k.retryAfter*float64(time.Second)) {
					t.Errorf("Kind %v RetryAfter %v, want %v %vs", out.Kind, out.RetryAfter, k.kind, k.retryAfter)
				}
				if out.Message != injected.Error() {
					t.Errorf("message %q, want the target's %q", out.Message, injected.Error())
				}
				if msg := out.Event.ProvisioningSteps[len(op.steps)-1].Description; msg != out.Message {
					t.Errorf("failed step says %q, want %q", msg, out.Message)
				}
				if out.TargetID != op.targetID {
					t.Errorf("TargetID %q, want %q", out.TargetID, op.targetID)
				}
				if got := f.anchor("User", id); got != op.anchor {
					t.Errorf("anchor → %q, want %q", got, op.anchor)
				}
				if d := cmp.Diff(before, f.tgt.Objects("User")); d != "" {
					t.Errorf("target changed (-before +after):\n%s", d)
				}
				if n := len(f.logs()); n != logs+1 {
					t.Errorf("%d provisioning logs written, want 1", n-logs)
				}
				checkLogged(t, f, out)
			})
		}
	}
}

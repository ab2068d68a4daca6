package jobs

import (
	"errors"
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/schema"
)

// TestOnDemandOfADeletedJob: a job deleted while its provisionOnDemand
// waits on the target is a not-found error saying so, not an internal
// error once the target was written.
func TestOnDemandOfADeletedJob(t *testing.T) {
	f := newCycleFixture(t, nil)
	u := f.users(1)[0]
	sp, err := f.st.GetServicePrincipal(t.Context(), fxSP)
	f.must(err)
	j, err := f.st.GetJob(t.Context(), fxSP, fxJob)
	f.must(err)
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate {
			f.must(f.st.DeleteJob(t.Context(), fxSP, fxJob))
		}
		return nil
	})
	_, err = f.svc.ProvisionOnDemand(t.Context(), sp, j, OnDemand{RuleID: schema.SCIMUserRuleID, Subject: Subject{ObjectID: u, ObjectTypeName: "User"}})
	var je *Error
	if !errors.As(err, &je) || !je.NotFound || !strings.Contains(je.Message, "was deleted while provisionOnDemand ran") {
		t.Fatalf("ProvisionOnDemand = %v, want a not-found error about the deleted job", err)
	}
	if n := len(f.tgt.Objects(connector.TypeUser)); n != 1 {
		t.Errorf("the target holds %d users, want the 1 created before the delete", n)
	}
}

package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/directory"
	"provisiond/schema"
	"provisiond/store"
)

// TestOnDemandOfADeletedJob: a job deleted while its provisionOnDemand
// waits on the target is a not-found error saying so, not an internal
// error once the target was written.
func TestOnDemandOfADeletedJob(t *testing.T) {
	f := newCycleFixture(t, nil)
	u := f.users(1)[0]
	sp, j := f.spAndJob()
	f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpCreate {
			f.must(f.st.DeleteJob(t.Context(), fxSP, fxJob))
		}
		return nil
	})
	_, err := f.svc.ProvisionOnDemand(t.Context(), sp, j, OnDemand{RuleID: schema.SCIMUserRuleID, Subject: Subject{ObjectID: u, ObjectTypeName: "User"}})
	var je *Error
	if !errors.As(err, &je) || !je.NotFound || !strings.Contains(je.Message, "was deleted while provisionOnDemand ran") {
		t.Fatalf("ProvisionOnDemand = %v, want a not-found error about the deleted job", err)
	}
	if n := len(f.tgt.Objects(connector.TypeUser)); n != 1 {
		t.Errorf("the target holds %d users, want the 1 created before the delete", n)
	}
}

// TestStoredSchemaWritingTheDirectoryDoesNotRun: an application's job whose
// stored schema writes the directory (stored before PUT schema refused it)
// neither provisions on demand nor runs a cycle: who may run a job depends
// on what it writes (found by a review).
func TestStoredSchemaWritingTheDirectoryDoesNotRun(t *testing.T) {
	f := newCycleFixture(t, nil)
	u := f.users(1)[0]
	sc := schema.SCIMSchema()
	sc.SynchronizationRules[0].TargetDirectoryName = schema.DirectoryEntra
	raw, err := json.Marshal(sc)
	f.must(err)
	_, err = f.st.UpdateJob(t.Context(), fxSP, fxJob, func(j *store.Job) error {
		j.Schema, j.Updated = raw, j.Updated.Add(time.Second)
		return nil
	})
	f.must(err)
	sp, j := f.spAndJob()
	_, err = f.svc.ProvisionOnDemand(t.Context(), sp, j, OnDemand{RuleID: schema.SCIMUserRuleID, Subject: Subject{ObjectID: u, ObjectTypeName: "User"}})
	var je *Error
	if !errors.As(err, &je) || !strings.Contains(je.Message, "writes to 'Azure Active Directory'") {
		t.Errorf("ProvisionOnDemand = %v, want it refused for writing the directory", err)
	}
	if _, err := f.cycle(); err == nil {
		t.Error("the cycle ran")
	}
	if n := len(f.tgt.Objects(connector.TypeUser)); n != 0 {
		t.Errorf("the target holds %d users, want none", n)
	}
}

// failingSource is a source that cannot read anything: down, or pointed
// at the wrong server.
type failingSource struct {
	connector.Source
	err *connector.Error
}

func (s failingSource) Get(context.Context, string, string) (connector.Object, error) {
	return connector.Object{}, s.err
}

// A source that cannot be read is the job's configuration to fix, not
// the service's failure: the error names the source and what to check,
// where it was an unclassified error (the API's 500; found by an audit).
func TestOnDemandSourceUnreadable(t *testing.T) {
	f := newCycleFixture(t, nil)
	u := f.users(1)[0]
	sp, j := f.spAndJob()
	for _, kind := range []connector.Kind{connector.KindTransient, connector.KindUnauthorized, connector.KindInvalid} {
		f.svc.reg.Sources[schema.DirectoryEntra] = func(_ context.Context, c Config) (connector.Source, error) {
			return failingSource{directory.NewSource(f.st, c.ServicePrincipal.ID), &connector.Error{Kind: kind, Message: "cannot connect to 127.0.0.1:1"}}, nil
		}
		_, err := f.svc.ProvisionOnDemand(t.Context(), sp, j, OnDemand{RuleID: schema.SCIMUserRuleID, Subject: Subject{ObjectID: u, ObjectTypeName: "User"}})
		var je *Error
		if !errors.As(err, &je) || !je.Connect || !strings.Contains(je.Message, "cannot connect to 127.0.0.1:1") || !strings.Contains(je.Message, "validateCredentials") {
			t.Errorf("%s: ProvisionOnDemand = %#v, want a connect error naming the source's failure", kind, err)
		}
	}
	if n := len(f.tgt.Objects(connector.TypeUser)); n != 0 {
		t.Errorf("the target holds %d users, want none", n)
	}
}

// spAndJob reads the fixture's service principal and job back.
func (f *cycleFixture) spAndJob() (store.ServicePrincipal, store.Job) {
	f.t.Helper()
	sp, err := f.st.GetServicePrincipal(f.t.Context(), fxSP)
	f.must(err)
	j, err := f.st.GetJob(f.t.Context(), fxSP, fxJob)
	f.must(err)
	return sp, j
}

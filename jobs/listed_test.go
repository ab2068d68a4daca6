package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
)

// TestListedTarget: the index read at the start of a cycle finds the
// target's objects by their matching values, case-insensitively, as the
// target would answer: an object renamed or deleted during the cycle is
// not found by its old value, one the cycle creates or renames is found
// by its new one, and an attribute matching does not use is asked of the
// target. Objects kept whole are read from memory; past the budget, from
// the target, which also sees what others deleted.
func TestListedTarget(t *testing.T) {
	for _, budget := range []int{listedBudget, 0} {
		t.Run(fmt.Sprint("budget ", budget), func(t *testing.T) { testListedTarget(t, budget) })
	}
}

func testListedTarget(t *testing.T, budget int) {
	ctx := t.Context()
	n := 0
	tgt := memtarget.New(memtarget.Options{NewID: func() string { n++; return fmt.Sprint("t", n) }})
	for i := range 3 {
		if _, err := tgt.Create(ctx, connector.TypeUser, connector.Attributes{"userName": {fmt.Sprintf("User%d@Example.com", i)}, "displayName": {"U"}}); err != nil {
			t.Fatal(err)
		}
	}
	comp, err := schema.Compile(schema.SCIMSchema())
	if err != nil {
		t.Fatal(err)
	}
	rule := comp.Rules[0]
	var userTarget string
	for _, om := range rule.Objects {
		if om.Mapping.Enabled && om.Mapping.SourceObjectName == "User" {
			userTarget = om.Mapping.TargetObjectName
			if len(om.Matching) == 0 || om.Matching[0].Target != "userName" {
				t.Fatalf("the SCIM schema's users match on %v, want userName", om.Matching)
			}
		}
	}
	got, err := listWithin(ctx, &engine.Job{Rule: rule, Target: tgt}, budget)
	if err != nil {
		t.Fatal(err)
	}
	lt, ok := got.(*listedTarget)
	if !ok {
		t.Fatalf("listTarget gave %T, want the index", got)
	}
	find := func(attr, value string) []string {
		t.Helper()
		hits, err := lt.Find(ctx, userTarget, attr, value)
		if err != nil {
			t.Fatalf("find %s %q: %v", attr, value, err)
		}
		var ids []string
		for _, h := range hits {
			if h.Attrs["displayName"] == nil {
				t.Errorf("hit %s has no attributes: %+v", h.ID, h)
			}
			ids = append(ids, h.ID)
		}
		return ids
	}
	same := func(got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("found %v, want %v", got, want)
		}
	}
	calls := len(tgt.Calls())
	same(find("userName", "user1@example.COM"), "t2")
	if read := len(tgt.Calls()) > calls; read != (budget == 0) {
		t.Errorf("matching a listed object read the target: %v, want %v", read, budget == 0)
	}
	same(find("userName", "nobody@example.com"))

	if err := lt.Update(ctx, userTarget, "t2", connector.Attributes{"userName": {"renamed@example.com"}}); err != nil {
		t.Fatal(err)
	}
	same(find("userName", "user1@example.com"))
	same(find("userName", "Renamed@example.com"), "t2")
	if err := lt.Delete(ctx, userTarget, "t1"); err != nil {
		t.Fatal(err)
	}
	same(find("userName", "user0@example.com"))
	if err := tgt.Delete(ctx, userTarget, "t3"); err != nil { // behind the cycle's back
		t.Fatal(err)
	}
	if budget == 0 {
		same(find("userName", "user2@example.com"))
	} else {
		same(find("userName", "user2@example.com"), "t3") // as listed
	}
	o, err := lt.Create(ctx, userTarget, connector.Attributes{"userName": {"new@example.com"}, "displayName": {"N"}})
	if err != nil {
		t.Fatal(err)
	}
	same(find("userName", "NEW@example.com"), o.ID)
	calls = len(tgt.Calls())
	same(find("displayName", "U"), "t2") // not a matching attribute: the target's answer
	if len(tgt.Calls()) == calls {
		t.Error("a find by displayName did not ask the target")
	}
}

// createdMeanwhile is the cycle's target, where another (an on-demand
// call, another tool) creates the user named userName after the cycle
// has listed the target, just before the cycle creates it.
type createdMeanwhile struct {
	*memtarget.Target
	userName string
	once     sync.Once
	otherID  string
}

func (c *createdMeanwhile) Create(ctx context.Context, typ string, attrs connector.Attributes) (connector.Object, error) {
	if slices.Contains(attrs["userName"], c.userName) {
		c.once.Do(func() {
			o, err := c.Target.Create(ctx, typ, connector.Attributes{"userName": {c.userName}, "displayName": {"made by another"}})
			if err == nil {
				c.otherID = o.ID
			}
		})
	}
	return c.Target.Create(ctx, typ, attrs)
}

// TestCycleLinksWhatOthersCreatedSinceTheListing: matching in a cycle
// answers from the target as listed at its start; when a create is then
// refused as a conflict, the engine matches again against the target
// itself, and links and updates the object another created meanwhile,
// instead of failing it.
func TestCycleLinksWhatOthersCreatedSinceTheListing(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(3)
	racing := &createdMeanwhile{Target: f.tgt, userName: "user01@contoso.test"}
	f.target = racing
	j := f.okCycle()
	if racing.otherID == "" {
		t.Fatal("the other's create did not happen")
	}
	if le := j.Status.LastExecution; le == nil || le.CountEscrowed != 0 || le.CountExported != 3 {
		t.Errorf("last execution %+v, want 3 exported and none escrowed", le)
	}
	if es := f.escrows(); len(es) != 0 {
		t.Errorf("escrows %+v, want none", es)
	}
	var named []connector.Object
	for _, o := range f.tgt.Objects(connector.TypeUser) {
		if v, _ := o.Attrs.Get("userName"); v == racing.userName {
			named = append(named, o)
		}
	}
	if len(named) != 1 || named[0].ID != racing.otherID {
		t.Fatalf("target users named %s: %+v, want the other's %s alone", racing.userName, named, racing.otherID)
	}
	if v, _ := named[0].Attrs.Get("displayName"); v != "user01" {
		t.Errorf("the other's user has displayName %q, want the cycle's update to user01", v)
	}
	a, err := f.st.GetAnchor(t.Context(), fxJob, "User", ids[1])
	if err != nil || a.TargetID != racing.otherID {
		t.Errorf("anchor of %s = %+v, %v; want it linked to %s", ids[1], a, err, racing.otherID)
	}
	if n := f.loggedActions(); n["Create"] != 2 || n["Update"] != 1 {
		t.Errorf("logged actions %v, want 2 creates and the update", n)
	}
}

// TestCycleConflictNothingMatchesStaysAFailure: a create refused as a
// conflict that matching the target itself cannot explain (another unique
// value is taken) fails as before: EntryConflict, escrowed, nothing linked.
func TestCycleConflictNothingMatchesStaysAFailure(t *testing.T) {
	f := newCycleFixture(t, nil)
	ids := f.users(2)
	f.tgt.FailNext(memtarget.OpCreate, 1, memtarget.Failure(connector.KindConflict, 0))
	j := f.okCycle()
	if le := j.Status.LastExecution; le == nil || le.CountEscrowed != 1 || le.CountExported != 1 {
		t.Errorf("last execution %+v, want 1 exported and 1 escrowed", le)
	}
	// The workers create both at once: the refused create is either's.
	es := f.escrows()
	if len(es) != 1 || es[0].Code != "EntryConflict" || !slices.Contains(ids, es[0].SourceID) {
		t.Fatalf("escrows %+v, want one of %v's EntryConflict", es, ids)
	}
	refused, created := es[0].SourceID, ids[0]
	if created == refused {
		created = ids[1]
	}
	users := f.tgt.Objects(connector.TypeUser)
	if len(users) != 1 {
		t.Fatalf("target holds %d users, want 1", len(users))
	}
	if _, err := f.st.GetAnchor(t.Context(), fxJob, "User", refused); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("anchor of the refused %s: %v, want none", refused, err)
	}
	if a, err := f.st.GetAnchor(t.Context(), fxJob, "User", created); err != nil || a.TargetID != users[0].ID {
		t.Errorf("anchor of %s = %+v, %v; want it linked to the target's user %s", created, a, err, users[0].ID)
	}
	finds := 0
	for _, c := range f.tgt.Calls() {
		if c.Op == memtarget.OpFind {
			finds++
		}
	}
	if finds != 1 {
		t.Errorf("the target was asked %d finds, want 1: the match again of the conflicting user", finds)
	}
}

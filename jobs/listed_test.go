package jobs

import (
	"fmt"
	"testing"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/engine"
	"provisiond/schema"
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

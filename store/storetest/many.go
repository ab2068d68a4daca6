package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"provisiond/store"
)

// testManyAtOnce: the reads of many objects in one call (a cycle's page)
// answer as the reads of one object each would, however many ids they are
// given (more than one query's worth too), with ids repeated or unknown;
// CountAnchors counts what GetAnchor finds.
func testManyAtOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "One")), "create g1")
	ok(t, s.CreateGroup(ctx, newGroup("g2", "Two")), "create g2")

	const n = 1100 // over two chunks of the SQL stores' IN lists
	var ids []string
	for i := range n {
		id := fmt.Sprintf("u%04d", i)
		ids = append(ids, id)
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
		if i%3 == 0 {
			ok(t, s.PutAnchor(ctx, newAnchor(j1.ID, id, "t-"+id)), "anchor %s", id)
		}
		if i%5 == 0 {
			ok(t, s.AddMember(ctx, "g1", id), "add %s to g1", id)
		}
		if i%10 == 0 {
			ok(t, s.AddMember(ctx, "g2", id), "add %s to g2", id)
		}
		if i%7 == 0 {
			ok(t, s.CreateAppRoleAssignment(ctx, newAssignment(fmt.Sprintf("a%04d", i), id, "role", sp.ID)), "assign %s", id)
		}
	}
	ok(t, s.PutAnchor(ctx, newAnchor(j2.ID, "u0001", "other-job")), "anchor of j2")
	g := store.Anchor{JobID: j1.ID, SourceType: "Group", SourceID: "u0001", TargetType: "Group", TargetID: "g", Updated: at(9)}
	ok(t, s.PutAnchor(ctx, g), "group anchor named like a user")
	ok(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "ag1", AppRoleID: "role", PrincipalID: "g1", PrincipalType: "Group", ResourceID: sp.ID, Created: at(3)}), "assign g1")

	asked := append(slices.Clone(ids), "u0000", "u0003", "nobody")
	slices.Reverse(asked)
	anchors, err := s.GetAnchors(ctx, j1.ID, "User", asked)
	ok(t, err, "get anchors")
	slices.SortFunc(anchors, func(a, b store.Anchor) int { return strings.Compare(a.SourceID, b.SourceID) })
	var want []store.Anchor
	for _, id := range ids {
		if a, err := s.GetAnchor(ctx, j1.ID, "User", id); err == nil {
			want = append(want, a)
		}
	}
	if len(want) != (n+2)/3 {
		t.Fatalf("GetAnchor found %d anchors, want %d", len(want), (n+2)/3)
	}
	same(t, anchors, want, "anchors of the users of j1 (GetAnchors vs GetAnchor)")
	targets := []string{"nobody", "g", "other-job"}
	for _, a := range slices.Backward(want) {
		targets = append(targets, a.TargetID, a.TargetID)
	}
	byTarget, err := s.GetAnchorsByTarget(ctx, j1.ID, want[0].TargetType, targets)
	ok(t, err, "get anchors by target")
	slices.SortFunc(byTarget, func(a, b store.Anchor) int { return strings.Compare(a.SourceID, b.SourceID) })
	same(t, byTarget, want, "anchors of j1 by target (GetAnchorsByTarget vs GetAnchor): not another job's, nor another target type's")
	groups, err := s.GetAnchorsByTarget(ctx, j1.ID, "Group", []string{"g", "t-u0000"})
	ok(t, err, "get group anchors by target")
	same(t, groups, []store.Anchor{g}, "group anchors of j1 by target")
	noTarget, err := s.GetAnchorsByTarget(ctx, j1.ID, "Group", nil)
	ok(t, err, "get anchors by no target")
	same(t, len(noTarget), 0, "anchors by no target")
	// Paged by source id: the same anchors, not j2's nor the group's.
	var paged []store.Anchor
	for after := ""; ; {
		page, err := s.ListAnchorsAfter(ctx, j1.ID, "User", after, 7)
		ok(t, err, "list anchors after %q", after)
		if len(page) > 7 {
			t.Fatalf("ListAnchorsAfter(limit 7) returned %d anchors", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 7 {
			break
		}
		after = page[len(page)-1].SourceID
	}
	same(t, paged, want, "anchors of the users of j1, paged by ListAnchorsAfter")
	counts, err := s.CountAnchors(ctx, j1.ID)
	ok(t, err, "count anchors")
	same(t, counts, []store.AnchorCount{{SourceType: "Group", TargetType: "Group", N: 1},
		{SourceType: "User", TargetType: newAnchor("", "", "").TargetType, N: (n + 2) / 3}}, "anchors of j1 by type")
	// A source type linked to two target types (its mapping changed):
	// counted by each.
	j3 := mkJob(t, s, sp.ID, "j3")
	for i, tt := range []string{"User", "EnterpriseUser", "User", "User"} {
		ok(t, s.PutAnchor(ctx, store.Anchor{JobID: j3.ID, SourceType: "User", SourceID: fmt.Sprintf("u%04d", i),
			TargetType: tt, TargetID: fmt.Sprintf("t%d", i), Updated: at(9)}), "anchor %d of j3", i)
	}
	ok(t, s.PutAnchor(ctx, store.Anchor{JobID: j3.ID, SourceType: "Group", SourceID: "g1", TargetType: "Group", TargetID: "tg", Updated: at(9)}), "group anchor of j3")
	counts, err = s.CountAnchors(ctx, j3.ID)
	ok(t, err, "count anchors of j3")
	same(t, counts, []store.AnchorCount{{SourceType: "Group", TargetType: "Group", N: 1},
		{SourceType: "User", TargetType: "EnterpriseUser", N: 1}, {SourceType: "User", TargetType: "User", N: 3}}, "anchors of j3 by type")
	counts, err = s.CountAnchors(ctx, "no-such-job")
	ok(t, err, "count anchors of no job")
	same(t, len(counts), 0, "anchors of no job")
	none, err := s.GetAnchors(ctx, j1.ID, "User", nil)
	ok(t, err, "get anchors of no ids")
	same(t, len(none), 0, "anchors of no ids")

	of, err := s.ListMemberOfAll(ctx, append(asked, "g1"))
	ok(t, err, "list member of all")
	wantOf := map[string][]string{}
	for _, id := range ids {
		gs, err := s.ListMemberOf(ctx, id)
		ok(t, err, "list member of %s", id)
		if len(gs) > 0 {
			wantOf[id] = gs
		}
	}
	same(t, len(wantOf), (n+4)/5, "members of any group")
	same(t, of, wantOf, "groups of each user (ListMemberOfAll vs ListMemberOf)")

	as, err := s.ListAppRoleAssignmentsOfAll(ctx, append(asked, "g1", "g2"))
	ok(t, err, "list app role assignments of all")
	wantAs := map[string][]store.AppRoleAssignment{}
	for _, p := range append(slices.Clone(ids), "g1", "g2") {
		l, err := s.ListAppRoleAssignmentsOf(ctx, p)
		ok(t, err, "list assignments of %s", p)
		if len(l) > 0 {
			wantAs[p] = l
		}
	}
	same(t, len(wantAs), (n+6)/7+1, "principals with assignments")
	same(t, as, wantAs, "assignments of each principal (ListAppRoleAssignmentsOfAll vs ListAppRoleAssignmentsOf)")
}

// testAnchorsVersion: a job's anchors version moves with every write of
// its anchors, by any of the calls that write them, and with nothing
// else: not another job's anchors, not logs, not a failed delete.
func testAnchorsVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")
	version := func() int64 {
		t.Helper()
		v, err := s.AnchorsVersion(ctx, j1.ID)
		ok(t, err, "anchors version")
		return v
	}
	last := version()
	step := func(what string, moves bool) {
		t.Helper()
		v := version()
		if moved := v != last; moved != moves {
			t.Errorf("after %s the version went %d → %d; want it moved: %v", what, last, v, moves)
		}
		last = v
	}
	ok(t, s.PutAnchor(ctx, newAnchor(j1.ID, "u1", "t1")), "put u1")
	step("PutAnchor", true)
	ok(t, s.PutAnchor(ctx, newAnchor(j1.ID, "u1", "t1b")), "relink u1")
	step("PutAnchor replacing one", true)
	ok(t, s.PutAnchor(ctx, newAnchor(j2.ID, "u1", "t1")), "put j2's u1")
	step("another job's PutAnchor", false)
	ok(t, s.CommitBatch(ctx, store.Batch{Logs: []store.ProvisioningLog{{ID: "l1", JobID: j1.ID, ServicePrincipalID: sp.ID,
		ChangeID: "c1", Activity: at(1), Data: []byte(`{}`)}}}), "commit logs")
	step("a batch of logs alone", false)
	ok(t, s.CommitBatch(ctx, store.Batch{Anchors: []store.Anchor{newAnchor(j1.ID, "u2", "t2")}}), "commit u2")
	step("a batch with an anchor", true)
	ok(t, s.CommitBatch(ctx, store.Batch{Deleted: []store.AnchorKey{{JobID: j1.ID, SourceType: "User", SourceID: "u2"}}}), "commit the delete of u2")
	step("a batch with a deletion", true)
	if err := s.DeleteAnchor(ctx, j1.ID, "User", "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAnchor(nobody) = %v, want ErrNotFound", err)
	}
	step("a failed DeleteAnchor", false)
	ok(t, s.DeleteAnchor(ctx, j1.ID, "User", "u1"), "delete u1")
	step("DeleteAnchor", true)
	if _, err := s.AnchorsVersion(ctx, "nojob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AnchorsVersion(nojob) = %v, want ErrNotFound", err)
	}
}

package storetest

import (
	"testing"
	"time"

	"provisiond/store"
)

func newEscrow(jobID, sourceType, sourceID string) store.Escrow {
	return store.Escrow{
		JobID: jobID, SourceType: sourceType, SourceID: sourceID, Kind: store.EscrowBase,
		FirstFailed: at(10), Attempts: 1, NextAttempt: at(20),
		Code: "InternalServerError", Message: "status 500: try later", ErrorKind: "Transient",
	}
}

// Escrows are kept per job and source object: put creates or replaces,
// delete needs one to exist, a zero NextAttempt (a permanent error) stays
// zero, list is ordered, clear removes a job's escrows only, and escrows
// go with their job and service principal.
func testEscrows(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")

	isErr(t, s.PutEscrow(ctx, newEscrow("nope", "User", "u1")), store.ErrNotFound, "put escrow of an absent job")
	list, err := s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list escrows of a job without any")
	same(t, list, nil, "escrows of a job without any")

	b := newEscrow(j1.ID, "User", "u2")
	a := newEscrow(j1.ID, "User", "u1")
	g := newEscrow(j1.ID, "Group", "g1")
	g.Kind, g.NextAttempt = store.EscrowReference, at(40)
	perm := newEscrow(j1.ID, "User", "u3")
	perm.NextAttempt, perm.ErrorKind, perm.Code = time.Time{}, "Invalid", "SchemaViolation"
	other := newEscrow(j2.ID, "User", "u1")
	for _, e := range []store.Escrow{b, a, g, perm, other} {
		ok(t, s.PutEscrow(ctx, e), "put escrow %s/%s/%s", e.JobID, e.SourceType, e.SourceID)
	}
	list, err = s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list escrows")
	same(t, list, []store.Escrow{g, a, b, perm}, "escrows ordered by type, then id")
	if !list[3].NextAttempt.IsZero() {
		t.Errorf("a zero NextAttempt came back as %v", list[3].NextAttempt)
	}

	// Put replaces.
	a.Attempts, a.NextAttempt, a.Message = 2, at(30), "status 503"
	ok(t, s.PutEscrow(ctx, a), "replace escrow")
	list, err = s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list escrows after replace")
	same(t, list, []store.Escrow{g, a, b, perm}, "escrows after replace")

	ok(t, s.DeleteEscrow(ctx, j1.ID, "User", "u2"), "delete escrow")
	isErr(t, s.DeleteEscrow(ctx, j1.ID, "User", "u2"), store.ErrNotFound, "delete deleted escrow")
	isErr(t, s.DeleteEscrow(ctx, j1.ID, "Group", "u1"), store.ErrNotFound, "delete escrow of another source type")
	list, err = s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list escrows after delete")
	same(t, list, []store.Escrow{g, a, perm}, "escrows after delete")

	ok(t, s.ClearEscrows(ctx, j1.ID), "clear escrows")
	ok(t, s.ClearEscrows(ctx, j1.ID), "clear no escrows")
	list, err = s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list cleared escrows")
	same(t, list, nil, "escrows after clear")
	list, err = s.ListEscrows(ctx, j2.ID)
	ok(t, err, "list the other job's escrows")
	same(t, list, []store.Escrow{other}, "the other job's escrows after clearing j1's")

	ok(t, s.PutEscrow(ctx, a), "put escrow again")
	ok(t, s.DeleteJob(ctx, sp.ID, j1.ID), "delete job")
	mkJob(t, s, sp.ID, j1.ID)
	list, err = s.ListEscrows(ctx, j1.ID)
	ok(t, err, "list escrows of a recreated job")
	same(t, list, nil, "escrows of a recreated job")
	ok(t, s.DeleteServicePrincipal(ctx, sp.ID), "delete service principal")
	list, err = s.ListEscrows(ctx, j2.ID)
	ok(t, err, "list escrows after the service principal went")
	same(t, list, nil, "escrows after the service principal went")
}

// Staged deletes are replaced as a set, atomically; the last of a key
// given twice wins; an empty set clears them; they go with their job.
func testStagedDeletes(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")
	d := func(typ, id, action string, n int) store.StagedDelete {
		return store.StagedDelete{JobID: j1.ID, SourceType: typ, SourceID: id, Action: action, Staged: at(n)}
	}
	isErr(t, s.PutStagedDeletes(ctx, "nope", []store.StagedDelete{d("User", "u1", "Disable", 1)}), store.ErrNotFound, "put staged deletes of an absent job")
	list, err := s.ListStagedDeletes(ctx, j1.ID)
	ok(t, err, "list staged deletes of a job without any")
	same(t, list, nil, "staged deletes of a job without any")

	ok(t, s.PutStagedDeletes(ctx, j1.ID, []store.StagedDelete{
		d("User", "u2", "Disable", 1), d("Group", "g1", "Delete", 2), d("User", "u1", "Disable", 3), d("User", "u2", "Delete", 4),
	}), "put staged deletes")
	ok(t, s.PutStagedDeletes(ctx, j2.ID, []store.StagedDelete{{SourceType: "User", SourceID: "x", Action: "Disable", Staged: at(5)}}), "put the other job's")
	list, err = s.ListStagedDeletes(ctx, j1.ID)
	ok(t, err, "list staged deletes")
	same(t, list, []store.StagedDelete{d("Group", "g1", "Delete", 2), d("User", "u1", "Disable", 3), d("User", "u2", "Delete", 4)}, "staged deletes")

	ok(t, s.PutStagedDeletes(ctx, j1.ID, []store.StagedDelete{d("User", "u9", "Disable", 6)}), "replace staged deletes")
	list, err = s.ListStagedDeletes(ctx, j1.ID)
	ok(t, err, "list replaced staged deletes")
	same(t, list, []store.StagedDelete{d("User", "u9", "Disable", 6)}, "replaced staged deletes")

	ok(t, s.PutStagedDeletes(ctx, j1.ID, nil), "clear staged deletes")
	list, err = s.ListStagedDeletes(ctx, j1.ID)
	ok(t, err, "list cleared staged deletes")
	same(t, list, nil, "cleared staged deletes")
	list, err = s.ListStagedDeletes(ctx, j2.ID)
	ok(t, err, "list the other job's staged deletes")
	same(t, list, []store.StagedDelete{{JobID: j2.ID, SourceType: "User", SourceID: "x", Action: "Disable", Staged: at(5)}}, "the other job's staged deletes")

	ok(t, s.DeleteJob(ctx, sp.ID, j2.ID), "delete job")
	mkJob(t, s, sp.ID, j2.ID)
	list, err = s.ListStagedDeletes(ctx, j2.ID)
	ok(t, err, "list staged deletes of a recreated job")
	same(t, list, nil, "staged deletes of a recreated job")
}

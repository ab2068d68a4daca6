package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"provisiond/store"
)

// queryLogs is a small set of logs with every queryable field set, for
// the QueryProvisioningLogs cases.
func queryLogs(jobs [2]string, spID string) []store.ProvisioningLog {
	mk := func(id string, job int, sec int, cycle, action, status, src, name, target string) store.ProvisioningLog {
		l := newLog(id, jobs[job], spID, at(sec))
		l.CycleID, l.Action, l.Status = cycle, action, status
		l.SourceID, l.SourceName, l.TargetID = src, name, target
		return l
	}
	return []store.ProvisioningLog{
		mk("q1", 0, 10, "c1", "Create", "Success", "u1", "Alice Adams", "t1"),
		mk("q2", 0, 20, "c1", "Update", "Failure", "u2", "Bob_Brown", "t2"),
		mk("q3", 0, 20, "c2", "Other", "Skipped", "u3", "carol 100%", ""),
		mk("q4", 1, 30, "c3", "Create", "Success", "U4", "Dave", "t4"),
		mk("q5", 1, 40, "", "Disable", "Success", "u1", "Alice Adams", "t9"),
		mk("q6", 0, 50, "c2", "StagedDelete", "Skipped", "u6", "", "t6"),
	}
}

func testQueryProvisioningLogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j1 := mkJob(t, s, sp.ID, "j1")
	j2 := mkJob(t, s, sp.ID, "j2")
	logs := queryLogs([2]string{j1.ID, j2.ID}, sp.ID)
	for _, l := range logs {
		ok(t, s.AddProvisioningLog(ctx, l), "add log %s", l.ID)
	}
	str := func(op store.LogOp, f store.LogField, v string) store.LogCond {
		return store.LogCond{Op: op, Field: f, Value: v}
	}
	tm := func(op store.LogOp, sec int) store.LogCond {
		return store.LogCond{Op: op, Field: store.LogActivity, Time: at(sec)}
	}
	and := func(cs ...store.LogCond) store.LogCond { return store.LogCond{Op: store.LogAnd, Args: cs} }
	or := func(cs ...store.LogCond) store.LogCond { return store.LogCond{Op: store.LogOr, Args: cs} }
	tests := []struct {
		name string
		c    store.LogCond
		want []string // newest first
	}{
		{"job eq", str(store.LogEq, store.LogJobID, j2.ID), []string{"q5", "q4"}},
		{"job eq folds case", str(store.LogEq, store.LogJobID, strings.ToUpper(j2.ID)), []string{"q5", "q4"}},
		{"action eq folds case", str(store.LogEq, store.LogAction, "create"), []string{"q4", "q1"}},
		{"status ne", str(store.LogNe, store.LogStatus, "success"), []string{"q6", "q3", "q2"}},
		{"cycle eq empty", str(store.LogEq, store.LogCycleID, ""), []string{"q5"}},
		{"change eq", str(store.LogEq, store.LogChangeID, "change-q3"), []string{"q3"}},
		{"sp eq", str(store.LogEq, store.LogServicePrincipalID, sp.ID), []string{"q6", "q5", "q4", "q3", "q2", "q1"}},
		{"source id folds", str(store.LogEq, store.LogSourceID, "u4"), []string{"q4"}},
		{"target eq", str(store.LogEq, store.LogTargetID, "t9"), []string{"q5"}},
		{"name startswith", str(store.LogStartsWith, store.LogSourceName, "ali"), []string{"q5", "q1"}},
		{"startswith escapes _", str(store.LogStartsWith, store.LogSourceName, "Bob_"), []string{"q2"}},
		{"_ is no wildcard", str(store.LogStartsWith, store.LogSourceName, "Bo_"), nil},
		{"contains", str(store.LogContains, store.LogSourceName, "ADA"), []string{"q5", "q1"}},
		{"contains escapes %", str(store.LogContains, store.LogSourceName, "0%"), []string{"q3"}},
		{"% is no wildcard", str(store.LogContains, store.LogSourceName, "c%0"), nil},
		{"string gt", str(store.LogGt, store.LogSourceID, "u3"), []string{"q6", "q4"}},
		{"string le", str(store.LogLe, store.LogTargetID, "t2"), []string{"q3", "q2", "q1"}},
		{"activity ge", tm(store.LogGe, 30), []string{"q6", "q5", "q4"}},
		{"activity gt", tm(store.LogGt, 30), []string{"q6", "q5"}},
		{"activity lt", tm(store.LogLt, 20), []string{"q1"}},
		{"activity le", tm(store.LogLe, 20), []string{"q3", "q2", "q1"}},
		{"activity eq", tm(store.LogEq, 20), []string{"q3", "q2"}},
		{"activity ne", tm(store.LogNe, 20), []string{"q6", "q5", "q4", "q1"}},
		{"and", and(str(store.LogEq, store.LogJobID, j1.ID), tm(store.LogGe, 20), str(store.LogNe, store.LogStatus, "Failure")), []string{"q6", "q3"}},
		{"or", or(str(store.LogEq, store.LogAction, "Disable"), str(store.LogEq, store.LogCycleID, "c1")), []string{"q5", "q2", "q1"}},
		{"and of or", and(or(str(store.LogEq, store.LogCycleID, "c2"), str(store.LogEq, store.LogCycleID, "c3")), str(store.LogEq, store.LogStatus, "Skipped")), []string{"q6", "q3"}},
		{"empty and", and(), []string{"q6", "q5", "q4", "q3", "q2", "q1"}},
		{"empty or", or(), nil},
	}
	for _, tt := range tests {
		// The cases' answers are LogCond.Match's too: the reference
		// semantics and the backend agree.
		var byMatch []string
		for i := len(logs) - 1; i >= 0; i-- {
			if tt.c.Match(logs[i]) {
				byMatch = append(byMatch, logs[i].ID)
			}
		}
		same(t, byMatch, tt.want, "%s: LogCond.Match", tt.name)
		p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Where: &tt.c, Count: true})
		ok(t, err, "%s: query", tt.name)
		same(t, logIDs(p.Logs), tt.want, "%s: logs", tt.name)
		if p.Count != len(tt.want) {
			t.Errorf("%s: count %d, want %d", tt.name, p.Count, len(tt.want))
		}
		asc := slices.Clone(tt.want)
		slices.Reverse(asc)
		p, err = s.QueryProvisioningLogs(ctx, store.LogQuery{Where: &tt.c, Asc: true})
		ok(t, err, "%s: query ascending", tt.name)
		same(t, logIDs(p.Logs), asc, "%s: logs ascending", tt.name)
		if p.Count != 0 {
			t.Errorf("%s: count %d without Count", tt.name, p.Count)
		}
	}
	// The stored record comes back whole.
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Where: &store.LogCond{Op: store.LogEq, Field: store.LogChangeID, Value: "change-q2"}})
	ok(t, err, "query one")
	same(t, p.Logs, []store.ProvisioningLog{logs[1]}, "log q2")
}

func logIDs(ls []store.ProvisioningLog) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

func testQueryProvisioningLogPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j := mkJob(t, s, sp.ID, "j1")
	// 30 logs over 4 distinct times, so that pages split ties; a third
	// are failures, the filter every page applies.
	var failures []string
	for i := range 30 {
		l := newLog(fmt.Sprintf("log-%02d", (i*7)%30), j.ID, sp.ID, at(i%4))
		l.Status = "Success"
		if i%3 == 0 {
			l.Status = "Failure"
		}
		ok(t, s.AddProvisioningLog(ctx, l), "add log %s", l.ID)
	}
	all, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Where: &store.LogCond{Op: store.LogEq, Field: store.LogStatus, Value: "Failure"}})
	ok(t, err, "query failures")
	failures = logIDs(all.Logs)
	if len(failures) != 10 {
		t.Fatalf("%d failures, want 10", len(failures))
	}
	for _, asc := range []bool{false, true} {
		want := slices.Clone(failures)
		if asc {
			slices.Reverse(want)
		}
		for _, limit := range []int{1, 3, 4} {
			var got []string
			after := ""
			for range 50 {
				q := store.LogQuery{Where: &store.LogCond{Op: store.LogEq, Field: store.LogStatus, Value: "failure"},
					Asc: asc, Limit: limit, After: after}
				p, err := s.QueryProvisioningLogs(ctx, q)
				ok(t, err, "query page")
				if len(p.Logs) > limit {
					t.Fatalf("page of %d logs with limit %d", len(p.Logs), limit)
				}
				if len(p.Logs) == 0 {
					break
				}
				got = append(got, logIDs(p.Logs)...)
				after = p.Logs[len(p.Logs)-1].ID
			}
			same(t, got, want, "failures paged by %d, ascending %v", limit, asc)
		}
	}
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{After: "no-such-log"})
	ok(t, err, "query after an unknown log")
	same(t, p.Logs, []store.ProvisioningLog(nil), "logs after an unknown log")
}

func testPruneProvisioningLogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j := mkJob(t, s, sp.ID, "j1")
	for i := range 5 {
		ok(t, s.AddProvisioningLog(ctx, newLog(fmt.Sprintf("l%d", i), j.ID, sp.ID, at(i))), "add log")
	}
	n, err := s.PruneProvisioningLogs(ctx, at(2))
	ok(t, err, "prune")
	if n != 2 {
		t.Errorf("pruned %d logs, want 2", n)
	}
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Asc: true})
	ok(t, err, "query")
	same(t, logIDs(p.Logs), []string{"l2", "l3", "l4"}, "logs left")
	n, err = s.PruneProvisioningLogs(ctx, at(2).Add(-time.Microsecond))
	ok(t, err, "prune again")
	if n != 0 {
		t.Errorf("pruned %d logs again, want 0", n)
	}
}

func testCommitBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j := mkJob(t, s, sp.ID, "j1")
	old := newAnchor(j.ID, "u-old", "t-old")
	kept := newAnchor(j.ID, "u-kept", "t-kept")
	ok(t, s.PutAnchor(ctx, old), "put anchor")
	ok(t, s.PutAnchor(ctx, kept), "put anchor")
	ok(t, s.AddProvisioningLog(ctx, newLog("taken", j.ID, sp.ID, at(1))), "add log")

	replaced := newAnchor(j.ID, "u-kept", "t-new")
	added := newAnchor(j.ID, "u-new", "t-1")
	b := store.Batch{
		Anchors: []store.Anchor{replaced, added},
		Deleted: []store.AnchorKey{{JobID: j.ID, SourceType: "User", SourceID: "u-old"}, {JobID: j.ID, SourceType: "User", SourceID: "absent"}},
		Logs:    []store.ProvisioningLog{newLog("b1", j.ID, sp.ID, at(2)), newLog("b2", j.ID, sp.ID, at(3))},
	}
	// A failing batch writes nothing: a taken log id, a missing job.
	bad := b
	bad.Logs = append(slices.Clone(b.Logs), newLog("taken", j.ID, sp.ID, at(4)))
	isErr(t, s.CommitBatch(ctx, bad), store.ErrConflict, "batch with a taken log id")
	bad = b
	bad.Anchors = append(slices.Clone(b.Anchors), newAnchor("no-such-job", "u", "t"))
	isErr(t, s.CommitBatch(ctx, bad), store.ErrNotFound, "batch for a missing job")
	as, err := s.ListAnchors(ctx, j.ID)
	ok(t, err, "list anchors")
	same(t, as, []store.Anchor{kept, old}, "anchors after failed batches")

	ok(t, s.CommitBatch(ctx, b), "commit batch")
	as, err = s.ListAnchors(ctx, j.ID)
	ok(t, err, "list anchors")
	same(t, as, []store.Anchor{replaced, added}, "anchors after the batch")
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{})
	ok(t, err, "query logs")
	same(t, logIDs(p.Logs), []string{"b2", "b1", "taken"}, "logs after the batch")
	ok(t, s.CommitBatch(ctx, store.Batch{}), "commit an empty batch")

	// A big batch (a SQL store sends many rows per statement) writes every
	// row, and fails whole for one bad row in the middle.
	var big store.Batch
	var wantIDs []string
	for i := range 150 {
		big.Anchors = append(big.Anchors, newAnchor(j.ID, fmt.Sprintf("big%03d", i), fmt.Sprintf("t-big%03d", i)))
		id := fmt.Sprintf("big%03d", i)
		big.Logs = append(big.Logs, newLog(id, j.ID, sp.ID, at(10)))
		wantIDs = append(wantIDs, id)
	}
	bad = big
	bad.Logs = slices.Clone(big.Logs)
	bad.Logs[100] = newLog("taken", j.ID, sp.ID, at(10))
	isErr(t, s.CommitBatch(ctx, bad), store.ErrConflict, "big batch with a taken log id")
	as, err = s.ListAnchors(ctx, j.ID)
	ok(t, err, "list anchors")
	same(t, len(as), 2, "anchors after a failed big batch")
	ok(t, s.CommitBatch(ctx, big), "commit a big batch")
	as, err = s.ListAnchors(ctx, j.ID)
	ok(t, err, "list anchors")
	same(t, as, append(slices.Clone(big.Anchors), replaced, added), "anchors after the big batch")
	got, err := s.ListProvisioningLogs(ctx, j.ID, store.ListOptions{})
	ok(t, err, "list logs")
	var gotIDs []string
	for _, l := range got {
		if strings.HasPrefix(l.ID, "big") {
			gotIDs = append(gotIDs, l.ID)
			same(t, l, big.Logs[slices.Index(wantIDs, l.ID)], "log %s", l.ID)
		}
	}
	slices.Sort(gotIDs)
	same(t, gotIDs, wantIDs, "logs of the big batch")
}

package sqlstore

import (
	"strings"
	"testing"

	"provisiond/store"
)

// TestLogQueriesUseIndexes: a job's or a cycle's logs are found through an
// index, not by scanning every log (SQLite's plan for the SELECT that
// QueryProvisioningLogs sends), with and without a time bound.
func TestLogQueriesUseIndexes(t *testing.T) {
	s := openTemp(t)
	eq := func(f store.LogField, v string) store.LogCond {
		return store.LogCond{Op: store.LogEq, Field: f, Value: v}
	}
	for _, tc := range []struct {
		name    string
		where   store.LogCond
		index   string
		inOrder bool // the index gives the logs newest first: no sort
	}{
		{"jobId", eq(store.LogJobID, "scim.0f2b"), "provisioning_logs_job ", true},
		{"cycleId", eq(store.LogCycleID, "c-1"), "provisioning_logs_cycle", true},
		{"jobId and a time", store.LogCond{Op: store.LogAnd, Args: []store.LogCond{eq(store.LogJobID, "scim.0f2b"),
			{Op: store.LogGe, Field: store.LogActivity}}}, "provisioning_logs_job ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where, args, err := logWhere(tc.where, 0)
			if err != nil {
				t.Fatal(err)
			}
			sel, args := logSelect(store.LogQuery{Where: &tc.where, Limit: 50}, where, args)
			plan := queryPlan(t, s, sel, args...)
			if got := strings.Join(plan, "; "); !strings.Contains(got, tc.index) {
				t.Errorf("plan %q does not use %s", got, tc.index)
			} else if tc.inOrder && strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("plan %q sorts the logs", got)
			}
		})
	}
}

// queryPlan returns the details of SQLite's plan for query, a line each.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

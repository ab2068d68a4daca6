package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"provisiond/store"
)

// logColumn maps the queryable log fields to their columns.
var logColumn = map[store.LogField]string{
	store.LogActivity:           "activity",
	store.LogJobID:              "job_id",
	store.LogCycleID:            "cycle_id",
	store.LogChangeID:           "change_id",
	store.LogAction:             "action",
	store.LogStatus:             "status",
	store.LogServicePrincipalID: "service_principal_id",
	store.LogSourceID:           "source_id",
	store.LogSourceName:         "source_name",
	store.LogTargetID:           "target_id",
}

var logCompare = map[store.LogOp]string{
	store.LogEq: "=", store.LogNe: "<>", store.LogGt: ">", store.LogGe: ">=", store.LogLt: "<", store.LogLe: "<=",
}

// maxLogCondDepth bounds the nesting a query may ask for (the API's
// parser allows less), so a hostile condition cannot exhaust the stack.
const maxLogCondDepth = 64

// logWhere renders c as SQL with its arguments. Strings compare with
// lower(), which folds ASCII letters only, as store.FoldASCII does; LIKE
// patterns escape their wildcards.
func logWhere(c store.LogCond, depth int) (string, []any, error) {
	if depth > maxLogCondDepth {
		return "", nil, fmt.Errorf("log condition nests deeper than %d", maxLogCondDepth)
	}
	switch c.Op {
	case store.LogAnd, store.LogOr:
		if len(c.Args) == 0 {
			if c.Op == store.LogAnd {
				return "1 = 1", nil, nil
			}
			return "1 = 0", nil, nil
		}
		parts := make([]string, len(c.Args))
		var args []any
		for i, a := range c.Args {
			sql, as, err := logWhere(a, depth+1)
			if err != nil {
				return "", nil, err
			}
			parts[i] = "(" + sql + ")"
			args = append(args, as...)
		}
		return strings.Join(parts, " "+strings.ToUpper(string(c.Op))+" "), args, nil
	}
	col, ok := logColumn[c.Field]
	if !ok {
		return "", nil, fmt.Errorf("log field %q is not queryable", c.Field)
	}
	if c.Field == store.LogActivity {
		op, ok := logCompare[c.Op]
		if !ok {
			return "", nil, fmt.Errorf("operator %q does not apply to times", c.Op)
		}
		return col + " " + op + " ?", []any{micros(c.Time.Truncate(time.Microsecond))}, nil
	}
	v := store.FoldASCII(c.Value)
	switch c.Op {
	case store.LogStartsWith:
		return "lower(" + col + `) LIKE ? ESCAPE '\'`, []any{likeEscape(v) + "%"}, nil
	case store.LogContains:
		return "lower(" + col + `) LIKE ? ESCAPE '\'`, []any{"%" + likeEscape(v) + "%"}, nil
	}
	op, ok := logCompare[c.Op]
	if !ok {
		return "", nil, fmt.Errorf("unknown log operator %q", c.Op)
	}
	if c.Field == store.LogJobID && c.Op == store.LogEq {
		// The job is found among the few jobs (ids are generated unique
		// whatever their case) and its logs, newest first, by the job_id
		// index: every stored log is spared an index of lower(job_id). A
		// deleted job's logs, which outlive it, match the id as written.
		return "job_id = COALESCE((SELECT id FROM jobs WHERE lower(id) = ? LIMIT 1), ?)", []any{v, c.Value}, nil
	}
	return "lower(" + col + ") " + op + " ?", []any{v}, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// QueryProvisioningLogs implements store.Store in one SELECT (and one
// COUNT when asked), the conditions pushed into SQL.
func (s *Store) QueryProvisioningLogs(ctx context.Context, q store.LogQuery) (store.LogPage, error) {
	where, args := "1 = 1", []any(nil)
	if q.Where != nil {
		var err error
		if where, args, err = logWhere(*q.Where, 0); err != nil {
			return store.LogPage{}, err
		}
	}
	var p store.LogPage
	if q.Count {
		err := s.queryRow(ctx, []any{&p.Count}, `SELECT count(*) FROM provisioning_logs WHERE `+where, args...)
		if err != nil {
			return store.LogPage{}, s.fail(err, "count provisioning logs")
		}
	}
	sel, args := logSelect(q, where, args)
	rows, err := s.query(ctx, sel, args...)
	p.Logs, err = collect(rows, err, scanLog)
	if err != nil {
		return store.LogPage{}, s.fail(err, "query provisioning logs")
	}
	return p, nil
}

// logSelect is the SELECT of a page of logs matching where.
func logSelect(q store.LogQuery, where string, args []any) (string, []any) {
	sel := `SELECT ` + logCols + ` FROM provisioning_logs WHERE (` + where + `)`
	cmp, dir := "<", "DESC"
	if q.Asc {
		cmp, dir = ">", "ASC"
	}
	if q.After != "" {
		sel += ` AND (activity, id) ` + cmp + ` (SELECT activity, id FROM provisioning_logs WHERE id = ?)`
		args = append(args, q.After)
	}
	sel += ` ORDER BY activity ` + dir + `, id ` + dir
	if q.Limit > 0 {
		sel += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	return sel, args
}

// pruneChunk is how many logs one prune transaction deletes, so that a
// large backlog does not hold the writer for long.
const pruneChunk = 5000

// PruneProvisioningLogs implements store.Store, in transactions of
// pruneChunk logs.
func (s *Store) PruneProvisioningLogs(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		res, err := s.exec(ctx, `DELETE FROM provisioning_logs WHERE id IN
			(SELECT id FROM provisioning_logs WHERE activity < ? LIMIT ?)`, micros(before), pruneChunk)
		if err != nil {
			return total, s.fail(err, "prune provisioning logs")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.fail(err, "prune provisioning logs")
		}
		total += int(n)
		if n < pruneChunk {
			return total, nil
		}
	}
}

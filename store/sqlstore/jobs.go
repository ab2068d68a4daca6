package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"provisiond/store"
)

const jobCols = `id, service_principal_id, template_id, schema_json, status, schedule_interval,
	schedule_state, schedule_expiration, settings_json, watermark, created, updated`

func scanJob(sc interface{ Scan(...any) error }) (store.Job, error) {
	var (
		j                store.Job
		status           string
		expiration       sql.NullInt64
		created, updated int64
	)
	err := sc.Scan(&j.ID, &j.ServicePrincipalID, &j.TemplateID, &j.Schema, &status, &j.Schedule.Interval,
		&j.Schedule.State, &expiration, &j.Settings, &j.Watermark, &created, &updated)
	if err != nil {
		return store.Job{}, err
	}
	if err := json.Unmarshal([]byte(status), &j.Status); err != nil {
		return store.Job{}, fmt.Errorf("decode status of job %s: %w", j.ID, err)
	}
	j.Schedule.Expiration = fromNullMicros(expiration)
	j.Created, j.Updated = fromMicros(created), fromMicros(updated)
	return j, nil
}

// jobRow is a job's column values in the order of jobCols.
func jobRow(j store.Job) ([]any, error) {
	status, err := json.Marshal(j.Status)
	if err != nil {
		return nil, fmt.Errorf("encode status of job %s: %w", j.ID, err)
	}
	return []any{j.ID, j.ServicePrincipalID, j.TemplateID, j.Schema, string(status), j.Schedule.Interval,
		j.Schedule.State, nullMicros(j.Schedule.Expiration), j.Settings, j.Watermark, micros(j.Created), micros(j.Updated)}, nil
}

// CreateJob implements store.Store. The foreign key on
// service_principal_id reports a missing service principal.
func (s *Store) CreateJob(ctx context.Context, j store.Job) error {
	row, err := jobRow(j)
	if err == nil {
		_, err = s.exec(ctx, `INSERT INTO jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...)
	}
	if err != nil {
		return s.fail(err, "create job", j.ID)
	}
	return nil
}

// GetJob implements store.Store.
func (s *Store) GetJob(ctx context.Context, spID, jobID string) (store.Job, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, `SELECT `+jobCols+` FROM jobs
		WHERE id = ? AND service_principal_id = ?`)
	if err != nil {
		return store.Job{}, s.fail(err, "get job", spID, jobID)
	}
	j, err := scanJob(st.QueryRowContext(ctx, jobID, spID))
	if err != nil {
		return store.Job{}, s.fail(err, "get job", spID, jobID)
	}
	return j, nil
}

// ListJobs implements store.Store.
func (s *Store) ListJobs(ctx context.Context, spID string) ([]store.Job, error) {
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs WHERE service_principal_id = ? ORDER BY id`, spID)
	js, err := collect(rows, err, func(r *sql.Rows) (store.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, s.fail(err, "list jobs", spID)
	}
	return js, nil
}

// errFromFn marks an error returned by UpdateJob's fn, which UpdateJob
// passes on unwrapped.
type errFromFn struct{ err error }

func (e errFromFn) Error() string { return e.err.Error() }

// UpdateJob implements store.Store. The row is read and written in one
// write transaction; on SQLite that holds the only writer connection, so
// updates of a job (of any row) are serialised, and the dialect's lockRow
// locks the row where writers run in parallel.
func (s *Store) UpdateJob(ctx context.Context, spID, jobID string, fn func(*store.Job) error) (store.Job, error) {
	var out store.Job
	err := s.inTx(ctx, func(w writeTx) error {
		q := s.d.rebind(`SELECT ` + jobCols + ` FROM jobs WHERE id = ? AND service_principal_id = ?` + s.d.lockRow)
		j, err := scanJob(w.tx.QueryRowContext(ctx, q, jobID, spID))
		if err != nil {
			return err
		}
		if err := fn(&j); err != nil {
			return errFromFn{err}
		}
		j.ID, j.ServicePrincipalID = jobID, spID
		row, err := jobRow(j)
		if err != nil {
			return err
		}
		_, err = w.exec(ctx, `UPDATE jobs SET template_id = ?, schema_json = ?, status = ?, schedule_interval = ?,
			schedule_state = ?, schedule_expiration = ?, settings_json = ?, watermark = ?, created = ?, updated = ?
			WHERE id = ? AND service_principal_id = ?`, append(row[2:], jobID, spID)...)
		if err != nil {
			return err
		}
		// Read back what was stored (times in UTC, to the microsecond).
		out, err = scanJob(w.tx.QueryRowContext(ctx, q, jobID, spID))
		return err
	})
	var fe errFromFn
	if errors.As(err, &fe) {
		return store.Job{}, fe.err
	}
	if err != nil {
		return store.Job{}, s.fail(err, "update job", spID, jobID)
	}
	return out, nil
}

// DeleteJob implements store.Store. Foreign keys cascade the delete to the
// job's anchors and logs.
func (s *Store) DeleteJob(ctx context.Context, spID, jobID string) error {
	res, err := s.exec(ctx, `DELETE FROM jobs WHERE id = ? AND service_principal_id = ?`, jobID, spID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return s.fail(err, "delete job", spID, jobID)
	}
	return nil
}

// PutSecrets implements store.Store.
func (s *Store) PutSecrets(ctx context.Context, spID string, sealed []byte) error {
	_, err := s.exec(ctx, `INSERT INTO sp_secrets (service_principal_id, sealed) VALUES (?, ?)
		ON CONFLICT (service_principal_id) DO UPDATE SET sealed = excluded.sealed`, spID, sealed)
	if err != nil {
		return s.fail(err, "put secrets", spID)
	}
	return nil
}

// GetSecrets implements store.Store.
func (s *Store) GetSecrets(ctx context.Context, spID string) ([]byte, error) {
	var sealed []byte
	err := s.queryRow(ctx, []any{&sealed}, `SELECT sealed FROM sp_secrets WHERE service_principal_id = ?`, spID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.fail(err, "get secrets", spID)
	}
	return sealed, nil
}

const anchorCols = `job_id, source_type, source_id, target_type, target_id, updated`

func scanAnchor(sc interface{ Scan(...any) error }) (store.Anchor, error) {
	var (
		a       store.Anchor
		updated int64
	)
	if err := sc.Scan(&a.JobID, &a.SourceType, &a.SourceID, &a.TargetType, &a.TargetID, &updated); err != nil {
		return store.Anchor{}, err
	}
	a.Updated = fromMicros(updated)
	return a, nil
}

// anchorRowCols are the columns anchorRow fills.
const anchorRowCols = anchorCols + `, target_key`

const putAnchorTail = ` ON CONFLICT (job_id, source_type, source_id) DO UPDATE SET
	target_type = excluded.target_type, target_id = excluded.target_id, updated = excluded.updated,
	target_key = excluded.target_key`

const putAnchor = `INSERT INTO anchors (` + anchorRowCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)` + putAnchorTail

func anchorRow(a store.Anchor) []any {
	return []any{a.JobID, a.SourceType, a.SourceID, a.TargetType, a.TargetID, micros(a.Updated),
		targetKey(a.JobID, a.TargetType, a.TargetID)}
}

// PutAnchor implements store.Store; store.ErrNotFound if the job is absent.
func (s *Store) PutAnchor(ctx context.Context, a store.Anchor) error {
	err := s.inTx(ctx, func(w writeTx) error {
		if err := bumpAnchors(ctx, w, a.JobID); err != nil {
			return err
		}
		_, err := w.exec(ctx, putAnchor, anchorRow(a)...)
		return err
	})
	if err != nil {
		return s.fail(err, "put anchor", a.JobID, a.SourceType, a.SourceID)
	}
	return nil
}

// bumpAnchors moves the job's anchors version on, first in a transaction
// that writes its anchors: on PostgreSQL the job's row is then locked
// before the anchors' foreign key checks share-lock it, so a concurrent
// UpdateJob (SELECT ... FOR UPDATE) waits instead of deadlocking. An
// absent job changes nothing (writing its anchors fails on their foreign
// key; deleting them finds none).
func bumpAnchors(ctx context.Context, w writeTx, jobID string) error {
	_, err := w.exec(ctx, `UPDATE jobs SET anchors_version = anchors_version + 1 WHERE id = ?`, jobID)
	return err
}

// AnchorsVersion implements store.Store.
func (s *Store) AnchorsVersion(ctx context.Context, jobID string) (int64, error) {
	var v int64
	if err := s.queryRow(ctx, []any{&v}, `SELECT anchors_version FROM jobs WHERE id = ?`, jobID); err != nil {
		return 0, s.fail(err, "anchors version", jobID)
	}
	return v, nil
}

// GetAnchor implements store.Store.
func (s *Store) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, `SELECT `+anchorCols+` FROM anchors
		WHERE job_id = ? AND source_type = ? AND source_id = ?`)
	if err != nil {
		return store.Anchor{}, s.fail(err, "get anchor", jobID, sourceType, sourceID)
	}
	a, err := scanAnchor(st.QueryRowContext(ctx, jobID, sourceType, sourceID))
	if err != nil {
		return store.Anchor{}, s.fail(err, "get anchor", jobID, sourceType, sourceID)
	}
	return a, nil
}

// GetAnchorByTarget implements store.Store.
func (s *Store) GetAnchorByTarget(ctx context.Context, jobID, targetType, targetID string) (store.Anchor, error) {
	as, err := s.GetAnchorsByTarget(ctx, jobID, targetType, []string{targetID})
	if err != nil {
		return store.Anchor{}, err
	}
	if len(as) == 0 {
		return store.Anchor{}, s.fail(sql.ErrNoRows, "get anchor by target", jobID, targetType, targetID)
	}
	return slices.MinFunc(as, func(a, b store.Anchor) int {
		return cmp.Or(strings.Compare(a.SourceType, b.SourceType), strings.Compare(a.SourceID, b.SourceID))
	}), nil
}

// DeleteAnchor implements store.Store.
func (s *Store) DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error {
	err := s.inTx(ctx, func(w writeTx) error {
		if err := bumpAnchors(ctx, w, jobID); err != nil {
			return err
		}
		res, err := w.exec(ctx, `DELETE FROM anchors WHERE job_id = ? AND source_type = ? AND source_id = ?`,
			jobID, sourceType, sourceID)
		if err == nil {
			err = mustAffect(res)
		}
		return err
	})
	if err != nil {
		return s.fail(err, "delete anchor", jobID, sourceType, sourceID)
	}
	return nil
}

// ListAnchors implements store.Store, ordered by source type and id.
func (s *Store) ListAnchors(ctx context.Context, jobID string) ([]store.Anchor, error) {
	rows, err := s.query(ctx, `SELECT `+anchorCols+` FROM anchors WHERE job_id = ?
		ORDER BY source_type, source_id`, jobID)
	as, err := collect(rows, err, func(r *sql.Rows) (store.Anchor, error) { return scanAnchor(r) })
	if err != nil {
		return nil, s.fail(err, "list anchors", jobID)
	}
	return as, nil
}

// ListAnchorsAfter implements store.Store, along the anchors' key.
func (s *Store) ListAnchorsAfter(ctx context.Context, jobID, sourceType, after string, limit int) ([]store.Anchor, error) {
	rows, err := s.query(ctx, `SELECT `+anchorCols+` FROM anchors WHERE job_id = ? AND source_type = ? AND source_id > ?
		ORDER BY source_id LIMIT ?`, jobID, sourceType, after, limit)
	as, err := collect(rows, err, func(r *sql.Rows) (store.Anchor, error) { return scanAnchor(r) })
	if err != nil {
		return nil, s.fail(err, "list anchors", jobID)
	}
	return as, nil
}

const logCols = `id, job_id, service_principal_id, change_id, activity,
	cycle_id, action, status, source_id, source_name, target_id, data`

const addLog = `INSERT INTO provisioning_logs (` + logCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func logRow(l store.ProvisioningLog) []any {
	return []any{l.ID, l.JobID, l.ServicePrincipalID, l.ChangeID, micros(l.Activity),
		l.CycleID, l.Action, l.Status, l.SourceID, l.SourceName, l.TargetID, packLog(l.Data)}
}

func scanLog(r *sql.Rows) (store.ProvisioningLog, error) {
	var (
		l        store.ProvisioningLog
		activity int64
	)
	err := r.Scan(&l.ID, &l.JobID, &l.ServicePrincipalID, &l.ChangeID, &activity,
		&l.CycleID, &l.Action, &l.Status, &l.SourceID, &l.SourceName, &l.TargetID, &l.Data)
	l.Activity = fromMicros(activity)
	if err == nil {
		l.Data, err = unpackLog(l.Data)
	}
	return l, err
}

// AddProvisioningLog implements store.Store; store.ErrConflict if the id
// is taken.
func (s *Store) AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error {
	_, err := s.exec(ctx, addLog, logRow(l)...)
	if err != nil {
		return s.fail(err, "add provisioning log", l.ID)
	}
	return nil
}

// ListProvisioningLogs implements store.Store. The order is (activity, id)
// descending; opt.After continues below the (activity, id) of that log, and
// an After naming no log yields nothing.
func (s *Store) ListProvisioningLogs(ctx context.Context, jobID string, opt store.ListOptions) ([]store.ProvisioningLog, error) {
	q := `SELECT ` + logCols + ` FROM provisioning_logs WHERE 1 = 1`
	var args []any
	if jobID != "" {
		q += ` AND job_id = ?`
		args = append(args, jobID)
	}
	if opt.After != "" {
		q += ` AND (activity, id) < (SELECT activity, id FROM provisioning_logs WHERE id = ?)`
		args = append(args, opt.After)
	}
	q += ` ORDER BY activity DESC, id DESC`
	if opt.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, opt.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	ls, err := collect(rows, err, scanLog)
	if err != nil {
		return nil, s.fail(err, "list provisioning logs", jobID)
	}
	return ls, nil
}

// CommitBatch implements store.Store in one write transaction, with the
// statements prepared (and cached) before it begins: on SQLite the
// transaction holds the only writer connection.
func (s *Store) CommitBatch(ctx context.Context, b store.Batch) error {
	anchors := make([][]any, len(b.Anchors))
	for i, a := range b.Anchors {
		anchors[i] = anchorRow(a)
	}
	logs := make([][]any, len(b.Logs))
	for i, l := range b.Logs {
		logs[i] = logRow(l)
	}
	// Prepared before the transaction: it holds SQLite's one write
	// connection, which preparing needs.
	putAnchors, err := s.prepareRows(ctx, putAnchorRows)
	if err != nil {
		return s.fail(err, "commit batch")
	}
	addLogs, err := s.prepareRows(ctx, addLogRows)
	if err != nil {
		return s.fail(err, "commit batch")
	}
	err = s.inTx(ctx, func(w writeTx) error {
		for _, job := range b.AnchorJobs() {
			if err := bumpAnchors(ctx, w, job); err != nil {
				return err
			}
		}
		if err := insertRows(ctx, w, putAnchors, anchors); err != nil {
			return err
		}
		for _, k := range b.Deleted {
			if _, err := w.exec(ctx, `DELETE FROM anchors WHERE job_id = ? AND source_type = ? AND source_id = ?`,
				k.JobID, k.SourceType, k.SourceID); err != nil {
				return err
			}
		}
		return insertRows(ctx, w, addLogs, logs)
	})
	if err != nil {
		return s.fail(err, "commit batch")
	}
	return nil
}

// rowsInsert is an INSERT of many rows at once: head, then the rows'
// placeholders, then tail.
type rowsInsert struct {
	head, tail string
	cols       int
}

var (
	putAnchorRows = rowsInsert{head: `INSERT INTO anchors (` + anchorRowCols + `) VALUES `, tail: putAnchorTail, cols: 7}
	addLogRows    = rowsInsert{head: `INSERT INTO provisioning_logs (` + logCols + `) VALUES `, cols: 12}
)

// rowsAtOnce are how many rows one statement of a rowsInsert takes: the
// rows are sent largest first, so that a handful of prepared statements
// serve any number of rows in few round trips.
var rowsAtOnce = []int{64, 8, 1}

// prepareRows prepares ins's statements, one per length of rowsAtOnce.
func (s *Store) prepareRows(ctx context.Context, ins rowsInsert) ([]*sql.Stmt, error) {
	sts := make([]*sql.Stmt, len(rowsAtOnce))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ins.cols), ", ") + ")"
	for i, n := range rowsAtOnce {
		var err error
		sts[i], err = s.stmt(ctx, s.wdb, &s.wstmts, ins.head+strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")+ins.tail)
		if err != nil {
			return nil, err
		}
	}
	return sts, nil
}

// insertRows inserts rows in w with the statements prepareRows gave, as
// many rows at once as they take.
func insertRows(ctx context.Context, w writeTx, sts []*sql.Stmt, rows [][]any) error {
	for i, n := range rowsAtOnce {
		st := w.tx.StmtContext(ctx, sts[i])
		for len(rows) >= n {
			args := make([]any, 0, len(rows[0])*n)
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

// GetAnchors implements store.Store.
func (s *Store) GetAnchors(ctx context.Context, jobID, sourceType string, sourceIDs []string) ([]store.Anchor, error) {
	read := s.anchorsIn
	if s.d.bytewise {
		read = s.anchorsByRange
	}
	as, err := read(ctx, jobID, sourceType, sourceIDs)
	if err != nil {
		return nil, s.fail(err, "get anchors", jobID, sourceType)
	}
	return as, nil
}

// anchorsInRange reads the job's anchors of one source type whose ids are
// between two ids, at most a number of them.
const anchorsInRange = `SELECT ` + anchorCols + ` FROM anchors
	WHERE job_id = ? AND source_type = ? AND source_id >= ? AND source_id <= ? ORDER BY source_id LIMIT ?`

// anchorsByRange is GetAnchors for ids that are often dense in the job's
// anchors — a page of a listing, a big group's members: each chunk of the
// sorted ids is read as one range of the primary key, one seek instead of
// one per id (a chunk of absent ids, as in an initial cycle, costs next to
// nothing). A range holding more than twice the chunk's anchors is cut
// short, and that chunk and the rest are read by IN lists.
func (s *Store) anchorsByRange(ctx context.Context, jobID, sourceType string, ids []string) ([]store.Anchor, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var out []store.Anchor
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), manyChunk)]
		limit := 2*len(chunk) + 8
		rows, err := s.query(ctx, anchorsInRange, jobID, sourceType, chunk[0], chunk[len(chunk)-1], limit)
		before, read := len(out), 0
		for err == nil && rows.Next() {
			var a store.Anchor
			if a, err = scanAnchor(rows); err == nil {
				read++
				if _, asked := slices.BinarySearch(chunk, a.SourceID); asked {
					out = append(out, a)
				}
			}
		}
		if rows != nil {
			err = errors.Join(err, rows.Close(), rows.Err())
		}
		if err != nil {
			return nil, err
		}
		if read == limit { // sparse: the range holds other objects' anchors too
			rest, err := s.anchorsIn(ctx, jobID, sourceType, ids)
			return append(out[:before], rest...), err
		}
		ids = ids[len(chunk):]
	}
	return out, nil
}

const anchorsByTargetKey = `SELECT ` + anchorCols + ` FROM anchors WHERE target_key IN (?*)`

// GetAnchorsByTarget implements store.Store, by the targets' keys alone
// (a condition on job_id would lead SQLite to the primary key's index,
// and through all of the job's anchors); the rows are checked here.
func (s *Store) GetAnchorsByTarget(ctx context.Context, jobID, targetType string, targetIDs []string) ([]store.Anchor, error) {
	want := make(map[string]bool, len(targetIDs))
	keys := make([]int64, len(targetIDs))
	for i, id := range targetIDs {
		want[id], keys[i] = true, targetKey(jobID, targetType, id)
	}
	var out []store.Anchor
	err := queryMany(ctx, s, anchorsByTargetKey, nil, keys, func(r *sql.Rows) error {
		a, err := scanAnchor(r)
		// Not another target's whose key is the same.
		if err == nil && a.JobID == jobID && a.TargetType == targetType && want[a.TargetID] {
			out = append(out, a)
		}
		return err
	})
	if err != nil {
		return nil, s.fail(err, "get anchors by target", jobID, targetType)
	}
	return out, nil
}

// anchorsIn returns the job's anchors of source type typ whose source id
// is one of ids, by IN lists.
func (s *Store) anchorsIn(ctx context.Context, jobID, typ string, ids []string) ([]store.Anchor, error) {
	var out []store.Anchor
	err := queryMany(ctx, s, `SELECT `+anchorCols+` FROM anchors WHERE job_id = ? AND source_type = ? AND source_id IN (?*)`,
		[]any{jobID, typ}, ids, func(r *sql.Rows) error {
			a, err := scanAnchor(r)
			out = append(out, a)
			return err
		})
	return out, err
}

// CountAnchors implements store.Store. It groups by source type alone,
// in the order of the anchors' primary key, so that the job's anchors are
// counted without being sorted (BenchmarkCountAnchors: 86 ms instead of
// 192 at 300,000 anchors); a source type whose anchors name more than one
// target type (a schema changed under them) is counted again by target
// type.
func (s *Store) CountAnchors(ctx context.Context, jobID string) ([]store.AnchorCount, error) {
	type bySource struct {
		store.AnchorCount
		last string // the greatest target type; TargetType is the least
	}
	rows, err := s.query(ctx, `SELECT source_type, MIN(target_type), MAX(target_type), COUNT(*) FROM anchors
		WHERE job_id = ? GROUP BY source_type ORDER BY source_type`, jobID)
	groups, err := collect(rows, err, func(r *sql.Rows) (bySource, error) {
		var c bySource
		err := r.Scan(&c.SourceType, &c.TargetType, &c.last, &c.N)
		return c, err
	})
	if err != nil {
		return nil, s.fail(err, "count anchors", jobID)
	}
	var out []store.AnchorCount
	for _, g := range groups {
		if g.TargetType == g.last {
			out = append(out, g.AnchorCount)
			continue
		}
		rows, err := s.query(ctx, `SELECT target_type, COUNT(*) FROM anchors
			WHERE job_id = ? AND source_type = ? GROUP BY target_type ORDER BY target_type`, jobID, g.SourceType)
		cs, err := collect(rows, err, func(r *sql.Rows) (store.AnchorCount, error) {
			c := store.AnchorCount{SourceType: g.SourceType}
			err := r.Scan(&c.TargetType, &c.N)
			return c, err
		})
		if err != nil {
			return nil, s.fail(err, "count anchors", jobID, g.SourceType)
		}
		out = append(out, cs...)
	}
	return out, nil
}

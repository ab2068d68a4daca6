package sqlstore

import (
	"context"
	"database/sql"

	"provisiond/store"
)

const escrowCols = `job_id, source_type, source_id, kind, first_failed, attempts, next_attempt, code, message, error_kind`

func scanEscrow(sc interface{ Scan(...any) error }) (store.Escrow, error) {
	var (
		e                  store.Escrow
		kind               string
		first, nextAttempt int64
	)
	if err := sc.Scan(&e.JobID, &e.SourceType, &e.SourceID, &kind, &first, &e.Attempts, &nextAttempt,
		&e.Code, &e.Message, &e.ErrorKind); err != nil {
		return store.Escrow{}, err
	}
	e.Kind = store.EscrowKind(kind)
	e.FirstFailed = fromMicros(first)
	if nextAttempt != 0 {
		e.NextAttempt = fromMicros(nextAttempt)
	}
	return e, nil
}

// PutEscrow implements store.Store; store.ErrNotFound if the job is absent.
func (s *Store) PutEscrow(ctx context.Context, e store.Escrow) error {
	next := int64(0) // never: a permanent error
	if !e.NextAttempt.IsZero() {
		next = micros(e.NextAttempt)
	}
	_, err := s.exec(ctx, `INSERT INTO escrows (`+escrowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, source_type, source_id) DO UPDATE SET
		kind = excluded.kind, first_failed = excluded.first_failed, attempts = excluded.attempts,
		next_attempt = excluded.next_attempt, code = excluded.code, message = excluded.message,
		error_kind = excluded.error_kind`,
		e.JobID, e.SourceType, e.SourceID, string(e.Kind), micros(e.FirstFailed), e.Attempts, next,
		e.Code, e.Message, e.ErrorKind)
	if err != nil {
		return s.fail(err, "put escrow", e.JobID, e.SourceType, e.SourceID)
	}
	return nil
}

// DeleteEscrow implements store.Store.
func (s *Store) DeleteEscrow(ctx context.Context, jobID, sourceType, sourceID string) error {
	res, err := s.exec(ctx, `DELETE FROM escrows WHERE job_id = ? AND source_type = ? AND source_id = ?`,
		jobID, sourceType, sourceID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return s.fail(err, "delete escrow", jobID, sourceType, sourceID)
	}
	return nil
}

// ListEscrows implements store.Store, ordered by source type and id.
func (s *Store) ListEscrows(ctx context.Context, jobID string) ([]store.Escrow, error) {
	rows, err := s.query(ctx, `SELECT `+escrowCols+` FROM escrows WHERE job_id = ?
		ORDER BY source_type, source_id`, jobID)
	es, err := collect(rows, err, func(r *sql.Rows) (store.Escrow, error) { return scanEscrow(r) })
	if err != nil {
		return nil, s.fail(err, "list escrows", jobID)
	}
	return es, nil
}

// ClearEscrows implements store.Store.
func (s *Store) ClearEscrows(ctx context.Context, jobID string) error {
	if _, err := s.exec(ctx, `DELETE FROM escrows WHERE job_id = ?`, jobID); err != nil {
		return s.fail(err, "clear escrows", jobID)
	}
	return nil
}

// PutStagedDeletes implements store.Store, in one transaction.
func (s *Store) PutStagedDeletes(ctx context.Context, jobID string, ds []store.StagedDelete) error {
	err := s.inTx(ctx, func(w writeTx) error {
		var one int
		err := w.tx.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM jobs WHERE id = ?`), jobID).Scan(&one)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, `DELETE FROM staged_deletes WHERE job_id = ?`, jobID); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := w.exec(ctx, `INSERT INTO staged_deletes (job_id, source_type, source_id, action, staged)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, source_type, source_id) DO UPDATE SET
				action = excluded.action, staged = excluded.staged`,
				jobID, d.SourceType, d.SourceID, d.Action, micros(d.Staged)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "put staged deletes", jobID)
	}
	return nil
}

// ListStagedDeletes implements store.Store, ordered by source type and id.
func (s *Store) ListStagedDeletes(ctx context.Context, jobID string) ([]store.StagedDelete, error) {
	rows, err := s.query(ctx, `SELECT job_id, source_type, source_id, action, staged FROM staged_deletes
		WHERE job_id = ? ORDER BY source_type, source_id`, jobID)
	ds, err := collect(rows, err, func(r *sql.Rows) (store.StagedDelete, error) {
		var (
			d      store.StagedDelete
			staged int64
		)
		err := r.Scan(&d.JobID, &d.SourceType, &d.SourceID, &d.Action, &staged)
		d.Staged = fromMicros(staged)
		return d, err
	})
	if err != nil {
		return nil, s.fail(err, "list staged deletes", jobID)
	}
	return ds, nil
}

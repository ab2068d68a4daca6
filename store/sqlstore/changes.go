package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"provisiond/store"
)

// directoryWrite runs fn, a directory write that records its changes, in
// a write transaction, and signals subscribers once it has committed.
func (s *Store) directoryWrite(ctx context.Context, fn func(w writeTx) error) error {
	err := s.inTx(ctx, func(w writeTx) error {
		if s.d.lockFeed != "" {
			if _, err := w.exec(ctx, s.d.lockFeed); err != nil {
				return err
			}
		}
		if err := fn(w); err != nil {
			return err
		}
		if s.d.notify != "" {
			_, err := w.exec(ctx, s.d.notify, s.instance)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.changed.Notify()
	return nil
}

// record adds a change to the feed in w's transaction.
func record(ctx context.Context, w writeTx, typ, id string, deleted bool) error {
	return recordFor(ctx, w, typ, id, deleted, "")
}

// recordFor is record of a change that concerns resource's jobs alone
// ("": every job).
func recordFor(ctx context.Context, w writeTx, typ, id string, deleted bool, resource string) error {
	_, err := w.exec(ctx, `INSERT INTO changes (object_type, object_id, deleted, at, resource_id) VALUES (?, ?, ?, ?, ?)`,
		typ, id, deleted, micros(time.Now()), resource)
	return err
}

// recordAll records a change, not a deletion, for each id.
func recordAll(ctx context.Context, w writeTx, typ string, ids []string) error {
	return recordAllFor(ctx, w, typ, ids, "")
}

// recordAllFor is recordAll of changes that concern resource's jobs alone.
func recordAllFor(ctx context.Context, w writeTx, typ string, ids []string, resource string) error {
	for _, id := range ids {
		if err := recordFor(ctx, w, typ, id, false, resource); err != nil {
			return err
		}
	}
	return nil
}

// memberUsers returns the direct members of groupID that are users, in id
// order.
func memberUsers(ctx context.Context, w writeTx, groupID string) ([]string, error) {
	rows, err := w.query(ctx, `SELECT m.member_id FROM group_members m JOIN users u ON u.id = m.member_id
		WHERE m.group_id = ? ORDER BY m.member_id`, groupID)
	return collect(rows, err, scanString)
}

// groupsOf returns the groups id is a direct member of, other than
// itself, in id order.
func groupsOf(ctx context.Context, w writeTx, id string) ([]string, error) {
	rows, err := w.query(ctx, `SELECT group_id FROM group_members WHERE member_id = ? AND group_id <> ?
		ORDER BY group_id`, id, id)
	return collect(rows, err, scanString)
}

// isUser reports whether id is a user's.
func isUser(ctx context.Context, w writeTx, id string) (bool, error) {
	var n int
	err := w.tx.QueryRowContext(ctx, w.s.d.rebind(`SELECT COUNT(*) FROM users WHERE id = ?`), id).Scan(&n)
	return n > 0, err
}

// recordMembership records the changes of adding or removing a member:
// the group, and the member if it is a user.
func recordMembership(ctx context.Context, w writeTx, groupID, memberID string) error {
	if err := record(ctx, w, store.ChangeGroup, groupID, false); err != nil {
		return err
	}
	user, err := isUser(ctx, w, memberID)
	if err != nil || !user {
		return err
	}
	return record(ctx, w, store.ChangeUser, memberID, false)
}

// recordAssignment records the changes of granting or revoking an app
// role of resource: the principal and, for a group, its member users, for
// resource's jobs alone (another application's assignment of a big group
// is no work for this one's).
func recordAssignment(ctx context.Context, w writeTx, principalType, principalID, resource string) error {
	if !strings.EqualFold(principalType, store.ChangeGroup) {
		return recordFor(ctx, w, store.ChangeUser, principalID, false, resource)
	}
	if err := recordFor(ctx, w, store.ChangeGroup, principalID, false, resource); err != nil {
		return err
	}
	users, err := memberUsers(ctx, w, principalID)
	if err != nil {
		return err
	}
	return recordAllFor(ctx, w, store.ChangeUser, users, resource)
}

// ListChanges implements store.Store. The prune horizon is read after the
// rows: a prune that runs in between is reported, never missed.
func (s *Store) ListChanges(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	q, args := `SELECT seq, object_type, object_id, deleted, at, resource_id FROM changes WHERE seq > ? ORDER BY seq`, []any{after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.query(ctx, q, args...)
	cs, err := collect(rows, err, func(r *sql.Rows) (store.Change, error) {
		var (
			c  store.Change
			at int64
		)
		err := r.Scan(&c.Seq, &c.ObjectType, &c.ObjectID, &c.Deleted, &at, &c.Resource)
		c.At = fromMicros(at)
		return c, err
	})
	var prunedBefore int64
	if err == nil {
		err = s.queryRow(ctx, []any{&prunedBefore}, `SELECT pruned_before FROM change_feed`)
	}
	if err == nil && after+1 < prunedBefore {
		err = store.ErrChangesPruned
	}
	if err != nil {
		return nil, s.fail(err, "list changes", strconv.FormatInt(after, 10))
	}
	return cs, nil
}

// feedState is the newest seq still stored (0 if none) and the prune
// horizon.
const feedState = `SELECT (SELECT COALESCE(MAX(seq), 0) FROM changes), pruned_before FROM change_feed`

// lastSeq is the seq of the newest change ever recorded: the newest row,
// or, when every row was pruned, the one just below the horizon (which
// PruneChanges keeps at most one past the newest change).
func lastSeq(newest, prunedBefore int64) int64 { return max(newest, prunedBefore-1) }

// LastChangeSeq implements store.Store.
func (s *Store) LastChangeSeq(ctx context.Context) (int64, error) {
	var newest, prunedBefore int64
	if err := s.queryRow(ctx, []any{&newest, &prunedBefore}, feedState); err != nil {
		return 0, s.fail(err, "last change seq")
	}
	return lastSeq(newest, prunedBefore), nil
}

// PruneChanges implements store.Store.
func (s *Store) PruneChanges(ctx context.Context, before int64) error {
	err := s.inTx(ctx, func(w writeTx) error {
		var newest, prunedBefore int64
		if err := w.tx.QueryRowContext(ctx, feedState).Scan(&newest, &prunedBefore); err != nil {
			return err
		}
		horizon := max(prunedBefore, min(before, lastSeq(newest, prunedBefore)+1))
		if _, err := w.exec(ctx, `DELETE FROM changes WHERE seq < ?`, horizon); err != nil {
			return err
		}
		_, err := w.exec(ctx, `UPDATE change_feed SET pruned_before = ?`, horizon)
		return err
	})
	if err != nil {
		return s.fail(err, "prune changes", strconv.FormatInt(before, 10))
	}
	return nil
}

// Subscribe implements store.Store. Only writes through s signal, not
// those of another Store on the same database.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.changed.Subscribe() }

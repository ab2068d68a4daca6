package sqlstore

import (
	"context"
	"time"
)

// UseOnce implements store.Store.
func (s *Store) UseOnce(ctx context.Context, key string, expires, now time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM used_once WHERE expires < ?`, micros(now)); err != nil {
		return s.fail(err, "prune used once")
	}
	if _, err := s.exec(ctx, `INSERT INTO used_once (id, expires) VALUES (?, ?)`, key, micros(expires)); err != nil {
		return s.fail(err, "use once", key)
	}
	return nil
}

// WasUsed implements store.Store.
func (s *Store) WasUsed(ctx context.Context, key string, now time.Time) (bool, error) {
	var n int
	if err := s.queryRow(ctx, []any{&n}, `SELECT COUNT(*) FROM used_once WHERE id = ? AND expires >= ?`, key, micros(now)); err != nil {
		return false, s.fail(err, "was used", key)
	}
	return n > 0, nil
}

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

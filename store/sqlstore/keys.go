package sqlstore

import (
	"context"

	"provisiond/store"
)

// ClaimKeys implements store.Store: the first fingerprint is inserted, and
// concurrent first claims agree on one (the primary key), which every
// claim then compares with.
func (s *Store) ClaimKeys(ctx context.Context, fingerprint string) error {
	var have string
	err := s.inTx(ctx, func(w writeTx) error {
		if _, err := w.exec(ctx, `INSERT INTO key_fingerprint (id, fingerprint) VALUES (1, ?)
			ON CONFLICT (id) DO NOTHING`, fingerprint); err != nil {
			return err
		}
		return w.tx.QueryRowContext(ctx, `SELECT fingerprint FROM key_fingerprint WHERE id = 1`).Scan(&have)
	})
	if err == nil && have != fingerprint {
		err = store.ErrKeysDiffer
	}
	if err != nil {
		return s.fail(err, "claim keys")
	}
	return nil
}

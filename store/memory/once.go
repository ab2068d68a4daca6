package memory

import (
	"context"
	"time"

	"provisiond/store"
)

// UseOnce implements store.Store.
func (s *Store) UseOnce(_ context.Context, key string, expires, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.usedOnce {
		if exp.Before(now) {
			delete(s.usedOnce, k)
		}
	}
	if _, used := s.usedOnce[key]; used {
		return fail(store.ErrConflict, "use once", key)
	}
	s.usedOnce[key] = expires
	return nil
}

// WasUsed implements store.Store.
func (s *Store) WasUsed(_ context.Context, key string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.usedOnce[key]
	return ok && !exp.Before(now), nil
}

package memory

import (
	"cmp"
	"context"
	"slices"

	"provisiond/store"
)

// PutEscrow implements store.Store.
func (s *Store) PutEscrow(_ context.Context, e store.Escrow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[e.JobID]; !ok {
		return fail(store.ErrNotFound, "put escrow", e.JobID, e.SourceType, e.SourceID)
	}
	es := s.escrows[e.JobID]
	if es == nil {
		es = map[anchorKey]store.Escrow{}
		s.escrows[e.JobID] = es
	}
	e.FirstFailed, e.NextAttempt = norm(e.FirstFailed), norm(e.NextAttempt)
	es[anchorKey{e.SourceType, e.SourceID}] = e
	return nil
}

// DeleteEscrow implements store.Store.
func (s *Store) DeleteEscrow(_ context.Context, jobID, sourceType, sourceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := anchorKey{sourceType, sourceID}
	if _, ok := s.escrows[jobID][k]; !ok {
		return fail(store.ErrNotFound, "delete escrow", jobID, sourceType, sourceID)
	}
	delete(s.escrows[jobID], k)
	return nil
}

// ListEscrows implements store.Store, ordered by source type and id.
func (s *Store) ListEscrows(_ context.Context, jobID string) ([]store.Escrow, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Escrow, 0, len(s.escrows[jobID]))
	for _, e := range s.escrows[jobID] {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b store.Escrow) int {
		return cmp.Or(cmp.Compare(a.SourceType, b.SourceType), cmp.Compare(a.SourceID, b.SourceID))
	})
	return out, nil
}

// ClearEscrows implements store.Store.
func (s *Store) ClearEscrows(_ context.Context, jobID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.escrows, jobID)
	return nil
}

// PutStagedDeletes implements store.Store.
func (s *Store) PutStagedDeletes(_ context.Context, jobID string, ds []store.StagedDelete) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[jobID]; !ok {
		return fail(store.ErrNotFound, "put staged deletes", jobID)
	}
	if len(ds) == 0 {
		delete(s.staged, jobID)
		return nil
	}
	out := make([]store.StagedDelete, len(ds))
	for i, d := range ds {
		d.JobID, d.Staged = jobID, norm(d.Staged)
		out[i] = d
	}
	// A key given twice keeps its last entry.
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b store.StagedDelete) int {
		return cmp.Or(cmp.Compare(a.SourceType, b.SourceType), cmp.Compare(a.SourceID, b.SourceID))
	})
	out = slices.CompactFunc(out, func(a, b store.StagedDelete) bool {
		return a.SourceType == b.SourceType && a.SourceID == b.SourceID
	})
	s.staged[jobID] = out
	return nil
}

// ListStagedDeletes implements store.Store.
func (s *Store) ListStagedDeletes(_ context.Context, jobID string) ([]store.StagedDelete, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.staged[jobID]), nil
}

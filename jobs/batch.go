package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"provisiond/engine"
	"provisiond/store"
)

// batchSize is how many anchor and log writes a cycle keeps before it
// commits them together.
const batchSize = 256

// batchState is a cycle's write-behind engine.State: anchor and log
// writes are kept in memory and committed together (store.CommitBatch)
// when batchSize of them are waiting and whenever the cycle flushes: at
// the end of every page of objects, so before a watermark moves past
// them and before the cycle ends. Reads see the kept writes.
//
// A crash loses the writes not yet committed, never the ones a watermark
// passed: a target object created without its anchor is matched again by
// the replay rather than created twice, and the replay logs its own
// events.
type batchState struct {
	st store.Store
	// mu is held while a batch commits too, so that no read falls in the
	// gap between the kept writes and the stored ones.
	mu      sync.Mutex
	anchors map[store.AnchorKey]*store.Anchor // nil: deleted
	logs    []store.ProvisioningLog
}

var _ engine.State = (*batchState)(nil)

func newBatchState(st store.Store) *batchState {
	return &batchState{st: st, anchors: map[store.AnchorKey]*store.Anchor{}}
}

func keyOf(a store.Anchor) store.AnchorKey {
	return store.AnchorKey{JobID: a.JobID, SourceType: a.SourceType, SourceID: a.SourceID}
}

// GetAnchor implements engine.State.
func (b *batchState) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	b.mu.Lock()
	a, kept := b.anchors[store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: sourceID}]
	b.mu.Unlock()
	switch {
	case kept && a == nil:
		return store.Anchor{}, fmt.Errorf("get anchor %s/%s/%s: %w", jobID, sourceType, sourceID, store.ErrNotFound)
	case kept:
		return *a, nil
	}
	return b.st.GetAnchor(ctx, jobID, sourceType, sourceID)
}

// PutAnchor implements engine.State.
func (b *batchState) PutAnchor(ctx context.Context, a store.Anchor) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.anchors[keyOf(a)] = &a
	return b.flushIfFull(ctx)
}

// DeleteAnchor implements engine.State; store.ErrNotFound when there is
// no such anchor, kept or stored.
func (b *batchState) DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error {
	k := store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: sourceID}
	b.mu.Lock()
	defer b.mu.Unlock()
	a, kept := b.anchors[k]
	if !kept {
		if _, err := b.st.GetAnchor(ctx, jobID, sourceType, sourceID); err != nil {
			return err
		}
	} else if a == nil {
		return fmt.Errorf("delete anchor %s/%s/%s: %w", jobID, sourceType, sourceID, store.ErrNotFound)
	}
	b.anchors[k] = nil
	return b.flushIfFull(ctx)
}

// GetAnchorByTarget implements engine.State, after a flush.
func (b *batchState) GetAnchorByTarget(ctx context.Context, jobID, targetType, targetID string) (store.Anchor, error) {
	if err := b.Flush(ctx); err != nil {
		return store.Anchor{}, err
	}
	return b.st.GetAnchorByTarget(ctx, jobID, targetType, targetID)
}

// ListAnchors implements engine.State, after a flush.
func (b *batchState) ListAnchors(ctx context.Context, jobID string) ([]store.Anchor, error) {
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	return b.st.ListAnchors(ctx, jobID)
}

// AddProvisioningLog implements engine.State.
func (b *batchState) AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, l)
	return b.flushIfFull(ctx)
}

// Flush commits the kept writes.
func (b *batchState) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flush(ctx)
}

func (b *batchState) flushIfFull(ctx context.Context) error {
	if len(b.anchors)+len(b.logs) < batchSize {
		return nil
	}
	return b.flush(ctx)
}

// flush commits the kept writes; b.mu is held. On a failure they are
// kept, and the next flush tries again.
func (b *batchState) flush(ctx context.Context) error {
	if len(b.anchors) == 0 && len(b.logs) == 0 {
		return nil
	}
	var batch store.Batch
	for k, a := range b.anchors {
		if a == nil {
			batch.Deleted = append(batch.Deleted, k)
		} else {
			batch.Anchors = append(batch.Anchors, *a)
		}
	}
	batch.Logs = b.logs
	if err := b.st.CommitBatch(ctx, batch); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the job was deleted during its cycle: %w", err)
		}
		return err
	}
	clear(b.anchors)
	b.logs = nil
	return nil
}

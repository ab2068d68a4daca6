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
// commits them together: 2,048 objects. Anchors go to two indexes in
// random order (source and target ids), so a commit writes about a page
// of each per object it holds until it holds as many objects as the
// indexes have pages; the more a commit holds, the fewer pages it writes
// per object. At 128 objects a commit, storing a 100,000-user cycle's
// anchors took 7.4 s; at 2,048, 4.4 s (the writer's page cache holding
// what a commit changes: sqliteWriterPragmas).
const batchSize = 4096

// batchState is a cycle's write-behind engine.State: anchor and log
// writes are kept in memory and committed together (store.CommitBatch).
// A full batch is committed in the background while the workers go on;
// the cycle flushes when the background commits fall two batches behind
// (bounding what the batch keeps), before a watermark moves past them and
// before the cycle ends, and a flush waits for the background commit. Reads see the
// kept writes and the ones being committed, and the anchors of the last
// two pages, preloaded in one query each.
//
// A crash loses the writes not yet committed, never the ones a watermark
// passed: a target object created without its anchor is matched again by
// the replay rather than created twice, and the replay logs its own
// events.
type batchState struct {
	st store.Store
	// commitMu is held by the one commit at a time.
	commitMu sync.Mutex
	bg       sync.WaitGroup // background commits

	mu      sync.Mutex
	anchors map[store.AnchorKey]*store.Anchor // nil: deleted
	logs    []store.ProvisioningLog
	// committing is the batch being committed: read until it is stored.
	committing map[store.AnchorKey]*store.Anchor
	// busy says a background commit is running or about to; bgFailed
	// that the last one failed, so that only a flush tries again.
	busy, bgFailed bool
	// preloaded is the stored anchors of the objects of a page (nil:
	// none), read in one query, and before is the page before it, whose
	// last objects may still be in flight; a write drops its key.
	preloaded, before map[store.AnchorKey]*store.Anchor
	// loading is the page Preload is reading, whose keys a write drops.
	loading map[store.AnchorKey]*store.Anchor
}

var _ engine.State = (*batchState)(nil)

func newBatchState(st store.Store) *batchState {
	return &batchState{st: st, anchors: map[store.AnchorKey]*store.Anchor{}}
}

func keyOf(a store.Anchor) store.AnchorKey {
	return store.AnchorKey{JobID: a.JobID, SourceType: a.SourceType, SourceID: a.SourceID}
}

// kept returns what the batch knows of an anchor: kept is false when the
// store must be asked; b.mu is held.
func (b *batchState) kept(k store.AnchorKey) (a *store.Anchor, kept bool) {
	if a, ok := b.anchors[k]; ok {
		return a, true
	}
	if a, ok := b.committing[k]; ok {
		return a, true
	}
	if a, ok := b.preloaded[k]; ok {
		return a, true
	}
	a, ok := b.before[k]
	return a, ok
}

// Preload reads the stored anchors of the source objects ids in one query,
// so that the page's objects cost no anchor read each. It keeps the
// previous page's too, and forgets the one before. Workers may write
// while it reads: a key written meanwhile is left out (its read goes to
// the batch or the store), so a preload never hides a newer write. One
// Preload runs at a time.
func (b *batchState) Preload(ctx context.Context, jobID, sourceType string, ids []string) error {
	loading := make(map[store.AnchorKey]*store.Anchor, len(ids))
	for _, id := range ids {
		loading[store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: id}] = nil
	}
	b.mu.Lock()
	b.loading = loading
	b.mu.Unlock()
	as, err := b.st.GetAnchors(ctx, jobID, sourceType, ids)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loading = nil
	if err != nil {
		return err
	}
	for i := range as {
		if _, still := loading[keyOf(as[i])]; still {
			loading[keyOf(as[i])] = &as[i]
		}
	}
	b.preloaded, b.before = loading, b.preloaded
	return nil
}

// forgetPreloaded drops k from the preloaded pages once it is written;
// b.mu is held.
func (b *batchState) forgetPreloaded(k store.AnchorKey) {
	delete(b.preloaded, k)
	delete(b.before, k)
	delete(b.loading, k)
}

// GetAnchor implements engine.State.
func (b *batchState) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	b.mu.Lock()
	a, kept := b.kept(store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: sourceID})
	b.mu.Unlock()
	switch {
	case kept && a == nil:
		// Unwrapped: every new object of an initial cycle asks, and the
		// engine only checks which error it is.
		return store.Anchor{}, store.ErrNotFound
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
	b.forgetPreloaded(keyOf(a))
	b.commitIfFull(ctx)
	return nil
}

// DeleteAnchor implements engine.State; store.ErrNotFound when there is
// no such anchor, kept or stored.
func (b *batchState) DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error {
	k := store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: sourceID}
	b.mu.Lock()
	defer b.mu.Unlock()
	a, kept := b.kept(k)
	if !kept {
		if _, err := b.st.GetAnchor(ctx, jobID, sourceType, sourceID); err != nil {
			return err
		}
	} else if a == nil {
		return fmt.Errorf("delete anchor %s/%s/%s: %w", jobID, sourceType, sourceID, store.ErrNotFound)
	}
	b.anchors[k] = nil
	b.forgetPreloaded(k)
	b.commitIfFull(ctx)
	return nil
}

// GetAnchorsByTarget implements engine.State, after a flush.
func (b *batchState) GetAnchorsByTarget(ctx context.Context, jobID, targetType string, targetIDs []string) ([]store.Anchor, error) {
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	return b.st.GetAnchorsByTarget(ctx, jobID, targetType, targetIDs)
}

// GetAnchors implements engine.State: the kept writes, then the store.
func (b *batchState) GetAnchors(ctx context.Context, jobID, sourceType string, sourceIDs []string) ([]store.Anchor, error) {
	var out []store.Anchor
	var ask []string
	b.mu.Lock()
	for _, id := range sourceIDs {
		switch a, kept := b.kept(store.AnchorKey{JobID: jobID, SourceType: sourceType, SourceID: id}); {
		case !kept:
			ask = append(ask, id)
		case a != nil:
			out = append(out, *a)
		}
	}
	b.mu.Unlock()
	if len(ask) == 0 {
		return out, nil
	}
	stored, err := b.st.GetAnchors(ctx, jobID, sourceType, ask)
	return append(out, stored...), err
}

// AddProvisioningLog implements engine.State.
func (b *batchState) AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, l)
	b.commitIfFull(ctx)
	return nil
}

// backlog is how many writes the batch keeps.
func (b *batchState) backlog() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.anchors) + len(b.logs)
}

// Flush commits the kept writes, after the background commit if one is
// running (whose failed writes it commits again).
func (b *batchState) Flush(ctx context.Context) error {
	return b.commit(ctx)
}

// commitIfFull starts a background commit when a batch is full and none is
// running; b.mu is held. A failed background commit keeps its writes for
// the next flush, which reports the failure if it persists.
func (b *batchState) commitIfFull(ctx context.Context) {
	if b.busy || b.bgFailed || len(b.anchors)+len(b.logs) < batchSize {
		return
	}
	b.busy = true
	b.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cycleObjectTimeout)
		defer cancel()
		for {
			err := b.commit(ctx)
			b.mu.Lock()
			if err != nil || len(b.anchors)+len(b.logs) < batchSize {
				b.busy, b.bgFailed = false, err != nil
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
		}
	})
}

// commit commits the kept writes as one batch, one commit at a time. Until
// the batch is stored, reads find its anchors in b.committing; on a
// failure its writes are kept again (under any newer ones), and the next
// commit tries again.
func (b *batchState) commit(ctx context.Context) error {
	b.commitMu.Lock()
	defer b.commitMu.Unlock()
	b.mu.Lock()
	anchors, logs := b.anchors, b.logs
	if len(anchors) == 0 && len(logs) == 0 {
		b.mu.Unlock()
		return nil
	}
	// The next batch's, made to the size a batch reaches: an object
	// writes an anchor and a log.
	b.anchors, b.logs, b.committing = make(map[store.AnchorKey]*store.Anchor, batchSize/2), make([]store.ProvisioningLog, 0, batchSize/2), anchors
	b.mu.Unlock()

	batch := store.Batch{Logs: logs, Anchors: make([]store.Anchor, 0, len(anchors))}
	for k, a := range anchors {
		if a == nil {
			batch.Deleted = append(batch.Deleted, k)
		} else {
			batch.Anchors = append(batch.Anchors, *a)
		}
	}
	err := b.st.CommitBatch(ctx, batch)
	deleted := errors.Is(err, store.ErrNotFound)
	if deleted && len(logs) > 0 && b.st.CommitBatch(ctx, store.Batch{Logs: logs}) == nil {
		// The job went with its anchors, but the logs of what it wrote
		// outlive it, as Entra's do.
		anchors, logs = nil, nil
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	b.committing = nil
	if err == nil {
		b.bgFailed = false
	} else {
		for k, a := range anchors {
			if _, newer := b.anchors[k]; !newer {
				b.anchors[k] = a
			}
		}
		b.logs = append(logs, b.logs...)
	}
	if deleted {
		return fmt.Errorf("the job was deleted during its cycle: %w", err)
	}
	return err
}

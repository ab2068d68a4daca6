package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/store"
)

// This file is escrow: an object whose export failed is kept with its
// error and retried by later cycles on Entra's schedule, incremental
// cycles included (the change feed alone would never bring it back).

// EscrowLifetime is how long a failing object is retried before its escrow
// is dropped (and the drop logged).
const EscrowLifetime = 28 * 24 * time.Hour

// escrowQuickFirst is the first back-off of a transient failure after the
// immediate retry; it doubles while it is shorter than Entra's first gap.
const escrowQuickFirst = 10 * time.Minute

// entraGaps are Entra's gaps between retries; the last repeats.
var entraGaps = []time.Duration{6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// retryDelay is how long after its attempts-th failure an object is tried
// again. A transient target error (timeout, 429, 5xx, connection) is
// retried by the next cycle, then after 10 min, 20 min, 40 min, ... while
// that is under 6 h; every other retryable failure starts on Entra's
// schedule: +6 h, +12 h, then every 24 h.
func retryDelay(kind connector.Kind, attempts int64) time.Duration {
	n := attempts
	if kind == connector.KindTransient {
		if n <= 1 {
			return 0
		}
		quick := int64(1) // the immediate retry
		for d := escrowQuickFirst; d < entraGaps[0]; d *= 2 {
			quick++
			if n == quick {
				return d
			}
		}
		n -= quick
	}
	return entraGaps[min(max(n, 1), int64(len(entraGaps)))-1]
}

// permanent reports a failure that retrying cannot fix (the target refused
// the data, a conflict matching cannot resolve, a mapping error): it is
// escrowed once and retried only when the object changes.
func permanent(kind connector.Kind) bool {
	return kind != connector.KindTransient && kind != connector.KindUnauthorized
}

// escrowKey names an object of a job.
type escrowKey struct{ typ, id string }

// escrowBook is a cycle's view of its job's escrows: loaded when the cycle
// starts, kept in step with the store as objects fail and succeed.
type escrowBook struct {
	st    store.Store
	jobID string
	mu    sync.Mutex
	held  map[escrowKey]store.Escrow
	// touched are the escrowed or failing objects this cycle processed,
	// which it does not retry again.
	touched map[escrowKey]bool
}

// loadEscrows reads the job's escrows and drops those older than
// EscrowLifetime.
func (c *cycle) loadEscrows(ctx context.Context) error {
	es, err := c.s.store.ListEscrows(ctx, c.j.ID)
	if err != nil {
		return fmt.Errorf("read escrows: %w", err)
	}
	b := &escrowBook{st: c.s.store, jobID: c.j.ID, held: make(map[escrowKey]store.Escrow, len(es)), touched: map[escrowKey]bool{}}
	for _, e := range es {
		if c.began.Sub(e.FirstFailed) >= EscrowLifetime {
			if err := c.s.store.DeleteEscrow(ctx, e.JobID, e.SourceType, e.SourceID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("drop escrow: %w", err)
			}
			c.s.log.Warn("escrow dropped: the object kept failing for 28 days", "job", c.j.ID, "type", e.SourceType,
				"id", e.SourceID, "attempts", e.Attempts, "firstFailed", e.FirstFailed, "code", e.Code, "error", e.Message)
			continue
		}
		b.held[escrowKey{strings.ToLower(e.SourceType), e.SourceID}] = e
	}
	c.escrows = b
	return nil
}

// record keeps the store's escrow of one object in step with its outcome:
// a failure creates or updates it, anything else clears it.
func (b *escrowBook) record(ctx context.Context, typ, id string, out *engine.Outcome, now time.Time) error {
	k := escrowKey{strings.ToLower(typ), id}
	b.mu.Lock()
	prev, had := b.held[k]
	failed := out != nil && out.Status == engine.StatusFailure
	if had || failed {
		b.touched[k] = true // done for this cycle: not retried again by it
	}
	b.mu.Unlock()
	ctx = context.WithoutCancel(ctx) // the object was processed: record it
	if !failed {
		if !had {
			return nil
		}
		if err := b.st.DeleteEscrow(ctx, b.jobID, prev.SourceType, prev.SourceID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("clear escrow: %w", err)
		}
		b.mu.Lock()
		delete(b.held, k)
		b.mu.Unlock()
		return nil
	}
	e := store.Escrow{JobID: b.jobID, SourceType: typ, SourceID: id, Kind: store.EscrowBase, FirstFailed: now, Attempts: 1,
		Code: out.Code, Message: out.Message, ErrorKind: out.Kind.String()}
	if out.Reference {
		e.Kind = store.EscrowReference
	}
	if had {
		e.FirstFailed, e.Attempts = prev.FirstFailed, prev.Attempts+1
	}
	if !permanent(out.Kind) {
		e.NextAttempt = now.Add(max(retryDelay(out.Kind, e.Attempts), out.RetryAfter))
	}
	if err := b.st.PutEscrow(ctx, e); err != nil {
		return fmt.Errorf("escrow %s %s: %w", typ, id, err)
	}
	b.mu.Lock()
	b.held[k] = e
	b.mu.Unlock()
	return nil
}

// forget clears the escrow of an object that no longer exists.
func (b *escrowBook) forget(ctx context.Context, typ, id string) error {
	return b.record(ctx, typ, id, nil, time.Time{})
}

// due returns the ids of the escrowed objects of type typ this cycle has
// not processed and whose next attempt has come.
func (b *escrowBook) due(typ string, now time.Time) []item {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []item
	for k, e := range b.held {
		if k.typ == strings.ToLower(typ) && !b.touched[k] && !e.NextAttempt.IsZero() && !e.NextAttempt.After(now) {
			out = append(out, item{id: e.SourceID})
		}
	}
	slices.SortFunc(out, func(a, b item) int { return strings.Compare(a.id, b.id) })
	return out
}

// clear forgets every escrow (pruned).
func (b *escrowBook) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = map[escrowKey]store.Escrow{}
}

// count returns how many escrows the job holds now.
func (b *escrowBook) count() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(len(b.held))
}

// Package keylock serialises work per key (a job's source object, a target
// group) without keeping a mutex per key forever.
//
// Lock takes several keys at once in a fixed (sorted) order, so two callers
// that need overlapping keys cannot deadlock; a key named twice in one call is
// taken once; and a waiting caller gives up when its context ends.
package keylock

import (
	"context"
	"slices"
	"sync"
)

// Locks is a set of per-key locks. The zero value is ready to use.
type Locks struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	ch   chan struct{} // holds one token while the key is locked
	refs int           // holders and waiters
}

// Lock takes every key (duplicates once, in sorted order) and returns the
// function that releases them. If ctx ends while it waits, Lock releases what
// it took and returns ctx's error.
func (l *Locks) Lock(ctx context.Context, keys ...string) (unlock func(), err error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	held := make([]string, 0, len(keys))
	release := func() {
		for i := len(held) - 1; i >= 0; i-- {
			l.release(held[i])
		}
	}
	for _, k := range keys {
		if err := l.acquire(ctx, k); err != nil {
			release()
			return nil, err
		}
		held = append(held, k)
	}
	var once sync.Once
	return func() { once.Do(release) }, nil
}

func (l *Locks) acquire(ctx context.Context, key string) error {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*entry{}
	}
	e := l.m[key]
	if e == nil {
		e = &entry{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.refs++
	l.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		l.drop(key, e)
		return ctx.Err()
	}
}

func (l *Locks) release(key string) {
	l.mu.Lock()
	e := l.m[key]
	l.mu.Unlock()
	<-e.ch
	l.drop(key, e)
}

func (l *Locks) drop(key string, e *entry) {
	l.mu.Lock()
	e.refs--
	if e.refs == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}

// Len reports how many keys are locked or waited for (for tests and metrics).
func (l *Locks) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

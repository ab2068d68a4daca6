package jobs

import (
	"context"
	"errors"
	"sync"
	"time"

	"provisiond/connector"
	"provisiond/store"
)

// Watchers returns the sources of a started job that tell of their changes
// (connector.Watcher): LDAP directories. ErrNotActive when the job is not
// started.
func (s *Service) Watchers(ctx context.Context, spID, jobID string) ([]connector.Watcher, error) {
	sp, err := s.store.GetServicePrincipal(ctx, spID)
	if err != nil {
		return nil, err
	}
	j, err := s.store.GetJob(ctx, spID, jobID)
	if err != nil {
		return nil, err
	}
	if j.Schedule.State != store.ScheduleActive {
		return nil, ErrNotActive
	}
	comp, err := s.Compiled(j)
	if err != nil {
		return nil, err
	}
	var ws []connector.Watcher
	for _, rule := range comp.Rules {
		rt, err := s.Runtime(ctx, sp, j, rule)
		if err != nil {
			return nil, err
		}
		if w, ok := rt.Source.(connector.Watcher); ok {
			ws = append(ws, w)
		}
	}
	return ws, nil
}

// Watch backoff: how soon a broken watch is tried again, doubling up to
// the maximum. A watch is also renewed every watchRenew, so one begun
// with credentials since replaced moves to the job's current source.
const (
	watchRetry    = time.Second
	watchRetryMax = time.Minute
	watchRenew    = 10 * time.Minute
	// watchSettle is how long a watch begun after a broken one must last
	// before the job catches up with what changed in between.
	watchSettle = 2 * time.Second
)

// watchSources watches the sources of a started job that can (LDAP
// syncrepl, AD notifications) and runs its incremental cycle shortly after
// each change, as a directory write does; a watch that breaks is
// reconnected with backoff. It returns at once: one watch per job runs
// until Stop, Shutdown or the job is no longer started.
func (r *Runner[TTx]) watchSources(spID, jobID string) {
	r.mu.Lock()
	if r.watching[jobID] != nil || r.base == nil {
		r.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(r.base)
	r.watching[jobID] = cancel
	r.mu.Unlock()
	go func() {
		defer func() {
			r.mu.Lock()
			delete(r.watching, jobID)
			r.mu.Unlock()
			cancel()
		}()
		kick := r.debounced(ctx, spID, jobID)
		backoff := watchRetry
		broke := false // the last watch broke: changes since went unnotified
		for ctx.Err() == nil {
			ws, err := r.svc.Watchers(ctx, spID, jobID)
			if errors.Is(err, ErrNotActive) || errors.Is(err, store.ErrNotFound) || (err == nil && len(ws) == 0) {
				return
			}
			began := time.Now()
			if err == nil {
				wctx, cancel := context.WithTimeout(ctx, watchRenew)
				var catchUp *time.Timer
				if broke {
					// Once the source answers again, a cycle picks up from
					// the watermark what changed while nobody watched.
					catchUp = time.AfterFunc(watchSettle, kick)
				}
				err = watchAll(wctx, ws, kick)
				if catchUp != nil && !catchUp.Stop() {
					broke = false // caught up
				}
				renewed := wctx.Err() == context.DeadlineExceeded
				cancel()
				if renewed && ctx.Err() == nil {
					backoff = watchRetry
					continue
				}
			}
			if ctx.Err() != nil {
				return
			}
			broke = true
			if time.Since(began) > watchRetryMax {
				backoff = watchRetry // it had worked a while
			}
			r.log.Warn("watching the source for changes failed; retrying", "job", jobID, "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, watchRetryMax)
		}
	}()
}

// watchAll watches every source until one watch ends.
func watchAll(ctx context.Context, ws []connector.Watcher, changed func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.Watch(ctx, changed)
			if err == nil {
				err = errors.New("the watch ended")
			}
			cancel(err)
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// debounced returns a function that schedules the job's cycle changeDelay
// after the first of a burst of calls.
func (r *Runner[TTx]) debounced(ctx context.Context, spID, jobID string) func() {
	var (
		mu      sync.Mutex
		pending bool
	)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if pending {
			return
		}
		pending = true
		time.AfterFunc(changeDelay, func() {
			mu.Lock()
			pending = false
			mu.Unlock()
			if err := r.Schedule(ctx, spID, jobID, time.Now()); err != nil && ctx.Err() == nil {
				r.log.Warn("scheduling a change-driven cycle failed", "job", jobID, "err", err)
			}
		})
	}
}

// stopWatching ends the job's watch.
func (r *Runner[TTx]) stopWatching(jobID string) {
	r.mu.Lock()
	cancel := r.watching[jobID]
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

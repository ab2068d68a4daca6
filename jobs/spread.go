package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// This file is the Runner's side of spreading (chunk.go): chunks are River
// jobs in a queue of their own, so a node's cycles waiting for their
// chunks never hold the workers the chunks need.

// chunkQueue is River's queue of chunks.
const chunkQueue = "provisiond_chunks"

func (chunkArgs) Kind() string { return "provisiond_chunk" }

func (chunkArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: chunkQueue} }

// chunkPoll is how often a coordinator reads its chunks' states.
const chunkPoll = 100 * time.Millisecond

// orphanGrace is how long a running chunk or cycle must stay unlocked
// before another node takes it over: longer than River takes to record
// one whose worker has just returned (a worker lets go of its lock as its
// Work returns, before River marks the job completed).
const orphanGrace = 2 * time.Second

// unlockedSince remembers since when River jobs still running were seen
// with nobody holding their lock.
type unlockedSince map[int64]time.Time

// orphaned reports whether the running River job id, whose lock is free
// or not, has been unlocked for orphanGrace: one look is not enough.
func (u unlockedSince) orphaned(id int64, free bool) bool {
	since, seen := u[id]
	switch {
	case !free:
		delete(u, id)
		return false
	case !seen:
		u[id] = time.Now()
		return false
	case time.Since(since) < orphanGrace:
		return false
	}
	delete(u, id)
	return true
}

// errCycleOver stops a chunk whose cycle ended or whose coordinator died:
// the job's next cycle does the work again.
var errCycleOver = errors.New("the chunk's cycle is over")

func cycleLockName(cycleID string) string { return "cycle:" + cycleID }
func chunkLockName(id int64) string       { return "chunk:" + strconv.FormatInt(id, 10) }

// spreading implements spreader.
func (r *Runner[TTx]) spreading() bool { return r.started.Load() }

// beginCycle implements spreader.
func (r *Runner[TTx]) beginCycle(ctx context.Context, jobID, cycleID string) (func(), error) {
	unlock := func() {}
	if r.workLock != nil {
		u, ok, err := r.workLock(ctx, cycleLockName(cycleID))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("cycle %s is already running", cycleID)
		}
		unlock = u
	}
	r.mu.Lock()
	r.live[cycleID] = true
	r.mu.Unlock()
	end := func() {
		r.mu.Lock()
		delete(r.live, cycleID)
		r.mu.Unlock()
		unlock()
		// Chunks not started yet need not start: their cycle is over.
		if err := r.cancelChunks(context.WithoutCancel(ctx), cycleID); err != nil {
			r.log.Warn("cancelling a cycle's chunks failed", "cycle", cycleID, "err", err)
		}
	}
	// The chunks of an earlier cycle of the job (its coordinator died)
	// stop when they see it; wait for them, so that no object is worked
	// by two cycles at once.
	for {
		busy, err := r.chunksAlive(ctx, jobID, cycleID)
		if err != nil || !busy {
			if err != nil {
				end()
			}
			return end, err
		}
		select {
		case <-ctx.Done():
			end()
			return nil, ctx.Err()
		case <-time.After(chunkPoll):
		}
	}
}

// chunksAlive reports whether a chunk of another cycle of jobID than
// cycleID is being worked by a live node.
func (r *Runner[TTx]) chunksAlive(ctx context.Context, jobID, cycleID string) (bool, error) {
	rows, err := r.listChunks(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).
		Where("args ->> 'job' = @job", river.NamedArgs{"job": jobID}))
	if err != nil {
		return false, err
	}
	for _, row := range rows {
		var a chunkArgs
		if json.Unmarshal(row.EncodedArgs, &a) != nil || a.Cycle == cycleID {
			continue
		}
		if alive, err := r.chunkAlive(ctx, row.ID); err != nil || alive {
			return alive, err
		}
	}
	return false, nil
}

// chunkAlive reports whether chunk id is being worked by a live node: this
// one, or (on a shared database) one that holds its lock.
func (r *Runner[TTx]) chunkAlive(ctx context.Context, id int64) (bool, error) {
	r.mu.Lock()
	here := r.working[id]
	r.mu.Unlock()
	if here {
		return true, nil
	}
	return r.heldElsewhere(ctx, chunkLockName(id))
}

// cycleAlive reports whether cycleID's coordinator is running: on this
// node, or (on a shared database) on one that holds its lock.
func (r *Runner[TTx]) cycleAlive(ctx context.Context, cycleID string) (bool, error) {
	r.mu.Lock()
	here := r.live[cycleID]
	r.mu.Unlock()
	if here {
		return true, nil
	}
	return r.heldElsewhere(ctx, cycleLockName(cycleID))
}

// heldElsewhere reports whether another process holds the work lock name
// (never, without a shared database).
func (r *Runner[TTx]) heldElsewhere(ctx context.Context, name string) (bool, error) {
	if r.workLock == nil {
		return false, nil
	}
	unlock, free, err := r.workLock(ctx, name)
	if err != nil {
		return false, err
	}
	if free {
		unlock()
	}
	return !free, nil
}

// dropEndedListings forgets the target listings this node read for the
// chunks of cycles whose coordinator (elsewhere) has ended.
func (r *Runner[TTx]) dropEndedListings(ctx context.Context) {
	for _, id := range r.svc.listedCycles() {
		if alive, err := r.cycleAlive(ctx, id); err == nil && !alive {
			r.svc.dropListings(id)
		}
	}
}

// listChunks lists the chunks params selects, every page.
func (r *Runner[TTx]) listChunks(ctx context.Context, params *river.JobListParams) ([]*rivertype.JobRow, error) {
	params = params.Kinds(chunkArgs{}.Kind()).First(100)
	var out []*rivertype.JobRow
	for {
		res, err := r.client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list chunks: %w", err)
		}
		out = append(out, res.Jobs...)
		if len(res.Jobs) < 100 {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// cancelChunks cancels the chunks of cycleID that are not finished.
func (r *Runner[TTx]) cancelChunks(ctx context.Context, cycleID string) error {
	rows, err := r.listChunks(ctx, river.NewJobListParams().
		States(rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateRunning).
		Where("args ->> 'cycle' = @cycle", river.NamedArgs{"cycle": cycleID}))
	if err != nil {
		return err
	}
	for _, row := range rows {
		if _, err := r.client.JobCancel(ctx, row.ID); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
			return err
		}
	}
	return nil
}

// addChunk implements spreader.
func (r *Runner[TTx]) addChunk(ctx context.Context, a chunkArgs) (int64, error) {
	res, err := r.client.Insert(ctx, a, nil)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// waitChunks implements spreader. A chunk whose node died (its lock went
// with it) is cancelled and queued again, to be worked by a live node
// without the dead one's target listing.
func (r *Runner[TTx]) waitChunks(ctx context.Context, cycleID string, pending map[int64]chunkArgs, done func(chunkResult)) error {
	unlocked := unlockedSince{}
	for {
		// The chunks from the first pending one on: those before are done.
		first := int64(-1)
		for id := range pending {
			if first < 0 || id < first {
				first = id
			}
		}
		rows, err := r.listChunks(ctx, river.NewJobListParams().
			Where("args ->> 'cycle' = @cycle AND id >= @first", river.NamedArgs{"cycle": cycleID, "first": first}))
		if err != nil {
			return err
		}
		for _, row := range rows {
			a, ok := pending[row.ID]
			if !ok {
				continue
			}
			switch row.State {
			case rivertype.JobStateCompleted:
				var res chunkResult
				if err := json.Unmarshal(row.Output(), &res); err != nil {
					return fmt.Errorf("chunk %d of cycle %s ended without its result", row.ID, cycleID)
				}
				done(res)
				delete(pending, row.ID)
			case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
				return fmt.Errorf("chunk %d of cycle %s was %s", row.ID, cycleID, row.State)
			case rivertype.JobStateRunning:
				if r.workLock == nil || row.AttemptedAt == nil || time.Since(*row.AttemptedAt) < orphanAge {
					continue
				}
				alive, err := r.chunkAlive(ctx, row.ID)
				if err != nil {
					return err
				}
				if !unlocked.orphaned(row.ID, !alive) {
					continue
				}
				r.log.Info("working again the chunk of a node that stopped", "cycle", cycleID, "river_job", row.ID)
				if _, err := r.client.JobCancel(ctx, row.ID); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
					return err
				}
				a.Listed, a.Again = false, true
				id, err := r.addChunk(ctx, a)
				if err != nil {
					return err
				}
				delete(pending, row.ID)
				pending[id] = a
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(chunkPoll):
		}
	}
}

// attemptStarted is a chunk's output while an attempt works it: River
// makes a chunk whose node shut down available again with its attempt set
// back, as if never tried, but keeps the output recorded, which the
// attempt's result replaces when it ends.
var attemptStarted = chunkResult{Retried: true}

// workedBefore says an earlier attempt worked the chunk of row (then ended
// by an error, or by its node's shutdown).
func workedBefore(row *rivertype.JobRow) bool {
	return row.Attempt > 1 || len(row.Output()) > 0
}

type chunkWorker[TTx any] struct {
	river.WorkerDefaults[chunkArgs]
	r *Runner[TTx]
}

func (w *chunkWorker[TTx]) Work(ctx context.Context, job *river.Job[chunkArgs]) error {
	return w.r.workChunk(ctx, job.JobRow, job.Args)
}

// workChunk works one chunk while its cycle's coordinator runs, and keeps
// what it did with the River job.
func (r *Runner[TTx]) workChunk(ctx context.Context, row *rivertype.JobRow, a chunkArgs) error {
	var meta struct {
		CancelAttemptedAt time.Time `json:"cancel_attempted_at"`
	}
	if json.Unmarshal(row.Metadata, &meta) == nil && !meta.CancelAttemptedAt.IsZero() {
		return river.JobCancel(errors.New("the chunk was queued again"))
	}
	if alive, err := r.cycleAlive(ctx, a.Cycle); err != nil || !alive {
		return err // nil: the job's next cycle does the work
	}
	if r.workLock != nil {
		unlock, ok, err := r.workLock(ctx, chunkLockName(row.ID))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("chunk %d is worked by another node", row.ID)
		}
		defer unlock()
	}
	r.mu.Lock()
	r.working[row.ID] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.working, row.ID)
		r.mu.Unlock()
	}()
	if workedBefore(row) {
		// The earlier attempt may have created objects no listing shows.
		a.Listed, a.Again = false, true
		r.log.Info("working a chunk again", "cycle", a.Cycle, "river_job", row.ID, "attempt", row.Attempt)
	}
	if err := river.RecordOutput(ctx, attemptStarted); err != nil {
		return err
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(inactivePoll)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
			}
			if alive, err := r.cycleAlive(cctx, a.Cycle); err == nil && !alive {
				cancel(errCycleOver)
				return
			}
		}
	}()
	res, err := r.svc.runChunk(cctx, a)
	switch {
	case errors.Is(context.Cause(cctx), errCycleOver):
		r.log.Info("chunk stopped: its cycle is over", "cycle", a.Cycle, "river_job", row.ID)
		return nil
	case err != nil:
		return err // shutting down: worked again, here or elsewhere
	}
	res.Node = r.id
	r.log.Info("chunk worked", "job", a.JobID, "cycle", a.Cycle, "type", a.Type, "objects", len(a.IDs),
		"exported", res.Exported, "escrowed", res.Escrowed)
	return river.RecordOutput(ctx, res)
}

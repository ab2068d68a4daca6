package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"provisiond/isoduration"
	"provisiond/keylock"
	"provisiond/store"
)

// cycleArgs is the River job that runs one cycle of a synchronization job.
type cycleArgs struct {
	SPID  string `json:"sp"`
	JobID string `json:"job"`
}

func (cycleArgs) Kind() string { return "provisiond_cycle" }

// changeDelay is how long the scheduler waits after a directory write
// before it starts the cycles it affects, so a burst of writes becomes one
// cycle.
const changeDelay = 300 * time.Millisecond

// Runner runs scheduled cycles with River on the store's database: a cycle
// is a River job, so a started job survives restarts and crashes, and the
// same code runs on SQLite and on PostgreSQL.
type Runner[TTx any] struct {
	svc    *Service
	st     store.Store
	client *river.Client[TTx]
	log    *slog.Logger

	locks keylock.Locks // one cycle at a time per job
	// jobLock, when set, keeps a job's cycles one at a time across the
	// processes sharing the database (RunnerOptions.JobLock).
	jobLock JobLock
	mu      sync.Mutex
	running map[string]context.CancelFunc // job id → its running cycle
	queued  map[string]bool               // job id → a cycle due now waits to start
	adopted map[int64]bool                // River job ids of orphaned cycles rescheduled
	// unlocked tells orphaned cycles from cycles that have just ended
	// (adoptOnce's alone).
	unlocked unlockedSince
	watching map[string]context.CancelFunc // job id → the watch of its sources
	base     context.Context               // Start's: watches end with it
	stopAll  context.CancelFunc            // ends every watch (Shutdown)
	// workLock, live and working tell whether a cycle's coordinator and a
	// chunk's worker live (spread.go).
	workLock JobLock
	id       string
	started  atomic.Bool     // chunks are worked only by a started Runner
	live     map[string]bool // cycle ids coordinated here
	working  map[int64]bool  // River ids of the chunks worked here
}

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// Workers is how many jobs' cycles run at once (default 4).
	Workers int
	// JobLock, set when several processes share the database, makes a
	// job's cycles run one at a time across them, and lets the Runner
	// find the cycles of a process that died (see adoptOrphans).
	JobLock JobLock
	// WorkLock, set with JobLock, is a lock of the same kind for other
	// names: a cycle's and a chunk's, held while they run, so that other
	// processes can tell that their holder died.
	WorkLock JobLock
	// ChunkWorkers is how many chunks of big cycles this process works at
	// once (default 2: the next starts while one ends); the chunks of one
	// job share the Service's CycleWorkers, so a node puts as many objects
	// at once to a big cycle as to a small one.
	ChunkWorkers int
	// ID names this process among those sharing the database (River's
	// client id: a cycle's attempted_by); empty: River makes one up.
	ID     string
	Logger *slog.Logger
}

// JobLock takes a lock on a job without waiting, which other processes
// see: ok is false when another holds it. The lock must go when its holder
// dies (PostgreSQL's session advisory locks do).
type JobLock func(ctx context.Context, jobID string) (unlock func(), ok bool, err error)

// NewRunner migrates River's tables on driver's database and returns a
// Runner; Start starts it. The Runner becomes the Service's Scheduler.
func NewRunner[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], svc *Service, st store.Store, o RunnerOptions) (*Runner[TTx], error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("scheduler: migrate: %w", err)
	}
	if o.JobLock != nil && o.WorkLock == nil {
		return nil, errors.New("scheduler: a JobLock needs a WorkLock")
	}
	r := &Runner[TTx]{svc: svc, st: st, log: log, jobLock: o.JobLock, workLock: o.WorkLock, id: o.ID,
		running: map[string]context.CancelFunc{}, queued: map[string]bool{}, adopted: map[int64]bool{}, unlocked: unlockedSince{},
		watching: map[string]context.CancelFunc{}, live: map[string]bool{}, working: map[int64]bool{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &cycleWorker[TTx]{r: r})
	river.AddWorker(workers, &chunkWorker[TTx]{r: r})
	n := o.Workers
	if n <= 0 {
		n = 4
	}
	chunks := o.ChunkWorkers
	if chunks <= 0 {
		chunks = 2
	}
	r.client, err = river.NewClient(driver, &river.Config{
		ID:      o.ID,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}, chunkQueue: {MaxWorkers: chunks}},
		Workers: workers,
		Logger:  log,
		// A cycle left running by a crashed process is picked up again
		// soon; one that is still running is not run twice (locks).
		RescueStuckJobsAfter: time.Minute,
		// SQLite has no LISTEN/NOTIFY: poll often, so a change reaches
		// its cycle in about a second.
		FetchPollInterval: 200 * time.Millisecond,
		FetchCooldown:     50 * time.Millisecond,
		JobTimeout:        -1, // cycles end on their own or when paused
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	svc.sched = r
	return r, nil
}

// Start runs the scheduler until ctx ends or Stop: it resumes every started
// job and watches for directory changes.
func (r *Runner[TTx]) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	r.mu.Lock()
	r.base, r.stopAll = context.WithCancel(ctx)
	r.mu.Unlock()
	r.started.Store(true)
	if err := r.resume(ctx); err != nil {
		return err
	}
	go r.watch(ctx)
	if r.jobLock != nil {
		go r.adoptOrphans(ctx)
	}
	return nil
}

// Shutdown stops running cycles (they resume on the next start) and the
// River client.
func (r *Runner[TTx]) Shutdown(ctx context.Context) error {
	r.started.Store(false)
	r.mu.Lock()
	if r.stopAll != nil {
		r.stopAll()
	}
	r.mu.Unlock()
	return r.client.StopAndCancel(ctx)
}

// resume schedules a cycle now for every started job: what was scheduled
// or running when the process stopped goes on.
func (r *Runner[TTx]) resume(ctx context.Context) error {
	return r.eachActive(ctx, func(j store.Job) error {
		return r.Schedule(ctx, j.ServicePrincipalID, j.ID, time.Now())
	})
}

func (r *Runner[TTx]) eachActive(ctx context.Context, f func(store.Job) error) error {
	sps, err := r.st.ListServicePrincipals(ctx, store.ListOptions{})
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	for _, sp := range sps {
		jobs, err := r.st.ListJobs(ctx, sp.ID)
		if err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		for _, j := range jobs {
			if j.Schedule.State == store.ScheduleActive {
				if err := f(j); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// watch starts an incremental cycle of every started job shortly after a
// directory write (the store's Subscribe).
func (r *Runner[TTx]) watch(ctx context.Context) {
	writes, unsubscribe := r.st.Subscribe()
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case <-writes:
		}
		// Debounce: a burst of writes becomes one cycle. The cycle is
		// inserted ready to run (River moves scheduled jobs only every few
		// seconds).
		timer := time.NewTimer(changeDelay)
	burst:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-writes:
			case <-timer.C:
				break burst
			}
		}
		at := time.Now()
		if err := r.eachActive(ctx, func(j store.Job) error {
			return r.Schedule(ctx, j.ServicePrincipalID, j.ID, at)
		}); err != nil && ctx.Err() == nil {
			r.log.Warn("scheduling change-driven cycles failed", "err", err)
		}
	}
}

// Schedule implements Scheduler.
func (r *Runner[TTx]) Schedule(ctx context.Context, spID, jobID string, at time.Time) error {
	opts := &river.InsertOpts{}
	if at.After(time.Now()) {
		// A later cycle (the interval) replaces the job's others: those
		// left by the cycles before a restart or a pause would each go on
		// scheduling their own next cycle.
		if err := r.cancelLater(ctx, jobID); err != nil {
			return err
		}
		opts.ScheduledAt = at
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: time.Second}
	} else {
		// A cycle due now is inserted available (River makes scheduled
		// jobs available only every few seconds), and only when none is
		// already waiting to start: one queued behind the running one is
		// enough to pick up every change. Across processes the queue
		// itself says whether one waits: any of them may have queued it
		// and any may run it.
		if r.jobLock != nil {
			waiting, err := r.cycleWaiting(ctx, jobID)
			if err != nil || waiting {
				return err
			}
		} else {
			r.mu.Lock()
			if r.queued[jobID] {
				r.mu.Unlock()
				return nil
			}
			r.queued[jobID] = true
			r.mu.Unlock()
		}
	}
	if _, err := r.client.Insert(ctx, cycleArgs{SPID: spID, JobID: jobID}, opts); err != nil {
		r.mu.Lock()
		delete(r.queued, jobID)
		r.mu.Unlock()
		return fmt.Errorf("schedule a cycle of %s: %w", jobID, err)
	}
	return nil
}

// cancelLater cancels the job's cycles scheduled for later.
func (r *Runner[TTx]) cancelLater(ctx context.Context, jobID string) error {
	// args ->> 'job' reads the same in SQLite and PostgreSQL.
	params := river.NewJobListParams().Kinds(cycleArgs{}.Kind()).States(rivertype.JobStateScheduled).
		Where("args ->> 'job' = @job", river.NamedArgs{"job": jobID}).First(100)
	for {
		res, err := r.client.JobList(ctx, params)
		if err != nil {
			return fmt.Errorf("list the scheduled cycles of %s: %w", jobID, err)
		}
		for _, row := range res.Jobs {
			if _, err := r.client.JobCancel(ctx, row.ID); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
				return fmt.Errorf("cancel a scheduled cycle of %s: %w", jobID, err)
			}
		}
		if len(res.Jobs) < 100 {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}

// Stop implements Scheduler: the job's running cycle stops at the next
// object boundary and its later cycles are cancelled. (A cycle that starts
// anyway finds the job not active and does nothing.)
func (r *Runner[TTx]) Stop(ctx context.Context, _, jobID string) error {
	r.mu.Lock()
	cancel := r.running[jobID]
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.stopWatching(jobID)
	return r.cancelLater(ctx, jobID)
}

// jobLockPoll is how often a cycle waiting for the job's cycle in another
// process tries the lock again.
const jobLockPoll = 500 * time.Millisecond

// waitJobLock waits until no other process runs a cycle of jobID and then
// holds the job's lock. The waiting cycle stays running in River, so it is
// the one queued behind: it picks up the changes of the running one.
func (r *Runner[TTx]) waitJobLock(ctx context.Context, jobID string) (func(), error) {
	for {
		unlock, ok, err := r.jobLock(ctx, jobID)
		if err != nil || ok {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(jobLockPoll):
		}
	}
}

// inactivePoll is how often a cycle on a shared database checks that its
// job is still started.
const inactivePoll = 500 * time.Millisecond

// stopWhenInactive calls stop once the job a is no longer active (paused
// or deleted, perhaps through another node), until ctx ends.
func (r *Runner[TTx]) stopWhenInactive(ctx context.Context, a cycleArgs, stop func()) {
	t := time.NewTicker(inactivePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j, err := r.st.GetJob(ctx, a.SPID, a.JobID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && j.Schedule.State != store.ScheduleActive) {
			stop()
			return
		}
	}
}

// cycleWaiting reports whether a cycle of jobID waits to start in River's
// queue.
func (r *Runner[TTx]) cycleWaiting(ctx context.Context, jobID string) (bool, error) {
	res, err := r.client.JobList(ctx, river.NewJobListParams().Kinds(cycleArgs{}.Kind()).
		States(rivertype.JobStateAvailable).Where("args ->> 'job' = @job", river.NamedArgs{"job": jobID}).First(1))
	if err != nil {
		return false, fmt.Errorf("list the waiting cycles of %s: %w", jobID, err)
	}
	return len(res.Jobs) > 0, nil
}

// orphanCheck is how often a Runner with a JobLock looks for the cycles of
// processes that died, and orphanAge how long a cycle must have been
// running before it can be one: a cycle takes its job's lock right after
// it starts.
const (
	orphanCheck = 3 * time.Second
	orphanAge   = 5 * time.Second
)

// adoptOrphans finds, until ctx ends, the cycles River says are running
// whose job's lock nobody holds: their process died (kill -9, a lost
// machine). It schedules a cycle of each such job now, which resumes the
// work from the job's watermark and anchors, well before River's rescuer
// would retry the orphan itself (RescueStuckJobsAfter).
func (r *Runner[TTx]) adoptOrphans(ctx context.Context) {
	t := time.NewTicker(orphanCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.adoptOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("looking for orphaned cycles failed", "err", err)
		}
		r.dropEndedListings(ctx)
	}
}

func (r *Runner[TTx]) adoptOnce(ctx context.Context) error {
	res, err := r.client.JobList(ctx, river.NewJobListParams().Kinds(cycleArgs{}.Kind()).
		States(rivertype.JobStateRunning).First(100))
	if err != nil {
		return err
	}
	// Forget the orphans River has since rescued or finished.
	r.mu.Lock()
	for id := range r.adopted {
		if !slices.ContainsFunc(res.Jobs, func(j *rivertype.JobRow) bool { return j.ID == id }) {
			delete(r.adopted, id)
		}
	}
	for id := range r.unlocked {
		if !slices.ContainsFunc(res.Jobs, func(j *rivertype.JobRow) bool { return j.ID == id }) {
			delete(r.unlocked, id)
		}
	}
	r.mu.Unlock()
	for _, row := range res.Jobs {
		r.mu.Lock()
		done := r.adopted[row.ID]
		r.mu.Unlock()
		if done || row.AttemptedAt == nil || time.Since(*row.AttemptedAt) < orphanAge {
			continue
		}
		var a cycleArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
			continue
		}
		unlock, free, err := r.jobLock(ctx, a.JobID)
		if err != nil {
			return err
		}
		if free {
			unlock()
		}
		r.mu.Lock()
		orphaned := r.unlocked.orphaned(row.ID, free)
		r.mu.Unlock()
		if !orphaned {
			continue // its cycle runs somewhere, or may have just ended
		}
		r.log.Info("resuming the cycle of a process that stopped", "job", a.JobID, "river_job", row.ID)
		r.mu.Lock()
		r.adopted[row.ID] = true
		r.mu.Unlock()
		if err := r.Schedule(ctx, a.SPID, a.JobID, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// errStopped marks a cycle stopped by Stop (pause, delete).
var errStopped = errors.New("stopped")

type cycleWorker[TTx any] struct {
	river.WorkerDefaults[cycleArgs]
	r *Runner[TTx]
}

func (w *cycleWorker[TTx]) Work(ctx context.Context, job *river.Job[cycleArgs]) error {
	return w.r.run(ctx, job.Args)
}

// scheduleNextTimeout bounds scheduling the cycle after a finished one.
const scheduleNextTimeout = 5 * time.Second

// run runs one cycle and schedules the next one after the job's interval.
func (r *Runner[TTx]) run(ctx context.Context, a cycleArgs) error {
	r.mu.Lock()
	delete(r.queued, a.JobID) // from now on, a change needs another cycle
	r.mu.Unlock()
	unlock, err := r.locks.Lock(ctx, a.JobID)
	if err != nil {
		return err // shutting down: River runs it again after the restart
	}
	defer unlock()
	if r.jobLock != nil {
		unlockJob, err := r.waitJobLock(ctx, a.JobID)
		if err != nil {
			return err
		}
		defer unlockJob()
	}
	cctx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.running[a.JobID] = func() { cancel(errStopped) }
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, a.JobID)
		r.mu.Unlock()
		cancel(nil)
	}()
	if j, err := r.st.GetJob(ctx, a.SPID, a.JobID); err == nil {
		switch wait, ok := r.backoff(j); {
		case !ok:
			return nil // waits for a restart
		case wait > 0:
			// Quarantined: this cycle (a change, a resume) waits its turn.
			return r.Schedule(ctx, a.SPID, a.JobID, time.Now().Add(wait))
		}
	}
	if r.jobLock != nil {
		// A pause or delete on another node cannot reach this cycle
		// through Stop: the job's state says it.
		go r.stopWhenInactive(cctx, a, func() { cancel(errStopped) })
	}
	err = r.svc.RunCycle(cctx, a.SPID, a.JobID)
	switch {
	case errors.Is(err, ErrNotActive), errors.Is(err, ErrDeletesHeld), errors.Is(err, errStopped), errors.Is(context.Cause(cctx), errStopped):
		return nil // paused or deleted: no next cycle until started again
	case ctx.Err() != nil:
		return ctx.Err() // shutting down: run again after the restart
	case err != nil:
		r.log.Warn("cycle failed", "job", a.JobID, "err", err)
	}
	// The cycle is over: scheduling its successor must not be cut short by a
	// shutdown that starts now, or River would retry the finished cycle
	// instead of keeping the job's next one.
	ctx, cancelNext := context.WithTimeout(context.WithoutCancel(ctx), scheduleNextTimeout)
	defer cancelNext()
	j, gerr := r.st.GetJob(ctx, a.SPID, a.JobID)
	if gerr != nil || j.Schedule.State != store.ScheduleActive {
		return nil
	}
	r.watchSources(a.SPID, a.JobID) // from now on, source changes start cycles too
	next := Interval(j.Schedule)
	switch wait, ok := r.backoff(j); {
	case !ok:
		return nil // waits for a restart
	case j.Status.Code == store.StatusQuarantine:
		next = wait // quarantined: the next attempt backs off
	}
	return r.Schedule(ctx, a.SPID, a.JobID, time.Now().Add(next))
}

// backoff says how long a quarantined job waits before its next cycle (0
// when due or not quarantined), and false for a job that runs no cycle
// until an administrator restarts it (TooManyDeletes). The wait is
// measured on the Service's clock; River schedules on the wall clock.
func (r *Runner[TTx]) backoff(j store.Job) (time.Duration, bool) {
	q := j.Status.Quarantine
	if j.Status.Code != store.StatusQuarantine || q == nil {
		return 0, true
	}
	if q.Reason == ReasonTooManyDeletes {
		return 0, false
	}
	return max(q.NextAttempt.Sub(r.svc.now()), 0), true
}

// Interval is the time between a job's cycles: its schedule's interval, or
// DefaultInterval when it has none.
func Interval(s store.Schedule) time.Duration {
	d, err := isoduration.Parse(s.Interval)
	if err != nil || d <= 0 || d > MaxInterval {
		return DefaultInterval
	}
	return d
}

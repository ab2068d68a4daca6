package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/ids"
	"provisiond/schema"
	"provisiond/store"
)

// CycleWorkers is how many objects of one job a cycle processes at once,
// by default.
const CycleWorkers = 8

// cyclePage is how many objects a cycle reads from a source at a time.
const cyclePage = 500

// ErrNotActive is returned by RunCycle for a job that is not started.
var ErrNotActive = errors.New("the job is not active")

// counts are a cycle's figures, as Graph's synchronizationTaskExecution
// reports them.
type counts struct {
	imported, entitled, exported, escrowed, skipped atomic.Int64
	seen                                            atomic.Int64 // objects read from the source so far
}

func (c *counts) add(out *engine.Outcome) {
	c.imported.Add(1)
	switch {
	case out.Status == engine.StatusFailure:
		c.escrowed.Add(1)
	case out.Code == "NotEffectivelyEntitled":
		c.skipped.Add(1)
		return
	}
	c.entitled.Add(1)
	switch out.Action {
	case engine.ActionCreate, engine.ActionUpdate, engine.ActionDisable, engine.ActionDelete:
		if out.Status == engine.StatusSuccess {
			c.exported.Add(1)
		}
	}
}

// RunCycle runs one synchronization cycle of a started job: an initial
// cycle over every source object when the job has no watermark, else an
// incremental cycle over the changes since its watermark. Every object goes
// through the same engine as provisionOnDemand. The watermark moves only
// past work that is done: a cycle cut short (pause, shutdown, crash, a
// target that is down) leaves it where it was, and the next cycle replays;
// creates match before they create, so a replay cannot duplicate.
//
// ctx ending stops the cycle at the next object boundary; an object being
// exported finishes.
func (s *Service) RunCycle(ctx context.Context, spID, jobID string) error {
	sp, err := s.store.GetServicePrincipal(ctx, spID)
	if err != nil {
		return fmt.Errorf("cycle: %w", err)
	}
	j, err := s.store.GetJob(ctx, spID, jobID)
	if err != nil {
		return fmt.Errorf("cycle: %w", err)
	}
	if j.Schedule.State != store.ScheduleActive {
		return ErrNotActive
	}
	if j.Status.ResetPending != 0 {
		if j, err = s.applyResets(ctx, j); err != nil {
			return err
		}
	}
	comp, err := s.Compiled(j)
	if err != nil {
		return err
	}
	c := &cycle{s: s, sp: sp, j: j, id: ids.NewUUID(), began: s.now()}
	s.log.Info("cycle started", "job", j.ID, "cycle", c.id, "initial", j.Watermark == "")
	stopProgress := c.reportProgress(ctx)
	defer stopProgress() // on an early return; finish stops it first
	watermark, runErr := j.Watermark, error(nil)
	for _, rule := range comp.Rules {
		job, err := s.Runtime(ctx, sp, j, rule)
		if err != nil {
			runErr = err
			break
		}
		job.CycleID = c.id
		if watermark, err = c.run(ctx, job, j.Watermark); err != nil {
			runErr = err
			break
		}
	}
	stopProgress() // before finish clears the progress
	return c.finish(ctx, watermark, runErr)
}

// cycle is one run of a job.
type cycle struct {
	s     *Service
	sp    store.ServicePrincipal
	j     store.Job
	id    string
	began time.Time
	n     counts
}

// run processes one rule: everything (no watermark) or the changes since
// watermark. It returns the watermark the next cycle starts from.
func (c *cycle) run(ctx context.Context, job *engine.Job, watermark string) (string, error) {
	feed, hasFeed := job.Source.(connector.ChangeFeed)
	if watermark == "" || !hasFeed {
		// Remember where the feed is before reading everything: what
		// changes meanwhile is replayed by the next, incremental, cycle.
		head := ""
		if hasFeed {
			var err error
			if head, err = feed.Head(ctx); err != nil {
				return watermark, fmt.Errorf("read the change feed: %w", err)
			}
		}
		if err := c.initial(ctx, job); err != nil {
			return watermark, err
		}
		return head, nil
	}
	next, err := c.incremental(ctx, job, feed, watermark)
	if errors.Is(err, errStaleWatermark) {
		// The feed cannot continue from the watermark (pruned, or from
		// another database): start over with everything.
		c.s.log.Warn("watermark cannot be continued; running a full cycle", "job", job.ID, "watermark", watermark)
		return c.run(ctx, job, "")
	}
	return next, err
}

// errStaleWatermark is a watermark the source's feed cannot continue from.
var errStaleWatermark = errors.New("stale watermark")

// ordered returns the rule's enabled object mappings, users before groups
// (memberships need their members provisioned first).
func ordered(job *engine.Job) []*schema.CompiledObject {
	var oms []*schema.CompiledObject
	for _, om := range job.Rule.Objects {
		if om.Mapping.Enabled {
			oms = append(oms, om)
		}
	}
	slices.SortStableFunc(oms, func(a, b *schema.CompiledObject) int {
		rank := func(om *schema.CompiledObject) int {
			if connector.ClassOf(job.Source, om.Mapping.SourceObjectName) == connector.ClassGroup {
				return 1
			}
			return 0
		}
		return rank(a) - rank(b)
	})
	return oms
}

// initial reads every object of every mapped type and processes it. The
// target is read once first, so matching costs no query per object.
func (c *cycle) initial(ctx context.Context, job *engine.Job) error {
	lister, ok := job.Source.(connector.Lister)
	if !ok {
		return fmt.Errorf("%s cannot list its objects, so the job cannot run cycles", job.Source.Name())
	}
	listed, err := listTarget(ctx, job)
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", errTargetDown, job.Target.Name(), err)
	}
	full := *job
	full.Target = listed
	job = &full
	for _, om := range ordered(job) {
		var items []item
		token := ""
		for {
			page, err := lister.List(ctx, om.Mapping.SourceObjectName, token, cyclePage)
			if err != nil {
				return fmt.Errorf("list %s: %w", om.Mapping.SourceObjectName, err)
			}
			for i := range page.Objects {
				// The listing reads objects as Get does: the engine need
				// not read them again.
				items = append(items, item{id: page.Objects[i].ID, obj: &page.Objects[i]})
			}
			c.n.seen.Add(int64(len(page.Objects)))
			if err := c.process(ctx, job, om, items); err != nil {
				return err
			}
			items = items[:0]
			if page.Next == "" {
				break
			}
			token = page.Next
		}
	}
	return nil
}

// incremental processes the changes after watermark, batch by batch, and
// moves the watermark after each batch that is done.
func (c *cycle) incremental(ctx context.Context, job *engine.Job, feed connector.ChangeFeed, watermark string) (string, error) {
	for {
		changes, next, err := feed.Changes(ctx, watermark, cyclePage)
		if connector.KindOf(err) == connector.KindInvalid {
			return watermark, fmt.Errorf("%w: %v", errStaleWatermark, err)
		}
		if err != nil {
			return watermark, fmt.Errorf("read the change feed: %w", err)
		}
		if len(changes) == 0 {
			return watermark, nil
		}
		// Each changed object once per batch. The feed names everything a
		// write affects (assigning a group names its members too), so a
		// group's change needs no expansion here.
		byType := map[string][]item{}
		seen := map[string]bool{}
		add := func(typ, id string) {
			k := strings.ToLower(typ) + "\x00" + id
			if !seen[k] {
				seen[k] = true
				byType[strings.ToLower(typ)] = append(byType[strings.ToLower(typ)], item{id: id})
			}
		}
		for _, ch := range changes {
			add(ch.ObjectType, ch.ID)
		}
		c.n.seen.Add(int64(len(seen)))
		for _, om := range ordered(job) {
			if err := c.process(ctx, job, om, byType[strings.ToLower(om.Mapping.SourceObjectName)]); err != nil {
				return watermark, err
			}
		}
		watermark = next
		if err := c.s.saveWatermark(ctx, c.j, watermark); err != nil {
			return watermark, err
		}
	}
}

// errTargetDown stops a cycle whose target fails transiently: the objects
// are retried by the next cycle rather than counted as failed one by one.
var errTargetDown = errors.New("the target is failing")

// item is an object a cycle processes: its id, and the object when the
// cycle read it already.
type item struct {
	id  string
	obj *connector.Object
}

// process runs the engine over items with a bounded pool of workers. It
// stops at the next object when ctx ends; an object in flight finishes,
// so a pause never leaves half an export.
func (c *cycle) process(ctx context.Context, job *engine.Job, om *schema.CompiledObject, items []item) error {
	if len(items) == 0 {
		return nil
	}
	isGroup := connector.ClassOf(job.Source, om.Mapping.SourceObjectName) == connector.ClassGroup
	work := make(chan item)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	// Objects finish under their own deadline, not the cycle's context.
	objCtx := context.WithoutCancel(ctx)
	for range min(c.s.workers, len(items)) {
		wg.Go(func() {
			for it := range work {
				id := it.id
				octx, cancel := context.WithTimeout(objCtx, cycleObjectTimeout)
				out, err := c.s.engine.Process(octx, job, engine.Request{ObjectType: om.Mapping.SourceObjectName, ObjectID: id, Object: it.obj, AllMembers: isGroup})
				cancel()
				var nf *engine.NotFoundError
				switch {
				case errors.As(err, &nf):
					continue // gone before we got to it, and never provisioned
				case err != nil:
					fail(fmt.Errorf("%s %s: %w", om.Mapping.SourceObjectName, id, err))
					continue
				}
				c.n.add(out)
				c.s.metrics.ObjectProcessed(c.j.ID, string(out.Status), string(out.Action))
				if out.Status == engine.StatusFailure && out.Kind == connector.KindTransient {
					fail(fmt.Errorf("%w: %s", errTargetDown, out.Message))
				}
			}
		})
	}
	for _, it := range items {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// progressEvery is how often a running cycle records its progress.
const progressEvery = time.Second

// reportProgress records the cycle's progress in the job's status every
// progressEvery until the returned function is called: objects processed
// of objects read so far.
func (c *cycle) reportProgress(ctx context.Context) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p := store.Progress{CompletedUnits: c.n.imported.Load(), TotalUnits: c.n.seen.Load(), Units: "objects", Observed: c.s.now()}
			_, err := c.s.store.UpdateJob(ctx, c.j.ServicePrincipalID, c.j.ID, func(job *store.Job) error {
				job.Status.Progress = []store.Progress{p}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				c.s.log.Warn("recording cycle progress failed", "job", c.j.ID, "err", err)
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// cycleObjectTimeout bounds one object's work in a cycle (every attempt
// of every target call).
const cycleObjectTimeout = 2 * time.Minute

// saveWatermark persists the job's watermark.
func (s *Service) saveWatermark(ctx context.Context, j store.Job, watermark string) error {
	_, err := s.store.UpdateJob(context.WithoutCancel(ctx), j.ServicePrincipalID, j.ID, func(job *store.Job) error {
		job.Watermark = watermark
		return nil
	})
	if err != nil {
		return fmt.Errorf("save watermark: %w", err)
	}
	return nil
}

// finish records the cycle in the job's status and, when it completed,
// its watermark.
func (c *cycle) finish(ctx context.Context, watermark string, runErr error) error {
	ended := c.s.now()
	exec := &store.Execution{
		ActivityIdentifier:           c.id,
		CountEntitled:                c.n.entitled.Load(),
		CountEntitledForProvisioning: c.n.entitled.Load(),
		CountEscrowed:                c.n.escrowed.Load(),
		CountEscrowedRaw:             c.n.escrowed.Load(),
		CountExported:                c.n.exported.Load(),
		CountExports:                 c.n.exported.Load(),
		CountImported:                c.n.imported.Load(),
		State:                        store.ExecutionSucceeded,
		TimeBegan:                    c.began,
		TimeEnded:                    ended,
	}
	if c.j.Watermark != "" {
		exec.CountImportedDeltas = exec.CountImported
	}
	interrupted := runErr != nil && (errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded))
	switch {
	case runErr != nil && !interrupted:
		exec.State = store.ExecutionFailed
		exec.Error = &store.SyncError{Code: "CycleFailed", Message: runErr.Error(), TenantActionable: errors.Is(runErr, errTargetDown)}
	case exec.CountEscrowed > 0:
		exec.State = store.ExecutionEntryLevelErrors
	}
	byType, err := c.s.linkedByType(ctx, c.j.ID)
	if err != nil {
		return err
	}
	_, err = c.s.store.UpdateJob(context.WithoutCancel(ctx), c.j.ServicePrincipalID, c.j.ID, func(job *store.Job) error {
		if interrupted {
			return nil // a pause or shutdown: the next cycle replays from the watermark
		}
		st := &job.Status
		st.LastExecution = exec
		if exec.State != store.ExecutionFailed {
			job.Watermark = watermark
			st.LastSuccessfulExecution = exec
			if exec.CountExported > 0 {
				st.LastSuccessfulExecutionWithExports = exec
			}
			if exec.CountEscrowed == 0 {
				if st.SteadyStateFirstAchieved.IsZero() {
					st.SteadyStateFirstAchieved = ended
				}
				st.SteadyStateLastAchieved = ended
			}
			st.SynchronizedEntryCountByType = byType
			if st.Code == store.StatusNotRun || st.Code == "" {
				st.Code = store.StatusActive
			}
			st.CountSuccessiveCompleteFailures = 0
		} else {
			st.CountSuccessiveCompleteFailures++
		}
		st.Progress = nil
		return nil
	})
	c.s.log.Info("cycle ended", "job", c.j.ID, "cycle", c.id, "state", exec.State, "imported", exec.CountImported,
		"entitled", exec.CountEntitled, "skipped", c.n.skipped.Load(),
		"exported", exec.CountExported, "escrowed", exec.CountEscrowed, "took", ended.Sub(c.began), "err", runErr)
	c.s.metrics.CycleEnded(c.j.ID, c.j.Watermark == "", cycleState(exec, interrupted), ended.Sub(c.began))
	if err != nil {
		return fmt.Errorf("record cycle: %w", err)
	}
	return runErr
}

// linkedByType counts the objects a job has provisioned, by type pair
// ("user to User"), from its anchors.
func (s *Service) linkedByType(ctx context.Context, jobID string) ([]store.EntryCount, error) {
	anchors, err := s.store.ListAnchors(context.WithoutCancel(ctx), jobID)
	if err != nil {
		return nil, fmt.Errorf("count linked objects: %w", err)
	}
	n := map[string]int64{}
	for _, a := range anchors {
		n[strings.ToLower(a.SourceType)+" to "+a.TargetType]++
	}
	out := make([]store.EntryCount, 0, len(n))
	for k, v := range n {
		out = append(out, store.EntryCount{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b store.EntryCount) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// applyResets carries out what restart asked for, at the start of the next
// cycle: Watermark makes it a full cycle; ConnectorDataStore (part of Full)
// also forgets the links to target objects, so every object is matched
// again. Escrows and ForceDeletes have nothing held back to release yet.
func (s *Service) applyResets(ctx context.Context, j store.Job) (store.Job, error) {
	forget := false
	j, err := s.store.UpdateJob(ctx, j.ServicePrincipalID, j.ID, func(job *store.Job) error {
		p := job.Status.ResetPending
		if p&(store.ResetWatermark|store.ResetConnectorDataStore) != 0 {
			job.Watermark = ""
		}
		forget = p&store.ResetConnectorDataStore != 0
		job.Status.ResetPending = 0
		return nil
	})
	if err != nil {
		return j, fmt.Errorf("apply restart: %w", err)
	}
	if forget {
		// Not atomic with the flag: a crash here leaves some links, which
		// the full cycle's matching finds again anyway.
		anchors, err := s.store.ListAnchors(ctx, j.ID)
		if err != nil {
			return j, fmt.Errorf("apply restart: %w", err)
		}
		for _, a := range anchors {
			if err := s.store.DeleteAnchor(ctx, j.ID, a.SourceType, a.SourceID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return j, fmt.Errorf("apply restart: %w", err)
			}
		}
	}
	return j, nil
}

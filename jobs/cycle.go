package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
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

// ErrDeletesHeld is returned by RunCycle for a job quarantined with
// TooManyDeletes: it waits for an administrator's restart (ForceDeletes to
// make the deletes, or any other to discard them).
var ErrDeletesHeld = errors.New("the job holds deletes over its accidental-deletions threshold; restart it")

// targetDownAfter is how many objects in a row must fail transiently or
// be refused, with none answered before them, for a cycle to stop and
// count the target as down. A shorter cycle counts it as down only when
// the target refused the credentials for every object (one transient
// failure of the one object retried is no outage).
const targetDownAfter = 10

// targetDownRun is how many objects in a row failing that way stop a
// cycle whatever came before: a target that went down mid-cycle.
const targetDownRun = 100

// counts are a cycle's figures, as Graph's synchronizationTaskExecution
// reports them.
type counts struct {
	imported, entitled, exported, escrowed, skipped atomic.Int64
	seen                                            atomic.Int64 // objects read from the source so far
	// baseFailed and refFailed split escrowed: the objects' own failures
	// and their references' (a group's members).
	baseFailed, refFailed atomic.Int64
}

// add counts an outcome. A held delete is counted when the cycle settles
// it (settleDeletes).
func (c *counts) add(out *engine.Outcome) {
	if out.Code == engine.CodeStagedDelete {
		return
	}
	c.imported.Add(1)
	switch {
	case out.Status == engine.StatusFailure:
		c.escrowed.Add(1)
		if out.Reference {
			c.refFailed.Add(1)
		} else {
			c.baseFailed.Add(1)
		}
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
// incremental cycle over the changes since its watermark, then the escrowed
// objects due for a retry. Every object goes through the same engine as
// provisionOnDemand. The watermark moves only past work that is done or
// escrowed: a cycle cut short (pause, shutdown, crash, a target that is
// down) leaves it where it was, and the next cycle replays; creates match
// before they create, so a replay cannot duplicate.
//
// Disables and deletes are held until the cycle has counted them: over the
// job's QuarantineTooManyDeletesThreshold none is made, each is logged as a
// StagedDelete and kept, and the job quarantines with TooManyDeletes.
// A target that refuses the job (401/403) or is down for the whole cycle
// quarantines it with EncounteredQuarantineException, and so do Entra's
// escrow thresholds; a cycle that succeeds lifts the quarantine.
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
	if q := j.Status.Quarantine; j.Status.Code == store.StatusQuarantine && q != nil && q.Reason == ReasonTooManyDeletes {
		return ErrDeletesHeld
	}
	var force []store.StagedDelete
	if j.Status.ResetPending != 0 {
		if j, force, err = s.applyResets(ctx, j); err != nil {
			return err
		}
	}
	comp, err := s.Compiled(j)
	if err != nil {
		return err
	}
	settings, err := Settings(j)
	if err != nil {
		return err
	}
	threshold, err := deleteThreshold(settings)
	if err != nil {
		threshold = DefaultDeleteThreshold // refused when set; an old bad value keeps the guard on
	}
	c := &cycle{s: s, sp: sp, j: j, id: ids.NewUUID(), began: s.now(), threshold: threshold}
	if err := c.loadEscrows(ctx); err != nil {
		return err
	}
	if sp, ok := s.sched.(spreader); ok && sp.spreading() {
		end, err := sp.beginCycle(ctx, j.ID, c.id)
		if err != nil {
			return fmt.Errorf("cycle: %w", err)
		}
		defer end() // its chunks stop with it
		c.spread = sp
	}
	defer s.dropListings(c.id)
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
		job.State = newBatchState(s.store)
		if err := c.forceDeletes(ctx, job, force); err != nil {
			runErr = err
			break
		}
		if watermark, err = c.run(ctx, job, j.Watermark); err != nil {
			runErr = err
			break
		}
	}
	if last := c.refusal.Load(); runErr == nil && c.answered.Load() == 0 && last != nil && last.Kind == connector.KindUnauthorized {
		// Too few objects to stop early, but the target refused every one.
		runErr = fmt.Errorf("%w: the target refused the job's credentials for every object: %s", errTargetDown, last.Message)
	}
	if runErr == nil && len(force) > 0 {
		if err := s.store.PutStagedDeletes(context.WithoutCancel(ctx), j.ID, nil); err != nil {
			runErr = fmt.Errorf("clear the deletes carried out: %w", err)
		}
	}
	if runErr == nil {
		runErr = c.settleDeletes(ctx)
	}
	stopProgress() // before finish clears the progress
	return c.finish(ctx, watermark, runErr)
}

// cycle is one run of a job.
type cycle struct {
	s       *Service
	sp      store.ServicePrincipal
	j       store.Job
	id      string
	began   time.Time
	n       counts
	escrows *escrowBook
	// threshold is the job's accidental-deletions threshold (0: off).
	threshold int
	stagedMu  sync.Mutex
	staged    []stagedOp
	// tooManyDeletes is how many deletes the cycle held back over the
	// threshold (0: none).
	tooManyDeletes int
	// answered counts objects the target answered; refusals the objects in
	// a row it failed transiently or refused (401/403), the last of them
	// refusal.
	answered, refusals atomic.Int64
	refusal            atomic.Pointer[engine.Outcome]
	// spread, when set, works big cycles' objects in chunks on any node;
	// pending are the chunks queued and not yet waited for.
	spread  spreader
	pending map[int64]chunkArgs
	chunks  int // chunks queued so far
	// retried says a chunk was worked again after an attempt that did not
	// finish: the cycle's exports are counted from its logs.
	retried bool
	// slots, in a chunk, bound the objects of its job this node works at
	// once, whatever the number of its chunks running (nil: no bound).
	slots chan struct{}
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
		return head, c.retryDue(ctx, job)
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

// isGroup reports whether om maps groups.
func isGroup(job *engine.Job, om *schema.CompiledObject) bool {
	return connector.ClassOf(job.Source, om.Mapping.SourceObjectName) == connector.ClassGroup
}

// initial reads every object of every mapped type and processes it. The
// target is read once first (once per node), so matching costs no query
// per object. A type with more than a chunk of objects goes to chunks,
// which any node works; the cycle waits for them before the next type.
func (c *cycle) initial(ctx context.Context, job *engine.Job) error {
	lister, ok := job.Source.(connector.Lister)
	if !ok {
		return fmt.Errorf("%s cannot list its objects, so the job cannot run cycles", job.Source.Name())
	}
	job, err := c.s.listedJob(ctx, c.id, job)
	if err != nil {
		return err
	}
	for _, om := range ordered(job) {
		if err := c.initialOf(ctx, job, lister, om); err != nil {
			return err
		}
	}
	return nil
}

// initialOf reads every object of om's type page by page. Unless the
// cycle spreads them over chunks, the pages go to one pool of workers as
// they are read.
func (c *cycle) initialOf(ctx context.Context, job *engine.Job, lister connector.Lister, om *schema.CompiledObject) error {
	// A job that had linked no object of the type before the listing has
	// nothing to sweep: whatever it links now, it links as it lists.
	linked, err := c.s.store.ListAnchorsAfter(ctx, job.ID, om.Mapping.SourceObjectName, "", 1)
	if err != nil {
		return fmt.Errorf("read the anchors of %s: %w", om.Mapping.SourceObjectName, err)
	}
	spreads, chunked := c.spreads(job, om), false
	var p *pool
	if !spreads {
		p = c.startPool(ctx, job, om, c.threshold > 0, 0)
	}
	var items []item
	// listed holds a hash of every id the listing returned, for the sweep;
	// complete says the listing got to its end.
	var listed map[uint64]struct{}
	if len(linked) > 0 {
		listed = map[uint64]struct{}{}
	}
	seed, complete := maphash.MakeSeed(), false
	for token := ""; ; {
		page, err := lister.List(ctx, om.Mapping.SourceObjectName, token, cyclePage)
		if err != nil {
			if p != nil {
				p.close()
			}
			return fmt.Errorf("list %s: %w", om.Mapping.SourceObjectName, err)
		}
		for i := range page.Objects {
			// The listing reads objects as Get does: the engine need
			// not read them again.
			items = append(items, item{id: page.Objects[i].ID, obj: &page.Objects[i]})
			if listed != nil {
				listed[maphash.String(seed, page.Objects[i].ID)] = struct{}{}
			}
		}
		c.n.seen.Add(int64(len(page.Objects)))
		last := page.Next == ""
		complete = last
		switch {
		case p != nil:
			if !p.feed(items) {
				last = true // stopping: close says why
			}
			items = nil
		case chunked || len(items) > c.s.chunk:
			chunked = true
			for len(items) >= c.s.chunk || (last && len(items) > 0) {
				n := min(c.s.chunk, len(items))
				if err := c.queueChunk(ctx, job, om, items[:n], true); err != nil {
					return err
				}
				items = items[n:]
			}
		case last:
			// Fewer objects than a chunk: worked here.
			if err := c.process(ctx, job, om, items, c.threshold > 0); err != nil {
				return err
			}
		}
		if last {
			break
		}
		token = page.Next
	}
	if p != nil {
		if err := p.close(); err != nil {
			return err
		}
	}
	if err := c.waitChunks(ctx, job, om); err != nil {
		return err
	}
	if !complete || ctx.Err() != nil {
		return ctx.Err() // a listing cut short must not look like deletions
	}
	if listed == nil {
		return nil
	}
	return c.sweep(ctx, job, om, func(id string) bool {
		_, ok := listed[maphash.String(seed, id)]
		return ok
	})
}

// sweep processes the objects of om's type the job has linked that the
// full listing did not return: deleted in the source while no cycle
// followed its changes (the full cycle of a restart, or of a watermark
// the feed could not continue, or of a source without a feed). The
// engine reads each again, so one that still exists (created during the
// listing, or listed under another id) is processed as it is, and one
// that is gone goes the way of a deletion, accidental-deletion threshold
// included. (A hash collision would keep a gone object for another
// cycle; at a million objects its odds are about one in 30 million.)
func (c *cycle) sweep(ctx context.Context, job *engine.Job, om *schema.CompiledObject, listed func(id string) bool) error {
	typ := om.Mapping.SourceObjectName
	if b, ok := job.State.(*batchState); ok {
		if err := b.Flush(ctx); err != nil { // the anchors the listing's objects wrote
			return err
		}
	}
	for after := ""; ; {
		anchors, err := c.s.store.ListAnchorsAfter(ctx, job.ID, typ, after, cyclePage)
		if err != nil {
			return fmt.Errorf("list the anchors of %s: %w", typ, err)
		}
		var gone []item
		for _, a := range anchors {
			if !listed(a.SourceID) {
				gone = append(gone, item{id: a.SourceID})
			}
		}
		if len(gone) > 0 {
			c.n.seen.Add(int64(len(gone)))
			if err := c.process(ctx, job, om, gone, c.threshold > 0); err != nil {
				return err
			}
		}
		if len(anchors) < cyclePage {
			return nil
		}
		after = anchors[len(anchors)-1].SourceID
	}
}

// incremental processes the changes after watermark, batch by batch, and
// moves the watermark after each batch that is done. A batch with more
// objects of a type than a chunk goes to chunks, as in initial.
func (c *cycle) incremental(ctx context.Context, job *engine.Job, feed connector.ChangeFeed, watermark string) (string, error) {
	batch := cyclePage
	if c.spread != nil {
		batch = max(cyclePage, 4*c.s.chunk) // room for chunks to spread
	}
	for {
		changes, next, err := feed.Changes(ctx, watermark, batch)
		if connector.KindOf(err) == connector.KindInvalid {
			return watermark, fmt.Errorf("%w: %v", errStaleWatermark, err)
		}
		if err != nil {
			return watermark, fmt.Errorf("read the change feed: %w", err)
		}
		if len(changes) > 0 {
			if err := c.applyChanges(ctx, job, changes); err != nil {
				return watermark, err
			}
		}
		// Past the batch, or past changes that are not this job's (a page
		// with none of its own).
		if next != watermark {
			watermark = next
			// Held deletes are not done: the watermark moves when the cycle
			// settles them.
			if !c.hasStaged() {
				if err := c.s.saveWatermark(ctx, c.j, watermark); err != nil {
					return watermark, err
				}
			}
		}
		if len(changes) == 0 {
			return watermark, c.retryDue(ctx, job)
		}
	}
}

// applyChanges processes the objects a batch of the change feed names,
// each once. The feed names everything a write affects (assigning a group
// names its members too), so a group's change needs no expansion here.
func (c *cycle) applyChanges(ctx context.Context, job *engine.Job, changes []connector.Change) error {
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
		items := byType[strings.ToLower(om.Mapping.SourceObjectName)]
		if !c.spreads(job, om) || len(items) <= c.s.chunk {
			if err := c.process(ctx, job, om, items, c.threshold > 0); err != nil {
				return err
			}
			continue
		}
		for len(items) > 0 {
			n := min(c.s.chunk, len(items))
			if err := c.queueChunk(ctx, job, om, items[:n], false); err != nil {
				return err
			}
			items = items[n:]
		}
		if err := c.waitChunks(ctx, job, om); err != nil {
			return err
		}
	}
	return nil
}

// retryDue processes the escrowed objects whose next attempt has come and
// that the cycle has not processed already.
func (c *cycle) retryDue(ctx context.Context, job *engine.Job) error {
	for _, om := range ordered(job) {
		items := c.escrows.due(om.Mapping.SourceObjectName, c.began)
		c.n.seen.Add(int64(len(items)))
		if err := c.process(ctx, job, om, items, c.threshold > 0); err != nil {
			return err
		}
	}
	return nil
}

// errTargetDown stops a cycle whose target is down or refuses the job: the
// objects are retried by the next cycle rather than counted as failed one
// by one, and the job quarantines.
var errTargetDown = errors.New("the target is failing")

// item is an object a cycle processes: its id, and the object when the
// cycle read it already.
type item struct {
	id  string
	obj *connector.Object
}

func itemIDs(items []item) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}

// process runs the engine over items with a bounded pool of workers,
// holding disables and deletes when hold is set. Each outcome updates the
// object's escrow before the next batch. It stops at the next object when
// ctx ends; an object in flight finishes, so a pause never leaves half an
// export.
func (c *cycle) process(ctx context.Context, job *engine.Job, om *schema.CompiledObject, items []item, hold bool) error {
	if len(items) == 0 {
		return nil
	}
	p := c.startPool(ctx, job, om, hold, len(items))
	p.feed(items)
	return p.close()
}

// pool is a cycle's workers over the objects of one type: pages are fed to
// it as they are read, so that reading the next page, preloading its
// anchors and committing the last one's writes overlap the work instead of
// stopping it at every page.
type pool struct {
	c     *cycle
	ctx   context.Context
	job   *engine.Job
	om    *schema.CompiledObject
	batch *batchState // nil when the job writes straight to the store
	work  chan item
	wg    sync.WaitGroup

	mu       sync.Mutex
	firstErr error
}

// startPool starts min(workers, n) workers; n is how many objects the
// pool will get at most, or 0 for as many workers as the cycle has.
func (c *cycle) startPool(ctx context.Context, job *engine.Job, om *schema.CompiledObject, hold bool, n int) *pool {
	p := &pool{c: c, ctx: ctx, job: job, om: om, work: make(chan item, cyclePage)}
	p.batch, _ = job.State.(*batchState)
	workers := c.s.workers
	if n > 0 {
		workers = min(workers, n)
	}
	group := isGroup(job, om)
	for range workers {
		p.wg.Go(func() {
			for it := range p.work {
				if p.stopping() {
					continue // drain: a pause or a failure stops at the next object
				}
				p.one(it, group, hold)
			}
		})
	}
	return p
}

// stopping reports that the pool takes no more objects: its context ended
// or an object failed the cycle.
func (p *pool) stopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstErr != nil || p.ctx.Err() != nil
}

func (p *pool) fail(err error) {
	p.mu.Lock()
	if p.firstErr == nil {
		p.firstErr = err
	}
	p.mu.Unlock()
}

// feed gives the pool a page of objects, after preloading their anchors,
// and commits the writes kept so far when the background commits fall
// behind, so that what the batch holds stays about two batches. It
// returns false when the pool is stopping.
func (p *pool) feed(items []item) bool {
	if p.batch != nil {
		if err := p.batch.Preload(p.ctx, p.job.ID, p.om.Mapping.SourceObjectName, itemIDs(items)); err != nil {
			p.fail(fmt.Errorf("read the anchors of %d objects: %w", len(items), err))
			return false
		}
	}
	for _, it := range items {
		if p.stopping() {
			return false
		}
		select {
		case p.work <- it:
		case <-p.ctx.Done():
			return false
		}
	}
	if p.batch != nil && p.batch.backlog() >= 2*batchSize {
		if err := p.flush(); err != nil {
			p.fail(err)
			return false
		}
	}
	return !p.stopping()
}

// flush commits the batch's kept writes, under its own deadline: they are
// committed even when the cycle is stopping.
func (p *pool) flush() error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), cycleObjectTimeout)
	defer cancel()
	if err := p.batch.Flush(fctx); err != nil {
		return fmt.Errorf("record the cycle's anchors and logs: %w", err)
	}
	return nil
}

// close waits for the objects fed, then commits their anchors and logs
// before anything moves past them (the next type, the watermark, the
// cycle's end), even when the cycle is stopping. It returns the first
// failure, or the context's error.
func (p *pool) close() error {
	close(p.work)
	p.wg.Wait()
	if p.batch != nil {
		if err := p.flush(); err != nil {
			p.fail(err)
		}
	}
	if p.firstErr != nil {
		return p.firstErr
	}
	return p.ctx.Err()
}

// one processes one object and records its outcome.
func (p *pool) one(it item, group, hold bool) {
	c := p.c
	id, typ := it.id, p.om.Mapping.SourceObjectName
	if c.slots != nil {
		// The node's slots are shared by its chunks: a worker may wait long
		// for one, and a pause or delete meanwhile means it must not start.
		select {
		case c.slots <- struct{}{}:
		case <-p.ctx.Done():
			return
		}
	}
	release := func() {
		if c.slots != nil {
			<-c.slots
		}
	}
	if p.stopping() {
		release()
		return // stopped: the object is the next cycle's
	}
	// Objects finish under their own deadline, not the cycle's context.
	octx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), objectTimeout(it))
	out, err := c.s.engine.Process(octx, p.job, engine.Request{ObjectType: typ, ObjectID: id, Object: it.obj, AllMembers: group, HoldDeletes: hold})
	release()
	cancel()
	ctx := p.ctx
	var nf *engine.NotFoundError
	switch {
	case errors.As(err, &nf):
		// Gone before we got to it, and never provisioned.
		if err := c.escrows.forget(ctx, typ, id); err != nil {
			p.fail(err)
		}
		return
	case err != nil:
		p.fail(fmt.Errorf("%s %s: %w", typ, id, err))
		return
	}
	if err := c.escrows.record(ctx, typ, id, out, c.s.now()); err != nil {
		p.fail(err)
		return
	}
	c.n.add(out)
	if out.Code == engine.CodeStagedDelete {
		c.stage(p.job, p.om, id, out)
	} else {
		c.s.metrics.ObjectProcessed(c.j.ID, string(out.Status), string(out.Action))
	}
	if refused(out) {
		c.refusal.Store(out)
		if n := c.refusals.Add(1); n >= targetDownRun || (n >= targetDownAfter && c.answered.Load() == 0) {
			p.fail(fmt.Errorf("%w: %s", errTargetDown, out.Message))
		}
	} else {
		c.answered.Add(1)
		c.refusals.Store(0)
	}
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

// exportsLogged counts the cycle's exports from its provisioning logs, for
// a cycle whose chunk was worked again: what the unfinished attempt
// exported and committed, the next attempt finds done and does not count.
// Each successful export is logged once, with its anchor.
func (c *cycle) exportsLogged(ctx context.Context) (int64, error) {
	eq := func(f store.LogField, v string) store.LogCond {
		return store.LogCond{Op: store.LogEq, Field: f, Value: v}
	}
	var actions []store.LogCond
	for _, a := range []engine.Action{engine.ActionCreate, engine.ActionUpdate, engine.ActionDisable, engine.ActionDelete} {
		actions = append(actions, eq(store.LogAction, string(a)))
	}
	page, err := c.s.store.QueryProvisioningLogs(ctx, store.LogQuery{Count: true, Limit: 1, Where: &store.LogCond{Op: store.LogAnd, Args: []store.LogCond{
		eq(store.LogJobID, c.j.ID), eq(store.LogCycleID, c.id), eq(store.LogStatus, string(engine.StatusSuccess)),
		{Op: store.LogOr, Args: actions},
	}}})
	if err != nil {
		return 0, fmt.Errorf("count the cycle's exports: %w", err)
	}
	return int64(page.Count), nil
}

// finish records the cycle in the job's status and, when it completed,
// its watermark.
func (c *cycle) finish(ctx context.Context, watermark string, runErr error) error {
	ended := c.s.now()
	// A pause, a delete or a shutdown ends the cycle's context: whatever
	// failed then (a target request cut short, say) failed because of it.
	interrupted := runErr != nil && (errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) || ctx.Err() != nil)
	reason, qerr := c.quarantineReason(runErr)
	pruned := false
	if !interrupted && c.j.Watermark == "" && escrowThreshold(reason) {
		// Entra prunes the escrows of an initial cycle that hit a threshold.
		if err := c.s.store.ClearEscrows(context.WithoutCancel(ctx), c.j.ID); err != nil {
			return fmt.Errorf("prune escrows: %w", err)
		}
		c.escrows.clear()
		pruned = true
	}
	exported := c.n.exported.Load()
	if c.retried && !interrupted {
		var err error
		if exported, err = c.exportsLogged(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	exec := &store.Execution{
		ActivityIdentifier:           c.id,
		CountEntitled:                c.n.entitled.Load(),
		CountEntitledForProvisioning: c.n.entitled.Load(),
		CountEscrowed:                c.n.escrowed.Load(),
		CountEscrowedRaw:             c.escrows.count(),
		CountExported:                exported,
		CountExports:                 exported,
		CountImported:                c.n.imported.Load(),
		State:                        store.ExecutionSucceeded,
		TimeBegan:                    c.began,
		TimeEnded:                    ended,
	}
	if c.j.Watermark != "" {
		exec.CountImportedDeltas = exec.CountImported
	}
	switch {
	case runErr != nil && !interrupted:
		exec.State = store.ExecutionFailed
		exec.Error = cycleError(runErr)
	case exec.CountEscrowed > 0:
		exec.State = store.ExecutionEntryLevelErrors
	}
	byType, counted, err := c.s.linkedByType(ctx, c.j)
	if err != nil {
		return err
	}
	_, err = c.s.store.UpdateJob(context.WithoutCancel(ctx), c.j.ServicePrincipalID, c.j.ID, func(job *store.Job) error {
		if interrupted {
			job.Status.Progress = nil // no cycle runs now
			return nil                // a pause or shutdown: the next cycle replays from the watermark
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
			st.SynchronizedEntryCountByType, st.AnchorsCounted = byType, counted
			if st.Code == store.StatusNotRun || st.Code == "" {
				st.Code = store.StatusActive
			}
			st.CountSuccessiveCompleteFailures = 0
		} else {
			st.CountSuccessiveCompleteFailures++
		}
		interval := Interval(job.Schedule)
		switch {
		case reason != "":
			quarantine(st, reason, qerr, ended, interval)
		case st.Code == store.StatusQuarantine && exec.State != store.ExecutionFailed:
			st.Code, st.Quarantine = store.StatusActive, nil // recovered
		case st.Code == store.StatusQuarantine && st.Quarantine != nil:
			quarantine(st, st.Quarantine.Reason, st.Quarantine.Error, ended, interval) // still failing: back off further
		}
		if pruned {
			st.EscrowsPruned = true
		}
		if q := st.Quarantine; st.Code == store.StatusQuarantine && q != nil && ended.Sub(q.SeriesBegan) >= QuarantineDisableAfter {
			job.Schedule.State = store.ScheduleDisabled // quarantined for 4 weeks: given up until started again
		}
		st.Progress = nil
		return nil
	})
	state := cycleState(exec, interrupted) // the log's and the metrics'
	c.s.log.Info("cycle ended", "job", c.j.ID, "cycle", c.id, "state", state, "imported", exec.CountImported,
		"entitled", exec.CountEntitled, "skipped", c.n.skipped.Load(),
		"exported", exec.CountExported, "escrowed", exec.CountEscrowed, "escrows", exec.CountEscrowedRaw,
		"quarantine", reason, "took", ended.Sub(c.began), "err", runErr)
	c.s.metrics.CycleEnded(c.j.ID, c.j.Watermark == "", state, ended.Sub(c.began))
	if err != nil {
		return fmt.Errorf("record cycle: %w", err)
	}
	return runErr
}

// linkedByType counts the objects job j has provisioned, by type pair
// ("user to User"), from its anchors, with the anchors' version counted at;
// unless the anchors have not changed since j's status counted them: an
// incremental cycle that changed no link then costs no scan of them all.
// The version is read before the count, so a write during it makes the
// next cycle count again.
func (s *Service) linkedByType(ctx context.Context, j store.Job) ([]store.EntryCount, *int64, error) {
	ctx = context.WithoutCancel(ctx)
	v, err := s.store.AnchorsVersion(ctx, j.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("read the anchors' version: %w", err)
	}
	if c := j.Status.AnchorsCounted; c != nil && *c == v {
		return j.Status.SynchronizedEntryCountByType, c, nil
	}
	counts, err := s.store.CountAnchors(ctx, j.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("count linked objects: %w", err)
	}
	n := map[string]int64{}
	for _, c := range counts {
		n[strings.ToLower(c.SourceType)+" to "+c.TargetType] += c.N
	}
	out := make([]store.EntryCount, 0, len(n))
	for k, c := range n {
		out = append(out, store.EntryCount{Key: k, Value: c})
	}
	slices.SortFunc(out, func(a, b store.EntryCount) int { return strings.Compare(a.Key, b.Key) })
	return out, &v, nil
}

// applyResets carries out what restart asked for, at the start of the next
// cycle: Watermark makes it a full cycle; ConnectorDataStore (part of Full)
// also forgets the links to target objects, so every object is matched
// again; Escrows drops the escrows; ForceDeletes returns the staged
// deletes for the cycle to carry out.
func (s *Service) applyResets(ctx context.Context, j store.Job) (store.Job, []store.StagedDelete, error) {
	var p store.ResetScope
	j, err := s.store.UpdateJob(ctx, j.ServicePrincipalID, j.ID, func(job *store.Job) error {
		p = job.Status.ResetPending
		if p&(store.ResetWatermark|store.ResetConnectorDataStore) != 0 {
			job.Watermark = ""
		}
		job.Status.ResetPending = 0
		return nil
	})
	if err != nil {
		return j, nil, fmt.Errorf("apply restart: %w", err)
	}
	// What follows is not atomic with clearing the flags: a crash leaves
	// some links, which the full cycle's matching finds again anyway, or
	// some escrows, which are retried; staged deletes stay staged.
	if p&store.ResetConnectorDataStore != 0 {
		anchors, err := s.store.ListAnchors(ctx, j.ID)
		if err != nil {
			return j, nil, fmt.Errorf("apply restart: %w", err)
		}
		for _, a := range anchors {
			if err := s.store.DeleteAnchor(ctx, j.ID, a.SourceType, a.SourceID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return j, nil, fmt.Errorf("apply restart: %w", err)
			}
		}
	}
	if p&store.ResetEscrows != 0 {
		if err := s.store.ClearEscrows(ctx, j.ID); err != nil {
			return j, nil, fmt.Errorf("apply restart: %w", err)
		}
	}
	var force []store.StagedDelete
	if p&store.ResetForceDeletes != 0 {
		if force, err = s.store.ListStagedDeletes(ctx, j.ID); err != nil {
			return j, nil, fmt.Errorf("apply restart: %w", err)
		}
	}
	return j, force, nil
}

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
	"provisiond/schema"
	"provisiond/store"
)

// This file is the spreading of big cycles: the cycle holding its job's
// lock (the coordinator) hands the objects it reads, a chunk at a time, to
// the scheduler, whose workers on any node run them through the same
// process and engine as the cycle itself; the coordinator waits for every
// chunk of a type before the next type (groups after users) and moves the
// watermark only after them.

// DefaultCycleChunk is how many objects of one type a chunk holds, by
// default. A cycle with fewer objects of a type runs them itself.
const DefaultCycleChunk = 1000

// chunkArgs is one chunk of a cycle: objects of one type, by id, for the
// rule's engine. It is a River job (see chunkWorker).
type chunkArgs struct {
	SPID  string    `json:"sp"`
	JobID string    `json:"job"`
	Cycle string    `json:"cycle"`
	Began time.Time `json:"began"`
	Seq   int       `json:"seq"` // the chunk's number in its cycle
	Rule  string    `json:"rule"`
	Type  string    `json:"type"`
	IDs   []string  `json:"ids"`
	Hold  bool      `json:"hold"`
	// Listed lets the chunk match against the target read once per node
	// and cycle. A chunk worked again (its node died) is not: what the
	// dead node created is absent from any listing made before.
	Listed bool `json:"listed"`
	// Again marks a chunk worked again after an attempt that did not
	// finish (its node died or stopped).
	Again bool `json:"again,omitempty"`
}

// chunkResult is what a chunk did, kept with the finished River job so a
// coordinator's crash loses none of it.
type chunkResult struct {
	Imported, Entitled, Exported, Escrowed, Skipped int64
	BaseFailed, RefFailed, Answered                 int64
	// Touched are the objects escrowed before or failing now, which the
	// cycle does not retry again.
	Touched []string `json:",omitempty"`
	// Staged are the disables and deletes the chunk held.
	Staged []stagedResult `json:",omitempty"`
	// Err is why the chunk stopped early; TargetDown marks errTargetDown.
	Err        string `json:",omitempty"`
	TargetDown bool   `json:",omitempty"`
	// Node is the node that worked the chunk.
	Node string `json:",omitempty"`
	// Retried says the chunk was worked again (chunkArgs.Again): what the
	// unfinished attempt exported is in the store but in no chunk's
	// Exported.
	Retried bool `json:",omitempty"`
}

type stagedResult struct {
	ID  string          `json:"id"`
	Out *engine.Outcome `json:"out"`
}

// spreader runs chunks of cycles on any node (the Runner).
type spreader interface {
	// spreading reports whether chunks are worked now (a Runner started).
	spreading() bool
	// beginCycle marks cycleID running until end is called; it waits
	// first for the chunks of the job's earlier cycles still being worked.
	beginCycle(ctx context.Context, jobID, cycleID string) (end func(), err error)
	// addChunk queues a chunk and returns its id.
	addChunk(ctx context.Context, a chunkArgs) (int64, error)
	// waitChunks waits until every chunk of pending (by id) is done,
	// calling done with what each did as it finishes.
	waitChunks(ctx context.Context, cycleID string, pending map[int64]chunkArgs, done func(chunkResult)) error
}

// spreads reports whether the cycle hands objects of om to chunks: a
// scheduler runs them, and they are not groups (whose memberships come
// after every user, from the coordinator).
func (c *cycle) spreads(job *engine.Job, om *schema.CompiledObject) bool {
	return c.spread != nil && !isGroup(job, om)
}

// queueChunk hands items to a chunk.
func (c *cycle) queueChunk(ctx context.Context, job *engine.Job, om *schema.CompiledObject, items []item, listed bool) error {
	c.chunks++
	a := chunkArgs{SPID: c.sp.ID, JobID: c.j.ID, Cycle: c.id, Seq: c.chunks, Began: c.began, Rule: job.Rule.Rule.ID,
		Type: om.Mapping.SourceObjectName, Hold: c.threshold > 0, Listed: listed}
	read := map[string]*connector.Object{}
	for _, it := range items {
		a.IDs = append(a.IDs, it.id)
		if it.obj != nil {
			read[it.id] = it.obj
		}
	}
	// The objects read stay here for a chunk this node works, which need
	// not read them again; another node reads them from the source.
	c.s.listed.keep(a.Cycle, a.Seq, read)
	id, err := c.spread.addChunk(ctx, a)
	if err != nil {
		return fmt.Errorf("queue a chunk of %s: %w", a.Type, err)
	}
	if c.pending == nil {
		c.pending = map[int64]chunkArgs{}
	}
	c.pending[id] = a
	return nil
}

// waitChunks waits for the chunks queued and adds what they did to the
// cycle's figures, escrows and held deletes.
func (c *cycle) waitChunks(ctx context.Context, job *engine.Job, om *schema.CompiledObject) error {
	if len(c.pending) == 0 {
		return nil
	}
	var firstErr error
	var touched []string
	// Each chunk's figures count as it ends, so the progress moves.
	err := c.spread.waitChunks(ctx, c.id, c.pending, func(r chunkResult) {
		c.n.addResult(r)
		c.retried = c.retried || r.Retried
		c.answered.Add(r.Answered)
		touched = append(touched, r.Touched...)
		for _, s := range r.Staged {
			c.stage(job, om, s.ID, s.Out)
		}
		switch {
		case firstErr != nil || r.Err == "":
		case r.TargetDown:
			firstErr = fmt.Errorf("%w: %s", errTargetDown, r.Err)
		default:
			firstErr = errors.New(r.Err)
		}
	})
	c.pending = nil
	// The chunks kept the store's escrows: read them again.
	if rerr := c.escrows.reload(context.WithoutCancel(ctx), om.Mapping.SourceObjectName, touched); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	return firstErr
}

// addResult adds a chunk's figures.
func (n *counts) addResult(r chunkResult) {
	n.imported.Add(r.Imported)
	n.entitled.Add(r.Entitled)
	n.exported.Add(r.Exported)
	n.escrowed.Add(r.Escrowed)
	n.skipped.Add(r.Skipped)
	n.baseFailed.Add(r.BaseFailed)
	n.refFailed.Add(r.RefFailed)
}

// reload reads the job's escrows again after chunks changed them, and
// marks the objects of type typ in touched as done for the cycle.
func (b *escrowBook) reload(ctx context.Context, typ string, touched []string) error {
	es, err := b.st.ListEscrows(ctx, b.jobID)
	if err != nil {
		return fmt.Errorf("read escrows: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = make(map[escrowKey]store.Escrow, len(es))
	for _, e := range es {
		b.held[escrowKey{strings.ToLower(e.SourceType), e.SourceID}] = e
	}
	for _, id := range touched {
		b.touched[escrowKey{strings.ToLower(typ), id}] = true
	}
	return nil
}

// runChunk works one chunk on this node: the objects through the engine,
// as the cycle would. An error is the chunk's interruption (ctx ended);
// what stopped it otherwise is in the result.
func (s *Service) runChunk(ctx context.Context, a chunkArgs) (chunkResult, error) {
	sp, err := s.store.GetServicePrincipal(ctx, a.SPID)
	if err != nil {
		return chunkResult{}, fmt.Errorf("chunk: %w", err)
	}
	j, err := s.store.GetJob(ctx, a.SPID, a.JobID)
	if err != nil {
		return chunkResult{}, fmt.Errorf("chunk: %w", err)
	}
	var job *engine.Job
	if a.Listed {
		job = s.listedCached(a.Cycle, a.Rule) // built by the first chunk (or the cycle) here
	}
	if job == nil {
		comp, err := s.Compiled(j)
		if err != nil {
			return chunkResult{Err: err.Error()}, nil
		}
		i := slices.IndexFunc(comp.Rules, func(r *schema.CompiledRule) bool { return r.Rule.ID == a.Rule })
		if i < 0 {
			return chunkResult{Err: fmt.Sprintf("the job has no rule %s any more", a.Rule)}, nil
		}
		if job, err = s.Runtime(ctx, sp, j, comp.Rules[i]); err != nil {
			return chunkResult{Err: err.Error()}, nil
		}
		job.CycleID = a.Cycle
		if a.Listed {
			if job, err = s.listedJob(ctx, a.Cycle, job); err != nil {
				return chunkResult{Err: err.Error(), TargetDown: true}, nil
			}
		}
	}
	job.State = newBatchState(s.store) // flushed by process, before the chunk's result is kept
	oi := slices.IndexFunc(job.Rule.Objects, func(om *schema.CompiledObject) bool {
		return om.Mapping.Enabled && strings.EqualFold(om.Mapping.SourceObjectName, a.Type)
	})
	if oi < 0 {
		return chunkResult{Err: fmt.Sprintf("rule %s no longer maps %s", a.Rule, a.Type)}, nil
	}
	om := job.Rule.Objects[oi]
	c := &cycle{s: s, sp: sp, j: j, id: a.Cycle, began: a.Began, slots: s.chunkSlots(a.JobID)}
	if err := c.loadEscrows(ctx); err != nil {
		return chunkResult{}, err
	}
	read := s.listed.take(a.Cycle, a.Seq)
	items := make([]item, len(a.IDs))
	for i, id := range a.IDs {
		items[i] = item{id: id, obj: read[id]}
	}
	perr := c.process(ctx, job, om, items, a.Hold)
	r := chunkResult{Imported: c.n.imported.Load(), Entitled: c.n.entitled.Load(), Exported: c.n.exported.Load(),
		Escrowed: c.n.escrowed.Load(), Skipped: c.n.skipped.Load(), BaseFailed: c.n.baseFailed.Load(),
		RefFailed: c.n.refFailed.Load(), Answered: c.answered.Load(), Retried: a.Again}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	c.escrows.mu.Lock()
	for k := range c.escrows.touched {
		r.Touched = append(r.Touched, k.id)
	}
	c.escrows.mu.Unlock()
	for _, op := range c.staged {
		r.Staged = append(r.Staged, stagedResult{ID: op.id, Out: op.out})
	}
	if perr != nil {
		r.Err, r.TargetDown = perr.Error(), errors.Is(perr, errTargetDown)
	}
	return r, nil
}

// chunkSlots returns the job's slots for objects in chunks on this node:
// CycleWorkers of them, so that two chunks of one job running here (one
// ending, the next starting) put no more objects at once to the target
// than one cycle does.
func (s *Service) chunkSlots(jobID string) chan struct{} {
	s.listed.mu.Lock()
	defer s.listed.mu.Unlock()
	if s.listed.slots == nil {
		s.listed.slots = map[string]chan struct{}{}
	}
	ch, ok := s.listed.slots[jobID]
	if !ok {
		ch = make(chan struct{}, s.workers)
		s.listed.slots[jobID] = ch
	}
	return ch
}

// listedIdle is how long a node keeps a cycle's target listing no chunk
// asked for, at most: the cycle ended elsewhere (the Runner drops those
// within seconds), or its chunks went to others.
const listedIdle = 2 * time.Minute

// listings keeps each running cycle's target as read once on this node
// (listTarget), for the cycle and the chunks of it the node works.
type listings struct {
	mu sync.Mutex
	m  map[string]*listing // cycle id + rule id
	// read holds the objects a coordinator here read for each of its
	// chunks, until a worker here takes them or the cycle ends.
	read map[chunkKey]map[string]*connector.Object
	// slots are each job's chunkSlots.
	slots map[string]chan struct{}
}

type chunkKey struct {
	cycle string
	seq   int
}

func (l *listings) keep(cycle string, seq int, objs map[string]*connector.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.read == nil {
		l.read = map[chunkKey]map[string]*connector.Object{}
	}
	l.read[chunkKey{cycle, seq}] = objs
}

func (l *listings) take(cycle string, seq int) map[string]*connector.Object {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := chunkKey{cycle, seq}
	objs := l.read[k]
	delete(l.read, k)
	return objs
}

type listing struct {
	cycle string
	ready chan struct{}
	job   *engine.Job
	err   error
	used  time.Time
}

// listedJob returns job matching against its target read once on this
// node for the cycle: the first caller reads it, the others wait for it.
func (s *Service) listedJob(ctx context.Context, cycleID string, job *engine.Job) (*engine.Job, error) {
	key := cycleID + "\x00" + job.Rule.Rule.ID
	now := time.Now()
	s.listed.mu.Lock()
	if s.listed.m == nil {
		s.listed.m = map[string]*listing{}
	}
	for k, l := range s.listed.m {
		if l.cycle != cycleID && now.Sub(l.used) > listedIdle {
			delete(s.listed.m, k)
		}
	}
	l, ok := s.listed.m[key]
	if !ok {
		l = &listing{cycle: cycleID, ready: make(chan struct{})}
		s.listed.m[key] = l
	}
	l.used = now
	s.listed.mu.Unlock()
	if !ok {
		target, err := listTarget(ctx, job)
		if err != nil {
			l.err = fmt.Errorf("%w: read %s: %w", errTargetDown, job.Target.Name(), err)
			s.listed.mu.Lock()
			delete(s.listed.m, key) // the next caller tries again
			s.listed.mu.Unlock()
		} else {
			full := *job
			full.Target = target
			l.job = &full
		}
		close(l.ready)
	}
	select {
	case <-l.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	// The cycle id and rule are this caller's; the target is shared.
	full := *job
	full.Target = l.job.Target
	return &full, nil
}

// listedCached returns a copy of the cycle's rule's job as listedJob made
// it on this node, nil when there is none (yet).
func (s *Service) listedCached(cycleID, ruleID string) *engine.Job {
	s.listed.mu.Lock()
	l, ok := s.listed.m[cycleID+"\x00"+ruleID]
	if ok {
		l.used = time.Now()
	}
	s.listed.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-l.ready:
	default:
		return nil // being read: the caller reads its own way (listedJob waits)
	}
	if l.err != nil {
		return nil
	}
	full := *l.job
	return &full
}

// listedCycles returns the cycles this node holds target listings of.
func (s *Service) listedCycles() []string {
	s.listed.mu.Lock()
	defer s.listed.mu.Unlock()
	var ids []string
	for _, l := range s.listed.m {
		if !slices.Contains(ids, l.cycle) {
			ids = append(ids, l.cycle)
		}
	}
	return ids
}

// dropListings forgets the cycle's target listings on this node.
func (s *Service) dropListings(cycleID string) {
	s.listed.mu.Lock()
	defer s.listed.mu.Unlock()
	for k, l := range s.listed.m {
		if l.cycle == cycleID {
			delete(s.listed.m, k)
		}
	}
	for k := range s.listed.read {
		if k.cycle == cycleID {
			delete(s.listed.read, k)
		}
	}
}

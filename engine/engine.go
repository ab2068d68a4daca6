package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"provisiond/connector"
	"provisiond/keylock"
	"provisiond/schema"
	"provisiond/store"
)

// State is what the engine keeps between runs: anchors (source ↔ target
// links) and provisioning logs. store.Store satisfies it.
type State interface {
	GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error)
	PutAnchor(ctx context.Context, a store.Anchor) error
	DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error
	GetAnchors(ctx context.Context, jobID, sourceType string, sourceIDs []string) ([]store.Anchor, error)
	GetAnchorsByTarget(ctx context.Context, jobID, targetType string, targetIDs []string) ([]store.Anchor, error)
	AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error
}

// Config wires an Engine.
type Config struct {
	State State
	Now   func() time.Time // defaults to time.Now
	NewID func() string    // required: change ids
}

// Engine runs the provisioning pipeline.
type Engine struct {
	state State
	now   func() time.Time
	newID func() string
	locks keylock.Locks
}

// New returns an Engine.
func New(cfg Config) *Engine {
	e := &Engine{state: cfg.State, now: cfg.Now, newID: cfg.NewID}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Job is one synchronization job as the engine runs it.
type Job struct {
	ID                 string
	ServicePrincipalID string
	Rule               *schema.CompiledRule
	// SyncAll puts every source object in scope, assigned or not.
	SyncAll bool
	// SkipOutOfScopeDeletions leaves objects that left the scope alone.
	SkipOutOfScopeDeletions bool
	Source                  connector.Source
	Target                  connector.Target
	// CycleID names the cycle the job's events belong to ("" on demand).
	CycleID string
	// OmitSkippedLogs leaves a cycle's Skipped events out of the
	// provisioning logs (on demand, every event is logged).
	OmitSkippedLogs bool
	// State, when set, replaces the engine's State for this job's
	// requests: a cycle's write-behind batch of anchors and logs.
	State State
	// CloudSync runs the job as Entra cloud sync runs its (an on-premises
	// directory into the directory): the import step first says what
	// change it received (EntryImportAdd, EntryImportUpdate), the scoping
	// step shows cloud sync's lines, and a disabled account is in scope,
	// provisioned disabled as its mappings say, where other jobs skip it.
	CloudSync bool
	// InitiatedBy is who asked for the work, as provisioning logs show it:
	// the caller of an on-demand request; nil for the service itself
	// (cycles).
	InitiatedBy *Initiator
}

// Request names one unit of work: a source object and, for a group, the
// members (users) to provision with it and whose membership to reconcile.
type Request struct {
	ObjectType string // the source object type, as the rule's object mapping names it
	ObjectID   string
	Members    []Request
	// AllMembers (for a group) reconciles its whole membership, as a cycle
	// does: every source member the job has provisioned is added, and a
	// target member the job provisioned that is no longer a source member
	// is removed; members the job never provisioned are left alone. Members
	// are not provisioned by the request itself.
	AllMembers bool
	// Object is the source object as the caller already read it (a
	// cycle's listing, which reads objects as Get does); nil: the engine
	// reads it. It must be the object ObjectType/ObjectID name.
	Object *connector.Object
	// DryRun runs every step with the target read but never written: no
	// target write, no anchor change, no provisioning log. The export step
	// says what would have been done.
	DryRun bool
	// HoldDeletes stages a disable or delete instead of exporting it, so a
	// cycle can count them against the accidental-deletions threshold
	// before any is made: the outcome is Skipped with Code StagedDelete and
	// the Action it would take, its event's action is StagedDelete, and no
	// provisioning log is recorded (the caller records the event with
	// Record if it keeps the hold, or processes the object again without
	// the hold to carry it out).
	HoldDeletes bool
}

// Process runs the pipeline for one request and, unless it is a dry run,
// records the events as provisioning logs. Per-object outcomes are data in
// the Outcome; an error means the request could not be processed at all:
// *UnmappedError, *NotFoundError, *MemberError, *BusyError (the context
// ended while another request held an object), or a store failure.
func (e *Engine) Process(ctx context.Context, job *Job, req Request) (*Outcome, error) {
	om := job.Rule.Object(req.ObjectType)
	if om == nil {
		return nil, &UnmappedError{RuleID: job.Rule.Rule.ID, ObjectType: req.ObjectType}
	}
	isGroup := connector.ClassOf(job.Source, om.Mapping.SourceObjectName) == connector.ClassGroup
	if len(req.Members) > 0 && !isGroup {
		return nil, &MemberError{Member: req.Members[0], Reason: MembersOfNonGroup}
	}
	members := make([]member, 0, len(req.Members))
	keys := []string{lockKey(job, om, req.ObjectID)}
	for _, m := range req.Members {
		mom := job.Rule.Object(m.ObjectType)
		switch {
		case mom == nil:
			return nil, &UnmappedError{RuleID: job.Rule.Rule.ID, ObjectType: m.ObjectType, Member: true}
		case connector.ClassOf(job.Source, mom.Mapping.SourceObjectName) != connector.ClassUser:
			return nil, &MemberError{Member: m, Reason: MemberNotUser}
		case m.ObjectID == req.ObjectID:
			return nil, &MemberError{Member: m, Reason: MemberIsSubject}
		}
		members = append(members, member{om: mom, id: m.ObjectID})
		keys = append(keys, lockKey(job, mom, m.ObjectID))
	}
	// Every object of the request is locked at once, in a fixed order, so
	// concurrent requests naming the same objects cannot deadlock, and a
	// caller that gives up stops waiting.
	unlock, err := e.locks.Lock(ctx, keys...)
	if err != nil {
		return nil, &BusyError{Err: err}
	}
	defer unlock()
	if req.AllMembers && (!isGroup || len(req.Members) > 0) {
		return nil, &MemberError{Member: req, Reason: MembersOfNonGroup}
	}
	u := &unit{e: e, job: job, dry: req.DryRun, hold: req.HoldDeletes, allMembers: req.AllMembers}
	// The target object the anchor names is read while the source is: the
	// target's round trip, not the sum of both, is what the caller waits for.
	ahead := u.readLinked(ctx, om, req.ObjectID)
	defer ahead()
	var src connector.Object
	gone := false
	if req.Object != nil && req.Object.ID == req.ObjectID {
		src = *req.Object
	} else if src, gone, err = u.read(ctx, om, req.ObjectID, false); err != nil {
		return nil, err
	}
	if !gone && src.ID != req.ObjectID {
		// The request named the object by another key than its id (an
		// LDAP distinguished name): anchors are keyed by the id imported,
		// so that both names address the same link.
		ahead = u.readLinked(ctx, om, src.ID)
		defer ahead()
	}
	var out *Outcome
	switch {
	case gone:
		out, err = u.gone(ctx, om, req.ObjectID, ahead)
	case isGroup:
		out, err = u.group(ctx, om, src, members, ahead)
	default:
		out, err = u.object(ctx, om, src, ahead)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// member is a member of a group request, resolved to its object mapping,
// and its source object once imported.
type member struct {
	om  *schema.CompiledObject
	id  string
	src connector.Object
}

// state is where the job's anchors and logs are kept.
func (u *unit) state() State {
	if u.job.State != nil {
		return u.job.State
	}
	return u.e.state
}

// unit is the work of one request, whose objects are locked.
type unit struct {
	e          *Engine
	job        *Job
	dry        bool
	hold       bool // HoldDeletes
	allMembers bool
}

// read imports a source object. gone reports a hard-deleted object that was
// provisioned (it has an anchor); an unknown object is a *NotFoundError.
func (u *unit) read(ctx context.Context, om *schema.CompiledObject, id string, isMember bool) (src connector.Object, gone bool, err error) {
	src, err = u.job.Source.Get(ctx, om.Mapping.SourceObjectName, id)
	if connector.IsNotFound(err) {
		if !isMember {
			_, aerr := u.state().GetAnchor(ctx, u.job.ID, om.Mapping.SourceObjectName, id)
			if aerr == nil {
				return src, true, nil
			}
			if !isStoreNotFound(aerr) {
				return src, false, fmt.Errorf("read anchor: %w", aerr)
			}
		}
		return src, false, &NotFoundError{ObjectType: om.Mapping.SourceObjectName, ID: id, Source: u.job.Source.Name(), Member: isMember}
	}
	if err != nil {
		return src, false, &ImportError{ObjectType: om.Mapping.SourceObjectName, ID: id, Source: u.job.Source.Name(), Err: err}
	}
	return src, false, nil
}

// object runs Import → Scoping → Matching → Export for one object and
// records its event.
func (u *unit) object(ctx context.Context, om *schema.CompiledObject, src connector.Object, ahead func() linked) (*Outcome, error) {
	r := u.newRun(ctx, om, src)
	r.ahead = ahead
	out, err := r.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	if err := u.save(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// linked is an object's stored anchor and, when there is one, the target
// object it names.
type linked struct {
	anchor    store.Anchor
	has       bool
	err       error // reading the anchor
	target    connector.Object
	targetErr error
}

// readLinked starts reading the anchor of a source object and the target
// object it names; the returned function waits for the result.
func (u *unit) readLinked(ctx context.Context, om *schema.CompiledObject, sourceID string) func() linked {
	done := make(chan struct{})
	var l linked
	go func() {
		defer close(done)
		l.anchor, l.err = u.state().GetAnchor(ctx, u.job.ID, om.Mapping.SourceObjectName, sourceID)
		if l.err != nil {
			if isStoreNotFound(l.err) {
				l.err = nil
			}
			return
		}
		l.has = true
		l.target, l.targetErr = u.job.Target.Get(ctx, om.Mapping.TargetObjectName, l.anchor.TargetID)
	}()
	return func() linked { <-done; return l }
}

func lockKey(job *Job, om *schema.CompiledObject, id string) string {
	return job.ID + "\x00" + om.Mapping.SourceObjectName + "\x00" + id
}

// persistTimeout bounds the writes that record work already done in the
// target (anchors, logs), which must happen even when the caller has gone.
const persistTimeout = 10 * time.Second

// persistCtx is the context for recording work already done: it outlives
// the caller's cancellation, but not forever.
func persistCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
}

// save records the outcome's event as a provisioning log (not in a dry run,
// nor for a held delete).
func (u *unit) save(ctx context.Context, out *Outcome) error {
	if u.dry || (u.hold && out.Code == CodeStagedDelete) ||
		u.job.OmitSkippedLogs && u.job.CycleID != "" && out.Status == StatusSkipped {
		return nil
	}
	return u.e.record(ctx, u.state(), u.job, &out.Event)
}

// Record stores ev as one of job's provisioning logs, at once (not
// through the job's own State). Process records its events itself; Record
// is for an event it handed back unrecorded (a held delete).
func (e *Engine) Record(ctx context.Context, job *Job, ev *Event) error {
	return e.record(ctx, e.state, job, ev)
}

func (e *Engine) record(ctx context.Context, st State, job *Job, ev *Event) error {
	data, err := encodeLoggedEvent(ev, job.InitiatedBy)
	if err != nil {
		return err
	}
	ctx, cancel := persistCtx(ctx)
	defer cancel()
	name := ""
	if ev.SourceIdentity.DisplayName != nil {
		name = *ev.SourceIdentity.DisplayName
	}
	err = st.AddProvisioningLog(ctx, store.ProvisioningLog{
		ID: e.newID(), JobID: job.ID, ServicePrincipalID: job.ServicePrincipalID,
		ChangeID: ev.ChangeID, Activity: time.Time(ev.StartTime), CycleID: ev.CycleID,
		Action: ev.Action, Status: ev.StatusInfo.Status, SourceID: ev.SourceIdentity.ID,
		SourceName: name, TargetID: ev.TargetIdentity.ID, Data: data,
	})
	if err != nil {
		return fmt.Errorf("save provisioning log: %w", err)
	}
	return nil
}

// isStoreNotFound reports a missing anchor.
func isStoreNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

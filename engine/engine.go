package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"provisiond/connector"
	"provisiond/schema"
	"provisiond/store"
)

// State is what the engine keeps between runs: anchors (source ↔ target
// links) and provisioning logs. store.Store satisfies it.
type State interface {
	GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error)
	PutAnchor(ctx context.Context, a store.Anchor) error
	DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error
	AddProvisioningLog(ctx context.Context, l store.ProvisioningLog) error
}

// Config wires an Engine.
type Config struct {
	State  State
	Now    func() time.Time // defaults to time.Now
	NewID  func() string    // required: change ids
	Logger *slog.Logger
}

// Engine runs the provisioning pipeline.
type Engine struct {
	state State
	now   func() time.Time
	newID func() string
	log   *slog.Logger
	locks keyedMutex
}

// New returns an Engine.
func New(cfg Config) *Engine {
	e := &Engine{state: cfg.State, now: cfg.Now, newID: cfg.NewID, log: cfg.Logger}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.Default()
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
}

// Subject is the object to provision, as provisionOnDemand names it.
type Subject struct {
	ObjectID       string
	ObjectTypeName string
	// Members are group members to provision with the group (at most 5).
	Members []Subject
}

// Result is the outcome of provisioning one subject.
type Result struct {
	Key   Key
	Event Event
	// Members holds each member's own result when the subject is a group.
	Members []*Result
}

// KeyJSON is the provisionOnDemand "key" string.
func (r *Result) KeyJSON() string { return mustJSON(r.Key) }

// ValueJSON is the provisionOnDemand "value" string: the event.
func (r *Result) ValueJSON() string { return mustJSON(r.Event) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("engine: marshal: " + err.Error()) // only plain data types: cannot fail
	}
	return string(b)
}

// SubjectError reports a subject provisionOnDemand cannot take: an unknown
// object or an object type the rule does not map. graphapi shows it to
// the caller.
type SubjectError struct {
	NotFound bool
	Msg      string
}

func (e *SubjectError) Error() string { return e.Msg }

// Provision runs the pipeline for one subject (a user, or a group with its
// listed members) and records the events as provisioning logs.
func (e *Engine) Provision(ctx context.Context, job *Job, subj Subject) (*Result, error) {
	om := job.Rule.Object(subj.ObjectTypeName)
	if om == nil {
		return nil, &SubjectError{Msg: fmt.Sprintf("The synchronization rule '%s' has no enabled object mapping for objectTypeName '%s'.",
			job.Rule.Rule.ID, subj.ObjectTypeName)}
	}
	src, err := job.Source.Get(ctx, om.Mapping.SourceObjectName, subj.ObjectID)
	if connector.IsNotFound(err) {
		// Hard-deleted in the source: if it was provisioned, remove it.
		if _, aerr := e.state.GetAnchor(ctx, job.ID, om.Mapping.SourceObjectName, subj.ObjectID); aerr == nil {
			return e.provisionGone(ctx, job, om, subj.ObjectID)
		} else if !isStoreNotFound(aerr) {
			return nil, fmt.Errorf("read anchor: %w", aerr)
		}
		return nil, &SubjectError{NotFound: true, Msg: fmt.Sprintf("The %s '%s' was not found in %s.",
			om.Mapping.SourceObjectName, subj.ObjectID, job.Source.Name())}
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", subj.ObjectID, err)
	}
	if strings.EqualFold(om.Mapping.TargetObjectName, connector.TypeGroup) || strings.EqualFold(om.Mapping.SourceObjectName, connector.TypeGroup) {
		return e.provisionGroup(ctx, job, om, src, subj.Members)
	}
	if len(subj.Members) > 0 {
		return nil, &SubjectError{Msg: "links.members is only allowed on a Group subject."}
	}
	r, _, err := e.provisionObject(ctx, job, om, src)
	return r, err
}

// keyedMutex serialises work on one key (job + source object) so two
// concurrent runs cannot both create the same target object.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	en := k.m[key]
	if en == nil {
		en = &keyedEntry{}
		k.m[key] = en
	}
	en.refs++
	k.mu.Unlock()
	en.mu.Lock()
	return func() {
		en.mu.Unlock()
		k.mu.Lock()
		en.refs--
		if en.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

func (e *Engine) saveLog(ctx context.Context, job *Job, ev *Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	err = e.state.AddProvisioningLog(ctx, store.ProvisioningLog{
		ID: e.newID(), JobID: job.ID, ServicePrincipalID: job.ServicePrincipalID,
		ChangeID: ev.ChangeID, Activity: time.Time(ev.StartTime), Data: data,
	})
	if err != nil {
		return fmt.Errorf("save provisioning log: %w", err)
	}
	return nil
}

// isStoreNotFound reports a missing anchor.
func isStoreNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

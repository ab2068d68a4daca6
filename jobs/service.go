package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/keylock"
	"provisiond/metrics"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
)

// InteractiveTimeout is the whole budget of a call an administrator waits
// for (provisionOnDemand, validateCredentials): every attempt and retry of
// every target request together.
const InteractiveTimeout = 30 * time.Second

// Options wire a Service.
type Options struct {
	Store    store.Store
	Secrets  *secrets.Box
	Engine   *engine.Engine
	Registry Registry
	Logger   *slog.Logger
	// Interactive overrides InteractiveTimeout (tests).
	Interactive time.Duration
	// Scheduler runs the cycles of started jobs; nil = none: start, pause
	// and restart only change the jobs' state.
	Scheduler Scheduler
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// CycleWorkers is how many objects a job's cycle processes at once
	// (0: CycleWorkers).
	CycleWorkers int
	// Metrics records cycles and provisionOnDemand calls; nil: none.
	Metrics *metrics.Metrics
	// CycleChunk is how many objects of one type a chunk of a big cycle
	// holds, worked by any node's scheduler (0: DefaultCycleChunk).
	CycleChunk int
}

// Service runs synchronization jobs' work for the API (and, later, for
// scheduled cycles).
type Service struct {
	store       store.Store
	box         *secrets.Box
	engine      *engine.Engine
	reg         Registry
	log         *slog.Logger
	interactive time.Duration
	sched       Scheduler
	now         func() time.Time
	workers     int
	chunk       int
	metrics     *metrics.Metrics
	listed      listings
	// lifecycle serialises start, pause, restart and delete per job, so
	// that the scheduler hears of them in the order the store saw them.
	lifecycle keylock.Locks

	mu       sync.Mutex
	compiled map[string]compiledJob     // job id → compiled schema
	conns    map[string]*connectorEntry // job id + rule id → connectors
}

type compiledJob struct {
	updated time.Time
	c       *schema.Compiled
}

// connectorEntry is a job's connectors and the configuration they were
// built from.
type connectorEntry struct {
	fingerprint [32]byte
	source      connector.Source
	target      connector.Target
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{store: o.Store, box: o.Secrets, engine: o.Engine, reg: o.Registry, log: o.Logger,
		interactive: o.Interactive, sched: o.Scheduler, now: o.Now,
		compiled: map[string]compiledJob{}, conns: map[string]*connectorEntry{}}
	if s.interactive <= 0 {
		s.interactive = InteractiveTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.workers = o.CycleWorkers
	if s.workers <= 0 {
		s.workers = CycleWorkers
	}
	s.chunk = o.CycleChunk
	if s.chunk <= 0 {
		s.chunk = DefaultCycleChunk
	}
	s.metrics = o.Metrics
	return s
}

// Error is a request the caller must fix: a wrong rule, subject or member,
// or a job that cannot connect. NotFound marks an object that does not
// exist.
type Error struct {
	NotFound bool
	// Connect marks a configuration (secrets, settings) that cannot build
	// a connector.
	Connect bool
	// Busy marks a request that gave up waiting for another one.
	Busy    bool
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Compiled returns the job's schema checked and parsed, cached until the
// job changes.
func (s *Service) Compiled(j store.Job) (*schema.Compiled, error) {
	s.mu.Lock()
	c, ok := s.compiled[j.ID]
	s.mu.Unlock()
	if ok && c.updated.Equal(j.Updated) {
		return c.c, nil
	}
	var sc schema.Schema
	if err := json.Unmarshal(j.Schema, &sc); err != nil {
		return nil, fmt.Errorf("job %s: stored schema: %w", j.ID, err)
	}
	comp, err := schema.Compile(&sc)
	if err != nil {
		return nil, fmt.Errorf("job %s: stored schema: %w", j.ID, err)
	}
	// A schema stored before CheckDirectories refused it does not run.
	if err := writesAsTemplate(j, &sc); err != nil {
		return nil, invalid("The job '%s' cannot run its schema: %s Reset the schema (DELETE .../schema).", j.ID, err.Message)
	}
	s.mu.Lock()
	s.compiled[j.ID] = compiledJob{j.Updated, comp}
	s.mu.Unlock()
	return comp, nil
}

// Secrets returns the decrypted secrets of a service principal.
func (s *Service) Secrets(ctx context.Context, spID string) ([]secrets.Pair, error) {
	sealed, err := s.store.GetSecrets(ctx, spID)
	if err != nil {
		return nil, err
	}
	return s.box.OpenPairs(sealed)
}

// SealSecrets encrypts secrets for the store.
func (s *Service) SealSecrets(pairs []secrets.Pair) ([]byte, error) { return s.box.SealPairs(pairs) }

// LogSkippedEventsSetting is the job setting (synchronizationJobSettings)
// that, set to "false", leaves the Skipped events of cycles out of the
// provisioning logs: a SyncAll job otherwise logs every out-of-scope
// object on every initial cycle.
const LogSkippedEventsSetting = "LogSkippedEvents"

// Settings decodes a job's synchronizationJobSettings into a map.
func Settings(j store.Job) (map[string]string, error) {
	var kvs []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	}
	if len(j.Settings) > 0 {
		if err := json.Unmarshal(j.Settings, &kvs); err != nil {
			return nil, fmt.Errorf("job %s: stored settings: %w", j.ID, err)
		}
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		if kv.Value != nil {
			m[kv.Name] = *kv.Value
		}
	}
	return m, nil
}

// CheckSettings validates settings for the job's target directories.
func (s *Service) CheckSettings(j store.Job, settings map[string]string) error {
	for name := range settings {
		for _, known := range []string{DeleteThresholdSetting, LogSkippedEventsSetting} {
			if name != known && strings.EqualFold(name, known) {
				// Stored as sent, it would never be read.
				return invalid("The job setting '%s' is spelt '%s': setting names are case-sensitive (one stored so before is removed with \"value\": null).", name, known)
			}
		}
	}
	if _, err := deleteThreshold(settings); err != nil {
		return err
	}
	if v, ok := settings[LogSkippedEventsSetting]; ok && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return invalid("The job setting %s is '%s'; set it to true (log a cycle's Skipped events, the default) or false.", LogSkippedEventsSetting, v)
	}
	comp, err := s.Compiled(j)
	if err != nil {
		return err
	}
	for _, r := range comp.Rules {
		if check := s.reg.CheckSettings[r.Rule.TargetDirectoryName]; check != nil {
			if err := check(settings); err != nil {
				return err
			}
		}
	}
	return nil
}

// Forget drops what the service keeps for a job (on delete).
func (s *Service) Forget(jobID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.compiled, jobID)
	for k := range s.conns {
		if strings.HasPrefix(k, jobID+"\x00") {
			delete(s.conns, k)
		}
	}
}

// Runtime builds the engine's view of one rule of a job: its compiled
// rule, flags read from the secrets, and the job's connectors (kept while
// the job's configuration is unchanged).
func (s *Service) Runtime(ctx context.Context, sp store.ServicePrincipal, j store.Job, rule *schema.CompiledRule) (*engine.Job, error) {
	creds, err := s.Secrets(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	settings, err := Settings(j)
	if err != nil {
		return nil, err
	}
	src, tgt, err := s.connectors(ctx, sp, j, rule.Rule, creds, settings)
	if err != nil {
		return nil, err
	}
	return &engine.Job{
		ID: j.ID, ServicePrincipalID: sp.ID, Rule: rule,
		SyncAll: flagTrue(creds, "SyncAll"), SkipOutOfScopeDeletions: flagTrue(creds, "SkipOutOfScopeDeletions"),
		OmitSkippedLogs: strings.EqualFold(settings[LogSkippedEventsSetting], "false"),
		Source:          src, Target: tgt, CloudSync: schema.IsCloudSync(j.TemplateID),
	}, nil
}

func (s *Service) connectors(ctx context.Context, sp store.ServicePrincipal, j store.Job, rule *schema.Rule, creds []secrets.Pair, settings map[string]string) (connector.Source, connector.Target, error) {
	key := j.ID + "\x00" + rule.ID
	fp := fingerprint(sp, rule, creds, settings)
	s.mu.Lock()
	e := s.conns[key]
	s.mu.Unlock()
	if e != nil && e.fingerprint == fp {
		return e.source, e.target, nil
	}
	if e != nil {
		// The configuration changed: release what the old source holds
		// (an LDAP source's connections).
		if c, ok := e.source.(io.Closer); ok {
			defer c.Close()
		}
	}
	src, err := s.reg.source(ctx, Config{ServicePrincipal: sp, Directory: rule.SourceDirectoryName, Secrets: creds, Settings: settings})
	if err != nil {
		return nil, nil, &Error{Connect: true, Message: fmt.Sprintf("The job '%s' cannot read %s: %v.", j.ID, rule.SourceDirectoryName, err)}
	}
	tgt, err := s.reg.target(ctx, Config{ServicePrincipal: sp, Directory: rule.TargetDirectoryName, Secrets: creds, Settings: settings})
	if err != nil {
		return nil, nil, &Error{Connect: true, Message: fmt.Sprintf("The job '%s' cannot connect: %v. Set its credentials with PUT .../synchronization/secrets.", j.ID, err)}
	}
	s.mu.Lock()
	s.conns[key] = &connectorEntry{fingerprint: fp, source: src, target: tgt}
	s.mu.Unlock()
	return src, tgt, nil
}

// fingerprint identifies the configuration connectors are built from.
func fingerprint(sp store.ServicePrincipal, rule *schema.Rule, creds []secrets.Pair, settings map[string]string) [32]byte {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	field(sp.ID)
	field(rule.SourceDirectoryName)
	field(rule.TargetDirectoryName)
	for _, p := range creds {
		field(p.Key)
		field(p.Value.Reveal())
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field(k)
		field(settings[k])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func flagTrue(pairs []secrets.Pair, key string) bool {
	v, ok := secrets.Lookup(pairs, key)
	return ok && strings.EqualFold(strings.TrimSpace(v.Reveal()), "true")
}

// ValidateCredentials tests the source, when it can be tested, and the
// target of a template (or a job) with the given credentials, within the
// interactive budget. A failure is an
// *Error (configuration) or the target's error.
func (s *Service) ValidateCredentials(ctx context.Context, sp store.ServicePrincipal, sc *schema.Schema, creds []secrets.Pair, settings map[string]string) (connector.Target, error) {
	if sc == nil || len(sc.SynchronizationRules) == 0 {
		return nil, invalid("The template has no synchronization rule to test.")
	}
	rule := &sc.SynchronizationRules[0]
	ctx, cancel := context.WithTimeout(ctx, s.interactive)
	defer cancel()
	// A source whose connection can be tested (a directory server, for
	// cloud sync) is tested first: it is the one with credentials.
	src, err := s.reg.source(ctx, Config{ServicePrincipal: sp, Directory: rule.SourceDirectoryName, Secrets: creds, Settings: settings})
	if err != nil {
		return nil, &Error{Connect: true, Message: err.Error()}
	}
	if tester, ok := src.(interface{ Test(context.Context) error }); ok {
		if err := tester.Test(ctx); err != nil {
			return nil, &Error{Connect: true, Message: fmt.Sprintf("Test connection to %s failed: %v", src.Name(), err)}
		}
	}
	tgt, err := s.reg.target(ctx, Config{ServicePrincipal: sp, Directory: rule.TargetDirectoryName, Secrets: creds, Settings: settings})
	if err != nil {
		return nil, &Error{Connect: true, Message: err.Error()}
	}
	return tgt, tgt.Test(ctx)
}

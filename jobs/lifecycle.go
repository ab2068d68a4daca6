package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"provisiond/isoduration"
	"provisiond/store"
)

// This file is a job's lifecycle: start, pause, restart and delete change
// its schedule and status in one store update each, then tell the
// Scheduler.

// Scheduler runs jobs' cycles.
//
// Its calls follow the state changes they belong to, outside the store's
// transaction: a cycle that begins must check that its job is still
// Active (another node may have paused it between the two).
type Scheduler interface {
	// Schedule makes the job's next cycle run at (or soon after) at.
	Schedule(ctx context.Context, spID, jobID string, at time.Time) error
	// Stop stops the job's running cycle at the next object boundary and cancels its scheduled ones.
	Stop(ctx context.Context, spID, jobID string) error
}

// DefaultInterval is the time between the cycles of a started job whose
// interval was never set (Graph's PT40M).
const DefaultInterval = 40 * time.Minute

// MinInterval is the shortest interval a job may be given.
const MinInterval = time.Minute

// MaxInterval is the longest: a year.
const MaxInterval = 365 * 24 * time.Hour

// DefaultResetScope is what a restart without a resetScope resets: the
// portal's "Restart provisioning".
const DefaultResetScope = store.ResetWatermark | store.ResetEscrows | store.ResetQuarantineState

// resetMembers are the synchronizationJobRestartScope members a resetScope
// may name.
var resetMembers = []store.ResetScope{
	store.ResetNone, store.ResetConnectorDataStore, store.ResetEscrows, store.ResetWatermark,
	store.ResetQuarantineState, store.ResetFull, store.ResetForceDeletes,
}

// validResetNames lists the members for error messages.
func validResetNames() string {
	names := make([]string, len(resetMembers))
	for i, m := range resetMembers {
		names[i] = m.String()
	}
	return strings.Join(names, ", ")
}

// ParseResetScope reads a restart's resetScope: member names separated by
// commas, with any spaces around them, in any case, each any number of
// times ("Watermark, Escrows", "full,forceDeletes"). An empty string is
// DefaultResetScope.
func ParseResetScope(s string) (store.ResetScope, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultResetScope, nil
	}
	var scope store.ResetScope
	for i, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return 0, fmt.Errorf("value %d of the comma-separated list is empty; use one or more of %s", i+1, validResetNames())
		}
		found := false
		for _, m := range resetMembers {
			if strings.EqualFold(tok, m.String()) {
				scope, found = scope|m, true
				break
			}
		}
		if !found {
			if len(tok) > 64 {
				tok = tok[:64] + "..."
			}
			return 0, fmt.Errorf("'%s' is not a synchronizationJobRestartScope; use one or more of %s, separated by commas", tok, validResetNames())
		}
	}
	return scope, nil
}

// ParseInterval reads a schedule interval: an ISO 8601 duration from
// MinInterval to MaxInterval. Never (TimeSpan.MaxValue) is refused:
// pausing is how a job stops running.
func ParseInterval(s string) (time.Duration, error) {
	d, err := isoduration.Parse(s)
	switch {
	case err != nil:
		return 0, err
	case d == isoduration.Never && strings.EqualFold(strings.TrimSpace(s), isoduration.Format(isoduration.Never)):
		return 0, errors.New("an interval of TimeSpan.MaxValue would never run the job; pause it instead")
	case d > MaxInterval:
		return 0, fmt.Errorf("%s is longer than the maximum interval, %s; to stop the job's cycles, pause it", strings.TrimSpace(s), isoduration.Format(MaxInterval))
	case d < MinInterval:
		return 0, fmt.Errorf("%s is shorter than the minimum interval, %s", isoduration.Format(d), isoduration.Format(MinInterval))
	}
	return d, nil
}

// Start makes a job run its cycles on its schedule: schedule Active (with
// DefaultInterval unless an interval was set), status Active, quarantine
// lifted; then it asks the Scheduler for a cycle now. Starting an active
// job is allowed and asks for a cycle again. A job whose service principal
// has no credentials cannot start (*Error, Connect).
func (s *Service) Start(ctx context.Context, spID, jobID string) error {
	return s.start(ctx, spID, jobID, store.ResetNone)
}

// Restart resets what scope names, then starts the job as Start does.
// QuarantineState is applied at once (the quarantine and the count of
// failed cycles are cleared); ConnectorDataStore, Escrows, Watermark and
// ForceDeletes are added to the job's Status.ResetPending for its next
// cycle to honour. A quarantine that scope does not lift stays, but the
// next cycle runs now; one that succeeds lifts it.
//
// The deletes the accidental-deletions guard holds are carried out by the
// next cycle when scope has ForceDeletes (which lifts the TooManyDeletes
// quarantine), and discarded by any other start or restart, so a fixed
// cause is counted again.
func (s *Service) Restart(ctx context.Context, spID, jobID string, scope store.ResetScope) error {
	return s.start(ctx, spID, jobID, scope)
}

func (s *Service) start(ctx context.Context, spID, jobID string, reset store.ResetScope) error {
	unlock, err := s.lifecycle.Lock(ctx, lifecycleKey(spID, jobID))
	if err != nil {
		return err
	}
	defer unlock()
	creds, err := s.Secrets(ctx, spID)
	if err != nil {
		return err
	}
	if len(creds) == 0 {
		if _, err := s.store.GetJob(ctx, spID, jobID); err != nil {
			return jobNotFound(err, spID, jobID) // a missing job is a 404 before it is unconfigured
		}
		return &Error{Connect: true, Message: fmt.Sprintf("The job '%s' has no credentials to run with: save them with PUT .../synchronization/secrets first, then start it.", jobID)}
	}
	now := s.now().UTC()
	if reset&store.ResetForceDeletes == 0 {
		// Before the quarantine they caused is lifted: a crash in between
		// leaves a job still waiting for its restart.
		if _, err := s.store.GetJob(ctx, spID, jobID); err != nil {
			return jobNotFound(err, spID, jobID)
		}
		if err := s.store.PutStagedDeletes(ctx, jobID, nil); err != nil {
			return jobNotFound(err, spID, jobID)
		}
	}
	_, err = s.store.UpdateJob(ctx, spID, jobID, func(j *store.Job) error {
		if reset&store.ResetQuarantineState != 0 {
			j.Status.CountSuccessiveCompleteFailures = 0
		}
		j.Status.ResetPending |= reset &^ store.ResetQuarantineState
		// A restart that does not lift the quarantine retries at once.
		q := j.Status.Quarantine
		keep := j.Status.Code == store.StatusQuarantine && q != nil && reset != store.ResetNone &&
			reset&(store.ResetQuarantineState|store.ResetForceDeletes) == 0 && q.Reason != ReasonTooManyDeletes
		if keep {
			q.NextAttempt = now
		} else {
			j.Status.Code = store.StatusActive
			j.Status.Quarantine = nil
		}
		j.Schedule.State = store.ScheduleActive
		if d, err := isoduration.Parse(j.Schedule.Interval); err != nil || d == isoduration.Never {
			j.Schedule.Interval = isoduration.Format(DefaultInterval)
		}
		j.Updated = now
		return nil
	})
	if err != nil {
		return jobNotFound(err, spID, jobID)
	}
	if s.sched != nil {
		if err := s.sched.Schedule(ctx, spID, jobID, now); err != nil {
			return fmt.Errorf("job %s is active but its cycle could not be scheduled (start it again): %w", jobID, err)
		}
	}
	return nil
}

// Pause stops a job's cycles and keeps its state: schedule and status
// Paused; the Scheduler stops the running cycle and drops scheduled ones.
func (s *Service) Pause(ctx context.Context, spID, jobID string) error {
	unlock, err := s.lifecycle.Lock(ctx, lifecycleKey(spID, jobID))
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now().UTC()
	_, err = s.store.UpdateJob(ctx, spID, jobID, func(j *store.Job) error {
		j.Schedule.State = store.SchedulePaused
		j.Status.Code = store.StatusPaused
		j.Updated = now
		return nil
	})
	if err != nil {
		return jobNotFound(err, spID, jobID)
	}
	if s.sched != nil {
		if err := s.sched.Stop(ctx, spID, jobID); err != nil {
			return fmt.Errorf("job %s is paused but its cycles could not be stopped (pause it again): %w", jobID, err)
		}
	}
	return nil
}

// Delete stops a job's cycles, then deletes the job with its anchors and
// logs (store.DeleteJob's errors) and forgets what the service kept for it.
func (s *Service) Delete(ctx context.Context, spID, jobID string) error {
	unlock, err := s.lifecycle.Lock(ctx, lifecycleKey(spID, jobID))
	if err != nil {
		return err
	}
	defer unlock()
	if s.sched != nil {
		if err := s.sched.Stop(ctx, spID, jobID); err != nil {
			return fmt.Errorf("stop the cycles of job %s before deleting it: %w", jobID, err)
		}
	}
	if err := s.store.DeleteJob(ctx, spID, jobID); err != nil {
		return err
	}
	s.Forget(jobID)
	return nil
}

func lifecycleKey(spID, jobID string) string { return spID + "\x00" + jobID }

// jobNotFound makes the store's ErrNotFound the caller's *Error.
func jobNotFound(err error, spID, jobID string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{NotFound: true, Message: fmt.Sprintf("The synchronization job '%s' does not exist on service principal '%s'; GET .../synchronization/jobs lists them.", jobID, spID)}
	}
	return err
}

// CredentialsChanged tells the service principal's jobs that its secrets
// were replaced: a job quarantined by its target (other than for
// TooManyDeletes, which waits for a restart) tries again at once, as a
// fixed credential should.
func (s *Service) CredentialsChanged(ctx context.Context, spID string) error {
	jobs, err := s.store.ListJobs(ctx, spID)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if q := j.Status.Quarantine; j.Status.Code != store.StatusQuarantine || q == nil || q.Reason == ReasonTooManyDeletes ||
			j.Schedule.State != store.ScheduleActive {
			continue
		}
		if err := s.retryNow(ctx, spID, j.ID); err != nil {
			return err
		}
	}
	return nil
}

// retryNow makes a quarantined job's next attempt now and schedules it.
func (s *Service) retryNow(ctx context.Context, spID, jobID string) error {
	unlock, err := s.lifecycle.Lock(ctx, lifecycleKey(spID, jobID))
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now().UTC()
	_, err = s.store.UpdateJob(ctx, spID, jobID, func(j *store.Job) error {
		if j.Status.Quarantine != nil && j.Status.Code == store.StatusQuarantine {
			j.Status.Quarantine.NextAttempt = now
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if s.sched != nil {
		if err := s.sched.Schedule(ctx, spID, jobID, now); err != nil {
			return fmt.Errorf("job %s will retry with the new credentials at its next cycle; scheduling one now failed: %w", jobID, err)
		}
	}
	return nil
}

// NewSchema gives j the schema sch and makes its next cycle a full one,
// every object in scope evaluated against the new mappings, as Entra
// re-evaluates its managed objects after a mapping change. It is called
// inside the store's update of j, so that a crash cannot keep one without
// the other.
func NewSchema(j *store.Job, sch []byte) {
	j.Schema = sch
	j.Status.ResetPending |= store.ResetWatermark
}

// SchemaChanged asks for the full cycle NewSchema prepared now, when the
// job is started. A cycle already running finishes with the schema it
// began with.
func (s *Service) SchemaChanged(ctx context.Context, spID, jobID string) error {
	j, err := s.store.GetJob(ctx, spID, jobID)
	if err != nil {
		return jobNotFound(err, spID, jobID)
	}
	if s.sched != nil && j.Schedule.State == store.ScheduleActive {
		if err := s.sched.Schedule(ctx, spID, jobID, s.now().UTC()); err != nil {
			return fmt.Errorf("job %s has a new schema but its cycle could not be scheduled (restart it): %w", jobID, err)
		}
	}
	return nil
}

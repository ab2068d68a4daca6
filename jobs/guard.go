package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
)

// This file is the accidental-deletions guard: a cycle holds its disables
// and deletes until it has counted them, then makes them, or, over the
// job's threshold, makes none and waits for an administrator.

// DeleteThresholdSetting is the synchronizationJobSettings name of the
// accidental-deletions threshold: the most disables and deletes one cycle
// may make; 0 turns the guard off.
const DeleteThresholdSetting = "QuarantineTooManyDeletesThreshold"

// DefaultDeleteThreshold is the threshold of a job that sets none.
const DefaultDeleteThreshold = 500

// deleteThreshold reads the job's threshold from its settings.
func deleteThreshold(settings map[string]string) (int, error) {
	v, ok := settings[DeleteThresholdSetting]
	if !ok || strings.TrimSpace(v) == "" {
		return DefaultDeleteThreshold, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a whole number of disables and deletes, 0 or more (0 turns the guard off), not '%s'", DeleteThresholdSetting, v)
	}
	return n, nil
}

// stagedOp is a disable or delete a cycle held back.
type stagedOp struct {
	job *engine.Job
	om  *schema.CompiledObject
	id  string
	out *engine.Outcome
}

func (c *cycle) stage(job *engine.Job, om *schema.CompiledObject, id string, out *engine.Outcome) {
	c.stagedMu.Lock()
	defer c.stagedMu.Unlock()
	c.staged = append(c.staged, stagedOp{job: job, om: om, id: id, out: out})
}

func (c *cycle) hasStaged() bool {
	c.stagedMu.Lock()
	defer c.stagedMu.Unlock()
	return len(c.staged) > 0
}

// settleDeletes decides on the disables and deletes the cycle held: up to
// the threshold they are made now (the engine decides each again); over
// it, none is: each is logged as a StagedDelete and stored for restart
// ForceDeletes, and finish quarantines the job.
func (c *cycle) settleDeletes(ctx context.Context) error {
	c.stagedMu.Lock()
	staged := c.staged
	c.staged = nil
	c.stagedMu.Unlock()
	if len(staged) == 0 {
		return nil
	}
	if len(staged) <= c.threshold {
		for _, g := range groupStaged(staged) {
			if err := c.process(ctx, g.job, g.om, g.items, false); err != nil {
				return err
			}
		}
		return nil
	}
	ctx = context.WithoutCancel(ctx) // the decision is made: record it whole
	ds := make([]store.StagedDelete, 0, len(staged))
	for _, op := range staged {
		if err := c.s.engine.Record(ctx, op.job, &op.out.Event); err != nil {
			return fmt.Errorf("log a staged delete: %w", err)
		}
		ds = append(ds, store.StagedDelete{JobID: c.j.ID, SourceType: op.om.Mapping.SourceObjectName, SourceID: op.id,
			Action: string(op.out.Action), Staged: c.s.now()})
		c.s.metrics.ObjectProcessed(c.j.ID, string(op.out.Status), string(engine.ActionStagedDelete))
	}
	if err := c.s.store.PutStagedDeletes(ctx, c.j.ID, ds); err != nil {
		return fmt.Errorf("store the staged deletes: %w", err)
	}
	c.n.imported.Add(int64(len(staged)))
	c.n.entitled.Add(int64(len(staged)))
	c.tooManyDeletes = len(staged)
	return nil
}

// stagedGroup is the held operations of one object mapping.
type stagedGroup struct {
	job   *engine.Job
	om    *schema.CompiledObject
	items []item
}

func groupStaged(staged []stagedOp) []stagedGroup {
	var out []stagedGroup
	idx := map[*schema.CompiledObject]int{}
	for _, op := range staged {
		i, ok := idx[op.om]
		if !ok {
			i = len(out)
			idx[op.om] = i
			out = append(out, stagedGroup{job: op.job, om: op.om})
		}
		out[i].items = append(out[i].items, item{id: op.id})
	}
	return out
}

// forceDeletes carries out the staged deletes a restart with ForceDeletes
// let through, for the object types job's rule maps: each object goes
// through the engine again without the hold, so one back in scope since
// is left alone.
func (c *cycle) forceDeletes(ctx context.Context, job *engine.Job, force []store.StagedDelete) error {
	for _, om := range ordered(job) {
		var items []item
		for _, d := range force {
			if strings.EqualFold(d.SourceType, om.Mapping.SourceObjectName) {
				items = append(items, item{id: d.SourceID})
			}
		}
		c.n.seen.Add(int64(len(items)))
		if err := c.process(ctx, job, om, items, false); err != nil {
			return err
		}
	}
	return nil
}

// refused reports an object the target failed transiently or refused the
// job's credentials for.
func refused(out *engine.Outcome) bool {
	return out.Status == engine.StatusFailure && (out.Kind == connector.KindTransient || out.Kind == connector.KindUnauthorized)
}

// escrowThreshold reports the reasons the escrow thresholds give.
func escrowThreshold(reason string) bool {
	return reason == ReasonBaseEscrowThreshold || reason == ReasonTotalEscrowThreshold || reason == ReasonEscrowProportionThreshold
}

// cycleError is a failed cycle's error as its status shows it: the code
// of the connector's error when there is one (LdapServerUnreachable, say),
// tenant-actionable when an administrator has to fix something (the
// credentials, a container, a setting) rather than wait.
func cycleError(runErr error) *store.SyncError {
	se := &store.SyncError{Code: "CycleFailed", Message: runErr.Error(), TenantActionable: errors.Is(runErr, errTargetDown)}
	if ce := (*connector.Error)(nil); errors.As(runErr, &ce) {
		switch {
		case ce.Code != "":
			se.Code = ce.Code
		case ce.Status != 0:
			se.Code = connector.CodeForStatus(ce.Status)
		}
		se.TenantActionable = se.TenantActionable || ce.Kind == connector.KindUnauthorized || ce.Kind == connector.KindInvalid || ce.Kind == connector.KindNotFound
	}
	return se
}

// quarantineReason says whether the cycle that ended with runErr
// quarantines its job, why, and with what error: a target down or
// refusing the job for the whole cycle, a source or target refusing the
// job's credentials, deletes over the threshold, then the escrow
// thresholds.
func (c *cycle) quarantineReason(runErr error) (string, *store.SyncError) {
	switch {
	case errors.Is(runErr, errTargetDown):
		code := "TargetUnavailable"
		var ce *connector.Error
		if last := c.refusal.Load(); last != nil && last.Code != "" {
			code = last.Code
		} else if errors.As(runErr, &ce) {
			code = ce.Code
			if code == "" {
				code = connector.CodeForStatus(ce.Status)
			}
		}
		return ReasonQuarantineException, &store.SyncError{Code: code, Message: runErr.Error(), TenantActionable: true}
	case runErr != nil:
		// A source or target that refuses the job's credentials fails every
		// cycle until an administrator fixes them, as a target down does.
		if ce := (*connector.Error)(nil); errors.As(runErr, &ce) && ce.Kind == connector.KindUnauthorized {
			return ReasonQuarantineException, cycleError(runErr)
		}
		return "", nil
	case c.tooManyDeletes > 0:
		return ReasonTooManyDeletes, &store.SyncError{Code: ReasonTooManyDeletes, TenantActionable: true, Message: fmt.Sprintf(
			"The cycle would disable or delete %d objects, more than the job's %s of %d, so it made none of them. "+
				"If they are meant, restart the job with ForceDeletes; if not, fix the cause (assignments, scoping filters) and restart it, which discards them.",
			c.tooManyDeletes, DeleteThresholdSetting, c.threshold)}
	}
	reason := escrowReason(c.n.baseFailed.Load(), c.n.refFailed.Load(), c.n.imported.Load())
	if reason == "" {
		return "", nil
	}
	return reason, &store.SyncError{Code: reason, TenantActionable: true, Message: fmt.Sprintf(
		"%d objects failed in the cycle (%d of them references) out of %d; the provisioning logs say why.",
		c.n.escrowed.Load(), c.n.refFailed.Load(), c.n.imported.Load())}
}

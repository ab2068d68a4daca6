package jobs

import (
	"time"

	"provisiond/store"
)

// This file is quarantine: a job whose target refuses it, or whose objects
// fail in bulk, runs its cycles less and less often until it recovers.

// The quarantineReason members provisiond sets.
const (
	ReasonBaseEscrowThreshold       = "EncounteredBaseEscrowThreshold"
	ReasonTotalEscrowThreshold      = "EncounteredTotalEscrowThreshold"
	ReasonEscrowProportionThreshold = "EncounteredEscrowProportionThreshold"
	ReasonQuarantineException       = "EncounteredQuarantineException"
	ReasonTooManyDeletes            = "TooManyDeletes"
)

// Entra's escrow thresholds: none applies below escrowEvaluatedFrom failed
// objects; then over escrowBaseLimit base failures or over
// escrowProportionPercent of the cycle's objects failing (reference
// failures excluded), or over escrowTotalLimit failures of any kind.
const (
	escrowEvaluatedFrom     = 5_000
	escrowBaseLimit         = 40_000
	escrowProportionPercent = 40
	escrowTotalLimit        = 60_000
)

// QuarantineMaxBackoff is the longest wait between cycles of a quarantined
// job; QuarantineDisableAfter is how long a quarantine may last before the
// job is disabled.
const (
	QuarantineMaxBackoff   = 24 * time.Hour
	QuarantineDisableAfter = 28 * 24 * time.Hour
)

// escrowReason returns the escrow threshold a cycle crossed ("" for none),
// from its base (the objects' own) and reference failures out of the
// objects it processed.
func escrowReason(base, reference, processed int64) string {
	switch {
	case base+reference < escrowEvaluatedFrom:
		return ""
	case base+reference > escrowTotalLimit:
		return ReasonTotalEscrowThreshold
	case base < escrowEvaluatedFrom:
		return ""
	case base > escrowBaseLimit:
		return ReasonBaseEscrowThreshold
	case base*100 > escrowProportionPercent*processed:
		return ReasonEscrowProportionThreshold
	}
	return ""
}

// quarantineBackoff is the wait before the seriesCount-th cycle of a
// quarantine: the job's interval, doubling with each quarantined cycle, up
// to QuarantineMaxBackoff.
func quarantineBackoff(interval time.Duration, seriesCount int64) time.Duration {
	d := interval
	for i := int64(1); i < seriesCount && d < QuarantineMaxBackoff; i++ {
		d *= 2
	}
	return min(d, QuarantineMaxBackoff)
}

// quarantine puts st in quarantine for reason at now, continuing the series
// of a quarantine it is already in: the series keeps its start and counts
// one more cycle; a new reason starts a new current quarantine. The next
// attempt backs off from interval; TooManyDeletes waits for an
// administrator instead (nextAttempt is when it was imposed).
func quarantine(st *store.Status, reason string, err *store.SyncError, now time.Time, interval time.Duration) {
	prev := st.Quarantine
	q := &store.Quarantine{Reason: reason, Error: err, CurrentBegan: now, SeriesBegan: now, SeriesCount: 1}
	if prev != nil && st.Code == store.StatusQuarantine {
		q.SeriesBegan, q.SeriesCount = prev.SeriesBegan, prev.SeriesCount+1
		if prev.Reason == reason {
			q.CurrentBegan = prev.CurrentBegan
		}
	}
	q.NextAttempt = now.Add(quarantineBackoff(interval, q.SeriesCount))
	if reason == ReasonTooManyDeletes {
		q.NextAttempt = now
	}
	st.Code, st.Quarantine = store.StatusQuarantine, q
}

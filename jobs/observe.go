package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"provisiond/store"
)

// cycleState is the state a cycle's metrics are labelled with: its
// execution's, or Interrupted for one a pause or shutdown cut short (which
// the job's status does not record).
func cycleState(exec *store.Execution, interrupted bool) string {
	if interrupted {
		return "Interrupted"
	}
	return string(exec.State)
}

// observeOnDemand records a provisionOnDemand call that began at begin:
// by its outcome's status, Refused for a request the caller must fix, or
// Error for the service's own failure.
func (s *Service) observeOnDemand(begin time.Time, res *OnDemandResult, err error) {
	result := "Error"
	var e *Error
	switch {
	case err == nil && res != nil && res.Outcome != nil:
		result = string(res.Outcome.Status)
	case errors.As(err, &e):
		result = "Refused"
	}
	s.metrics.OnDemandEnded(result, time.Since(begin))
}

// queueDepthLimit bounds the rows QueueDepth reads: a deeper queue (far
// more than the two cycles a job can have waiting) reads as this many.
const queueDepthLimit = 1000

// QueueDepth counts the cycles waiting in River's queue: available (due,
// waiting for a worker), scheduled (the next cycle after a job's
// interval) and retryable. It reads at most queueDepthLimit rows.
func (r *Runner[TTx]) QueueDepth(ctx context.Context) (int, error) {
	res, err := r.client.JobList(ctx, river.NewJobListParams().
		Kinds(cycleArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		First(queueDepthLimit))
	if err != nil {
		return 0, fmt.Errorf("list queued cycles: %w", err)
	}
	return len(res.Jobs), nil
}

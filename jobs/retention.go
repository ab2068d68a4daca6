package jobs

import (
	"context"
	"log/slog"
	"time"
)

// LogPruner deletes old provisioning logs; store.Store is one.
type LogPruner interface {
	PruneProvisioningLogs(ctx context.Context, before time.Time) (int, error)
}

// DefaultLogRetention is how long provisioning logs are kept: Entra's 30
// days.
const DefaultLogRetention = 30 * 24 * time.Hour

// RetainLogs deletes the provisioning logs older than keep at once and
// then every interval, until ctx ends. A failed prune is logged and tried
// again at the next tick: retention is housekeeping, never fatal.
func RetainLogs(ctx context.Context, st LogPruner, keep, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := st.PruneProvisioningLogs(ctx, time.Now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("prune provisioning logs", "err", err)
		case n > 0:
			log.Info("pruned provisioning logs", "count", n, "older than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"provisiond/jobs"
	"provisiond/store"
	"provisiond/store/memory"
)

// TestRetainLogs: logs older than the retention go at once, and the ones
// that age past it go at a later tick; younger ones stay.
func TestRetainLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		st := memory.New()
		if err := st.CreateServicePrincipal(ctx, store.Application{ID: "a", AppID: "a"}, store.ServicePrincipal{ID: "sp", AppID: "a", ApplicationID: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateJob(ctx, store.Job{ID: "j", ServicePrincipalID: "sp"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i, age := range []time.Duration{31 * 24 * time.Hour, 30*24*time.Hour - 30*time.Minute, time.Hour} {
			l := store.ProvisioningLog{ID: fmt.Sprint("l", i), JobID: "j", ServicePrincipalID: "sp", Activity: now.Add(-age)}
			if err := st.AddProvisioningLog(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		left := func() []string {
			p, err := st.QueryProvisioningLogs(ctx, store.LogQuery{Asc: true})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, l := range p.Logs {
				ids = append(ids, l.ID)
			}
			return ids
		}
		done := make(chan struct{})
		go func() {
			jobs.RetainLogs(ctx, st, jobs.DefaultLogRetention, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
			close(done)
		}()
		synctest.Wait()
		if got := fmt.Sprint(left()); got != "[l1 l2]" {
			t.Errorf("after the first prune: %s, want [l1 l2]", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := fmt.Sprint(left()); got != "[l2]" {
			t.Errorf("an hour later: %s, want [l2]", got)
		}
		cancel()
		<-done
	})
}

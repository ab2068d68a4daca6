package jobs

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"provisiond/store/sqlstore"
)

type stoppedArgs struct{}

func (stoppedArgs) Kind() string { return "provisiond_test_stopped" }

// stoppedWorker records attemptStarted, as workChunk does, then works
// until its client stops.
type stoppedWorker struct {
	river.WorkerDefaults[stoppedArgs]
	working chan struct{}
}

func (w *stoppedWorker) Work(ctx context.Context, _ *river.Job[stoppedArgs]) error {
	if err := river.RecordOutput(ctx, attemptStarted); err != nil {
		return err
	}
	close(w.working)
	<-ctx.Done()
	return ctx.Err()
}

// A chunk whose node shuts down while working it is made available again
// by River with its attempt set back, as if never tried: workedBefore must
// still tell, from the output the attempt recorded, or the cycle would
// count none of what that attempt exported.
func TestWorkedBeforeAfterShutdown(t *testing.T) {
	ctx := t.Context()
	// River on the embedded store's database, as provisiond serve runs it.
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "provisiond.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	driver := riversqlite.New(st.SchedulerDB())
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	w := &stoppedWorker{working: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(driver, &river.Config{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers: workers, FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Insert(ctx, stoppedArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if workedBefore(res.Job) {
		t.Fatalf("a job never worked: workedBefore true (attempt %d, output %s)", res.Job.Attempt, res.Job.Output())
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.working:
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not worked within 10 s")
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.StopAndCancel(stopCtx); err != nil {
		t.Fatal(err)
	}
	row, err := client.JobGet(ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != rivertype.JobStateAvailable {
		t.Fatalf("after its worker's shutdown the job is %s, want available (to be worked again)", row.State)
	}
	if !workedBefore(row) {
		t.Errorf("after its worker's shutdown the job is %s at attempt %d with output %s: workedBefore false", row.State, row.Attempt, row.Output())
	}
}

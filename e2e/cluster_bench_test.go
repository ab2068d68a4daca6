package e2e

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"provisiond/jobs"
	"provisiond/store"
	"provisiond/store/pgtest"
	"provisiond/store/sqlstore"
)

var clusterUsers = flag.Int("cluster.users", 2000, "BenchmarkPostgresInitialCycle: users in the assigned group")

// BenchmarkPostgresInitialCycle measures a started job's initial cycle on
// the PostgreSQL store, with one node and with two (two Stores and
// Runners in this process on one database, as two processes would share
// it), against the in-process SCIM server in a process of its own. The
// job is started through the API of the first node; with two nodes its
// cycle runs on whichever takes it from River. It reports objects/s from
// the start call to the cycle's end. Run it once per invocation:
//
//	go test ./e2e -run '^$' -bench BenchmarkPostgresInitialCycle -benchtime 1x
func BenchmarkPostgresInitialCycle(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) { benchClusterCycle(b, nodes, *clusterUsers) })
	}
}

// BenchmarkScheduledCycle measures a started job's initial cycle on the
// SQLite store, run by the scheduler as in production: in chunks (the
// default chunk, so the users go in several, all worked by the one node),
// and in one piece (a chunk larger than the cycle). It reports objects/s
// from the start call to the cycle's end:
//
//	go test ./e2e -run '^$' -bench BenchmarkScheduledCycle -benchtime 1x -cluster.users 10000
func BenchmarkScheduledCycle(b *testing.B) {
	for _, chunk := range []int{jobs.DefaultCycleChunk, 1 << 30} {
		name := "chunks"
		if chunk > *clusterUsers {
			name = "whole"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "provisiond.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			benchStartedCycle(b, []*env{newCycleEnvOn(b, startBenchTarget(b, false, ""), st, dir, chunk)}, *clusterUsers)
		})
	}
}

func benchClusterCycle(b *testing.B, nodes, n int) {
	ctx := context.Background()
	dbURL := pgtest.Database(b)
	dir := b.TempDir() // the nodes' shared keys
	target := startBenchTarget(b, false, "")
	var envs []*env
	for range nodes {
		st, err := sqlstore.OpenPostgres(ctx, dbURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		envs = append(envs, newCycleEnvOn(b, target, st, dir, 0))
	}
	benchStartedCycle(b, envs, n)
	// How many nodes worked the cycle's chunks (River's attempted_by).
	var working int
	err := envs[0].st.(*sqlstore.Store).SchedulerPool().QueryRow(ctx, `SELECT count(DISTINCT attempted_by[array_length(attempted_by, 1)])
		FROM river_job WHERE kind = 'provisiond_chunk' AND state = 'completed'`).Scan(&working)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(working), "chunk-nodes")
}

// benchStartedCycle seeds n users through the first of envs, starts the
// Runners of all, starts the job and reports the initial cycle's objects/s.
func benchStartedCycle(b *testing.B, envs []*env, n int) {
	ctx := context.Background()
	e := envs[0]
	e.setupApp()
	seedCycle(ctx, b, e.st, e.spID, n)
	for _, x := range envs {
		startRunner(b, x)
	}
	start := time.Now()
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/start", nil, 204)
	var le store.Execution
	within(b, time.Duration(n/100+30)*time.Second, "the initial cycle", func() bool {
		le = lastExecution(b, e)
		return le.TimeBegan.After(start.Add(-time.Second)) && le.State != ""
	})
	took := time.Since(start)
	if le.State != store.ExecutionSucceeded || le.CountExported != int64(n+1) {
		b.Fatalf("initial cycle: %+v; want Succeeded with %d users and the group exported", le, n)
	}
	b.ReportMetric(float64(le.CountImported)/took.Seconds(), "cycle-obj/s")
	b.ReportMetric(took.Seconds(), "cycle-s")
}

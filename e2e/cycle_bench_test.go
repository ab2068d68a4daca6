package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provisiond/cmd/provisiond/wiring"
	"provisiond/directory"
	"provisiond/gctune"
	"provisiond/graphapi"
	"provisiond/ids"
	"provisiond/jobs"
	"provisiond/store"
	"provisiond/store/sqlstore"
)

var (
	cycleUsers         = flag.Int("cycle.users", 10000, "BenchmarkCycle: users in the assigned group (100000 for the large run)")
	cycleRenames       = flag.Int("cycle.renames", 5, "BenchmarkCycle: renames timed through the started job")
	cycleProfile       = flag.String("cycle.cpuprofile", "", "BenchmarkCycle: write a CPU profile of the initial cycle alone to this file (the second cycle's to it with \".second\" added)")
	cycleMemProfile    = flag.String("cycle.memprofile", "", "BenchmarkCycle: write heap profiles before the initial cycle (to this file with \".base\" added) and after it, for pprof's -sample_index alloc_space -diff_base")
	cycleTargetProfile = flag.String("cycle.targetprofile", "", "BenchmarkCycle: write a CPU profile of the cycle's SCIM target process (the whole run) to this file, and the plain loader's target's to it with \".loader\" added")
	cycleMatchLoader   = flag.Bool("cycle.matchloader", true, "BenchmarkCycle: also run the loader that GETs by userName before each POST, as the cycle does")
	cyclePacedLoader   = flag.Duration("cycle.pacedloader", 0, "BenchmarkCycle: also run a loader that spends about this much CPU on each user before its POST, as the engine does on each object, for what a client's pacing costs the target")
	cycleLogsOff       = flag.Bool("cycle.logsoff", true, "BenchmarkCycle: also run the initial cycle with a store that discards provisioning logs, for the logs' share of the cycle")
	cycleBudget        = flag.Duration("cycle.timeout", 0, "BenchmarkCycle: bound on each phase (seed, cycle, loader); 0 means 3 minutes per 10,000 users")
)

// BenchmarkCycle measures a started job against the in-process SCIM server
// (scimserver), which runs in a process of its own as a real target would,
// so that the CPU profile and the peak RSS are provisiond's alone. In one
// run it prints, side by side:
//
//   - the initial cycle of -cycle.users users (default 10,000), all members
//     of one assigned group: total time, objects/s, and the CPU time of
//     provisiond and of the target;
//   - a plain loader: the same user JSON the cycle POSTed (recorded by the
//     target), POSTed to a fresh server by jobs.CycleWorkers goroutines
//     over an HTTP client set up as provisiond's, and the ratio cycle time /
//     loader time (the loader is the floor: one POST per user, no reads);
//   - the initial cycle again, of a second job (an application of its own,
//     the group assigned to it too) on the same directory into a fresh
//     target; the ratio is the mean of the two cycles' times over the
//     loader's, which ran between them, so that a machine whose speed
//     drifts during the run (seen here: 30 % between phases) moves both
//     sides alike;
//   - a matching loader (-cycle.matchloader): the same, with the GET by
//     userName the cycle sends before each create;
//   - a paced loader (-cycle.pacedloader D): the same, each POST after
//     about D of CPU work, as the engine works on each object between its
//     requests: what a client's pacing costs the target, which shares the
//     two cores (a Go server that waits on its client burns more CPU for
//     the same requests, in its idle garbage-collector marking and
//     wake-ups);
//   - the same initial cycle with its provisioning logs discarded
//     (-cycle.logsoff), on a fresh store and target: what writing the logs
//     costs the cycle, in wall-clock time and in provisiond's CPU time;
//   - the peak RSS (VmHWM) of this process during the initial cycle, reset
//     after the seed;
//   - incremental, with the job started (POST .../start) and its cycles
//     driven by directory changes: how long a rename takes to be visible
//     in the target (median of -cycle.renames), and how long a new member
//     of the big group takes to be in the target group.
//
// The directory is seeded through the store, not HTTP, to keep the seed
// short. Every phase is bounded by -cycle.timeout. The server scans all its
// users for every filtered GET, so the matching loader's time grows with
// N² (leave it out at 100,000 users). Run it once per invocation:
//
//	go test ./e2e -run '^$' -bench BenchmarkCycle -benchtime 1x
//	go test ./e2e -run '^$' -bench BenchmarkCycle -benchtime 1x -cycle.users 100000 -cycle.matchloader=false
//	go test ./e2e -run '^$' -bench BenchmarkCycle -benchtime 1x -cycle.users 100000 -cycle.matchloader=false -cycle.pacedloader 90us
//	go test ./e2e -run '^$' -bench BenchmarkCycle -benchtime 1x -cycle.cpuprofile /tmp/cycle.prof -o /tmp/e2e.test
//	go tool pprof -top -cum -show '^provisiond/' /tmp/e2e.test /tmp/cycle.prof
//
// -cycle.cpuprofile profiles the initial cycle alone; go test's -cpuprofile
// profiles the whole run (seed, loaders and incremental cycles too), and
// -cycle.targetprofile the target process.
//
// This process's garbage collector runs as provisiond serve's does
// (gctune), for the loaders too; the target's is Go's default.
func BenchmarkCycle(b *testing.B) {
	gctune.Start()
	n := *cycleUsers
	if n < 1 {
		b.Fatalf("-cycle.users %d: want at least 1", n)
	}
	budget := *cycleBudget
	if budget <= 0 {
		budget = time.Duration((n+9999)/10000) * 3 * time.Minute
	}
	phase := func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), budget) }

	target := startBenchTarget(b, true, *cycleTargetProfile)
	e := newCycleEnv(b, target, nil)
	e.setupApp()

	ctx, cancel := phase()
	seedStart := time.Now()
	users, groupID, groupName := seedCycle(ctx, b, e.st, e.spID, n)
	cancel()
	seedTook := time.Since(seedStart)
	e2, target2 := secondJob(b, e, groupID)
	_, err := e.st.UpdateJob(context.Background(), e.spID, e.jobID, func(j *store.Job) error {
		j.Schedule.State = store.ScheduleActive
		j.Schedule.Interval = "PT40M"
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	// The initial cycle, called directly so its time is the cycle's alone
	// (the scheduler starts afterwards).
	settle(b, e.dir)
	baseRSS := procStatusKB(b, "VmRSS")
	resetPeakRSS(b)
	stopProfile := startCycleProfile(b, "")
	ctx, cancel = phase()
	cpu0, targetCPU0, targetGC0 := cpuTime(), target.cpu(b), target.gc(b)
	cycleStart := time.Now()
	err = e.app.Jobs.RunCycle(ctx, e.spID, e.jobID)
	cycleTook := time.Since(cycleStart)
	cycleCPU, targetCPU, targetGC := cpuTime()-cpu0, target.cpu(b)-targetCPU0, target.gc(b).minus(targetGC0)
	cancel()
	stopProfile()
	peakRSS := procStatusKB(b, "VmHWM")
	// Printed at once too: a later phase may fail (at a million users the
	// join's GET of the group is more than the SCIM client reads).
	fmt.Printf("BenchmarkCycle: initial cycle of %d users %s, peak RSS %d MB (%d MB before it), error %v\n",
		n, cycleTook.Round(time.Millisecond), peakRSS/1024, baseRSS/1024, err)
	if err != nil {
		b.Fatalf("initial cycle of %d users (bound %v): %v", n, budget, err)
	}
	job, err := e.st.GetJob(context.Background(), e.spID, e.jobID)
	if err != nil {
		b.Fatal(err)
	}
	le := job.Status.LastExecution
	if le == nil || le.State != store.ExecutionSucceeded || le.CountExported != int64(n+1) {
		b.Fatalf("initial cycle: %+v; want Succeeded with %d users and the group exported", le, n)
	}
	cycleTraffic := target.traffic(b)
	if got := cycleTraffic.count("POST", "Users", http.StatusCreated); got != n {
		b.Fatalf("the cycle created %d users in the target, want %d", got, n)
	}
	groups := e.scimFind("Groups", "displayName", groupName)
	if len(groups) != 1 {
		b.Fatalf("target groups named %q: %d, want 1", groupName, len(groups))
	}
	if ms, _ := e.scimGet("Groups", groups[0]["id"].(string))["members"].([]any); len(ms) != n {
		b.Fatalf("target group has %d members, want %d", len(ms), n)
	}

	// The loaders send exactly what the cycle POSTed, each to a fresh server.
	// The bodies are read for each loader and dropped after it: kept alive
	// through the second cycle, their tens of MB (100,000 users) would grow its
	// heap and its garbage collector's goal beyond the first cycle's.
	plain := runLoader(b, phase, e.url, target.posts(b), e.dir, loadOptions{})
	again, againCPU := secondCycle(b, phase, e2, target2, n)
	var matching loaded
	if *cycleMatchLoader {
		matching = runLoader(b, phase, e.url, target.posts(b), e.dir, loadOptions{match: true})
	}
	var paced loaded
	if *cyclePacedLoader > 0 {
		paced = runLoader(b, phase, e.url, target.posts(b), e.dir, loadOptions{spin: *cyclePacedLoader})
	}

	var logsOff, logsOffCPU time.Duration
	if *cycleLogsOff {
		logsOff, logsOffCPU = logsOffCycle(b, phase, n)
	}

	startJob(b, e)
	renames := timeRenames(b, e, users[0], *cycleRenames)
	join, joinCycle := timeJoin(b, e, groupID, budget)

	objects := float64(le.CountImported)
	// The loader ran between the two cycles: against their mean, a machine
	// whose speed drifts during the run moves both sides alike.
	ratio := (cycleTook.Seconds() + again.Seconds()) / 2 / plain.took.Seconds()
	b.ReportMetric(cycleTook.Seconds(), "cycle-s")
	b.ReportMetric(objects/cycleTook.Seconds(), "cycle-obj/s")
	b.ReportMetric(plain.took.Seconds(), "loader-s")
	b.ReportMetric(float64(n)/plain.took.Seconds(), "loader-obj/s")
	b.ReportMetric(ratio, "cycle/loader")
	if *cycleMatchLoader {
		b.ReportMetric(cycleTook.Seconds()/matching.took.Seconds(), "cycle/match-loader")
	}
	b.ReportMetric(float64(median(renames).Microseconds())/1000, "rename-p50-ms")
	b.ReportMetric(float64(join.Microseconds())/1000, "join-ms")
	b.ReportMetric(float64(peakRSS)/1024, "peakRSS-MB")

	usersSpan, groupsSpan := cycleTraffic.span("Users"), cycleTraffic.span("Groups")
	var sb strings.Builder
	fmt.Fprintf(&sb, "BenchmarkCycle: %d users in one assigned group, GOMAXPROCS %d, %d cycle workers\n", n, runtime.GOMAXPROCS(0), jobs.CycleWorkers)
	fmt.Fprintf(&sb, "  seed (store API)          %10s\n", seedTook.Round(time.Millisecond))
	fmt.Fprintf(&sb, "  initial cycle             %10s  %8.0f objects/s  (%d objects: users, then the group)\n", cycleTook.Round(time.Millisecond), objects/cycleTook.Seconds(), int(objects))
	fmt.Fprintf(&sb, "    CPU                     provisiond %s, target %s (%s)\n", cycleCPU.Round(time.Millisecond), targetCPU.Round(time.Millisecond), targetGC)
	fmt.Fprintf(&sb, "    target saw /Users for   %10s, /Groups for %s\n", usersSpan.Round(time.Millisecond), groupsSpan.Round(time.Millisecond))
	fmt.Fprintf(&sb, "    target requests         %s\n", cycleTraffic)
	fmt.Fprintf(&sb, "  plain loader (POST)       %10s  %8.0f users/s\n", plain.took.Round(time.Millisecond), float64(n)/plain.took.Seconds())
	fmt.Fprintf(&sb, "    CPU                     loader %s, target %s (%s)\n", plain.cpu.Round(time.Millisecond), plain.targetCPU.Round(time.Millisecond), plain.targetGC)
	fmt.Fprintf(&sb, "  initial cycle again       %10s  %8.0f objects/s  (a second job on the directory, after the loader)\n", again.Round(time.Millisecond), objects/again.Seconds())
	fmt.Fprintf(&sb, "    CPU                     provisiond %s\n", againCPU.Round(time.Millisecond))
	fmt.Fprintf(&sb, "  ratio cycle / loader      %10.2f  (the mean of the two cycles; the first alone %.2f)\n", ratio, cycleTook.Seconds()/plain.took.Seconds())
	if *cycleLogsOff {
		fmt.Fprintf(&sb, "  initial cycle, logs off   %10s  %8.0f objects/s; with logs it takes %+.1f%%\n", logsOff.Round(time.Millisecond),
			objects/logsOff.Seconds(), 100*(cycleTook.Seconds()/logsOff.Seconds()-1))
		b.ReportMetric(100*(cycleTook.Seconds()/logsOff.Seconds()-1), "logs-%")
		// In CPU time too: on a machine other work loads, the wall-clock
		// share swings by tens of percent between runs.
		fmt.Fprintf(&sb, "    CPU                     provisiond %s; with logs it takes %+.1f%%\n", logsOffCPU.Round(time.Millisecond),
			100*(cycleCPU.Seconds()/logsOffCPU.Seconds()-1))
		b.ReportMetric(100*(cycleCPU.Seconds()/logsOffCPU.Seconds()-1), "logs-cpu-%")
	}
	if *cycleMatchLoader {
		fmt.Fprintf(&sb, "  matching loader (GET ?filter=userName eq, then POST, as the cycle does)\n")
		fmt.Fprintf(&sb, "                            %10s  %8.0f users/s, ratio cycle / it %.2f\n", matching.took.Round(time.Millisecond),
			float64(n)/matching.took.Seconds(), cycleTook.Seconds()/matching.took.Seconds())
		fmt.Fprintf(&sb, "    CPU                     loader %s, target %s\n", matching.cpu.Round(time.Millisecond), matching.targetCPU.Round(time.Millisecond))
	}
	if *cyclePacedLoader > 0 {
		fmt.Fprintf(&sb, "  paced loader (%s of CPU on each user before its POST)\n", *cyclePacedLoader)
		fmt.Fprintf(&sb, "                            %10s  %8.0f users/s, ratio cycle / it %.2f\n", paced.took.Round(time.Millisecond),
			float64(n)/paced.took.Seconds(), cycleTook.Seconds()/paced.took.Seconds())
		fmt.Fprintf(&sb, "    CPU                     loader %s, target %s (%s)\n", paced.cpu.Round(time.Millisecond), paced.targetCPU.Round(time.Millisecond), paced.targetGC)
	}
	fmt.Fprintf(&sb, "  peak RSS during the cycle %7d MB  (%d MB before it)\n", peakRSS/1024, baseRSS/1024)
	fmt.Fprintf(&sb, "  rename → visible          %10s median of %v\n", median(renames).Round(time.Millisecond), roundAll(renames))
	fmt.Fprintf(&sb, "  join the %d-member group → its cycle ended %s (the cycle ran %s, imported %d, exported %d)\n", n, join.Round(time.Millisecond),
		joinCycle.TimeEnded.Sub(joinCycle.TimeBegan).Round(time.Millisecond), joinCycle.CountImported, joinCycle.CountExported)
	// Printed, not logged: the testing package keeps only 10 lines of a
	// benchmark's log.
	fmt.Print(sb.String())
}

// secondJob sets up a second job, of an application of its own with the
// big group assigned, on e's directory, into a fresh target, for the
// initial cycle again (secondCycle). It is set up with the seed: the
// assignment is a directory change, which would otherwise send the first
// job's next cycle through the whole group.
func secondJob(b *testing.B, e *env, groupID string) (*env, *benchTarget) {
	target := startBenchTarget(b, true, "")
	e2 := &env{t: b, dir: e.dir, url: e.url, token: e.token, st: e.st, app: e.app, issuer: e.issuer, scimURL: target.url, scimTok: target.token}
	e2.setupApp()
	err := e2.st.CreateAppRoleAssignment(context.Background(), store.AppRoleAssignment{ID: ids.NewUUID(), AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: groupID, PrincipalType: "Group", ResourceID: e2.spID, Created: time.Now().UTC()})
	if err != nil {
		b.Fatal(err)
	}
	return e2, target
}

// secondCycle runs the initial cycle of the job secondJob set up and
// returns its time and provisiond's CPU time. The store then holds the
// first job's anchors and logs too: if anything, this cycle has more to
// wade through than the first.
func secondCycle(b *testing.B, phase func() (context.Context, context.CancelFunc), e2 *env, target *benchTarget, n int) (time.Duration, time.Duration) {
	e2.activate(b)
	settle(b, e2.dir)
	ctx, cancel := phase()
	defer cancel()
	stopProfile := startCycleProfile(b, ".second")
	start, cpu0 := time.Now(), cpuTime()
	if err := e2.app.Jobs.RunCycle(ctx, e2.spID, e2.jobID); err != nil {
		b.Fatalf("the second job's initial cycle: %v", err)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	stopProfile()
	if le := lastExecution(b, e2); le.CountExported != int64(n+1) {
		b.Fatalf("the second job's initial cycle: %+v; want %d users and the group exported", le, n)
	}
	if got := target.traffic(b).count("POST", "Users", http.StatusCreated); got != n {
		b.Fatalf("the second job's cycle created %d users in its target, want %d", got, n)
	}
	// Paused, so that the renames and the join time the first job alone.
	_, err := e2.st.UpdateJob(context.Background(), e2.spID, e2.jobID, func(j *store.Job) error {
		j.Schedule.State = store.SchedulePaused
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return took, cpu
}

// newCycleEnv is a provisiond as newEnv wires it, over a SQLite store
// (seen through wrap when it is not nil), with the benchmark's target and
// without the cycle scheduler started.
func newCycleEnv(b *testing.B, target *benchTarget, wrap func(store.Store) store.Store) *env {
	dir := b.TempDir()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "provisiond.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return wireCycleEnv(b, target, st, dir, wrap, 0)
}

// newCycleEnvOn is newCycleEnv on the open store st (closed when the
// benchmark ends), with the keys in dir, and chunks of big cycles of chunk
// objects (0: the default).
func newCycleEnvOn(b *testing.B, target *benchTarget, st *sqlstore.Store, dir string, chunk int) *env {
	return wireCycleEnv(b, target, st, dir, nil, chunk)
}

// wireCycleEnv wires a provisiond over st, seen through wrap when it is
// not nil, with chunks of chunk objects.
func wireCycleEnv(b *testing.B, target *benchTarget, sq *sqlstore.Store, dir string, wrap func(store.Store) store.Store, chunk int) *env {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	b.Cleanup(func() { sq.Close() })
	var st store.Store = sq
	if wrap != nil {
		st = wrap(sq)
	}
	srv := httptest.NewUnstartedServer(nil)
	wc := wiring.Config{DataDir: dir, Self: "http://" + srv.Listener.Addr().String(), Logger: log, CycleChunk: chunk}
	wc.UseStore(sq)
	w, err := wiring.Wire(ctx, st, wc)
	if err != nil {
		b.Fatal(err)
	}
	srv.Config = w.Handler.HTTPServer(graphapi.Limits{})
	srv.Listener = w.Handler.Listener(srv.Listener)
	srv.Start()
	b.Cleanup(srv.Close)
	tok, err := w.Issuer.MintApp("bench-admin", []string{"Synchronization.ReadWrite.All", "Directory.ReadWrite.All",
		"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return &env{t: b, dir: dir, url: srv.URL, token: tok, st: st, app: w, issuer: w.Issuer, scimURL: target.url, scimTok: target.token}
}

// settle readies the machine for a measured phase, the same way before
// each (the cycles and the loader): it checkpoints the SQLite file in dir
// (its WAL emptied into the database), has the kernel write out every
// dirty page, and hands the heap's free memory back to the kernel. So
// the phase pays neither for an earlier phase's checkpoint nor for the
// writeback of its writes (on two cores the kernel's flusher takes its CPU
// from whatever runs then), and every phase finds the kernel's free pages
// alike. That matters on this VM: a page freed for more than a second or
// two goes back to the host, and touching it again costs three times as
// much as a recently freed one (2 GB: 2.3 s against 0.7 s), so a phase
// that came right after a freeing would otherwise run on cheaper memory
// than one that came after an idle spell. The checkpoint is a RESTART,
// not a TRUNCATE: the WAL keeps its file, as it does in service (cut back
// to journal_size_limit, not to nothing), and the next writes overwrite
// pages the kernel already has instead of asking it for new ones.
func settle(b *testing.B, dir string) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "provisiond.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var busy, frames, moved int
	if err := db.QueryRow(`PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &frames, &moved); err != nil || busy != 0 {
		b.Fatalf("checkpoint of %s: busy %d, %v", dir, busy, err)
	}
	syscall.Sync()
	runtime.GC()
	debug.FreeOSMemory()
}

// noLogs is a store that discards provisioning logs.
type noLogs struct{ store.Store }

func (noLogs) AddProvisioningLog(context.Context, store.ProvisioningLog) error { return nil }

func (s noLogs) CommitBatch(ctx context.Context, b store.Batch) error {
	b.Logs = nil
	return s.Store.CommitBatch(ctx, b)
}

// logsOffCycle runs the benchmark's initial cycle again, on a fresh store
// and target, with the provisioning logs discarded, and returns its time
// and provisiond's CPU time.
func logsOffCycle(b *testing.B, phase func() (context.Context, context.CancelFunc), n int) (time.Duration, time.Duration) {
	target := startBenchTarget(b, true, "")
	e := newCycleEnv(b, target, func(st store.Store) store.Store { return noLogs{st} })
	e.setupApp()
	ctx, cancel := phase()
	seedCycle(ctx, b, e.st, e.spID, n)
	cancel()
	settle(b, e.dir)
	e.activate(b)
	ctx, cancel = phase()
	defer cancel()
	start, cpu0 := time.Now(), cpuTime()
	if err := e.app.Jobs.RunCycle(ctx, e.spID, e.jobID); err != nil {
		b.Fatalf("initial cycle with logs off: %v", err)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	if logs, err := e.st.QueryProvisioningLogs(ctx, store.LogQuery{Limit: 1}); err != nil || len(logs.Logs) != 0 {
		b.Fatalf("logs with logs off: %v, %v", logs.Logs, err)
	}
	if le := lastExecution(b, e); le.CountExported != int64(n+1) {
		b.Fatalf("initial cycle with logs off: %+v; want %d users and the group exported", le, n)
	}
	return took, cpu
}

// seedCycle creates n users, all members of one group assigned to spID,
// and returns the users' ids and the group's id and name.
func seedCycle(ctx context.Context, b *testing.B, st store.Store, spID string, n int) ([]string, string, string) {
	now := time.Now().UTC().Truncate(time.Second)
	name := "Bench group " + strconv.Itoa(n)
	g := store.Group{ID: ids.NewUUID(), DisplayName: name, Created: now,
		Props: map[string]any{"mailEnabled": false, "mailNickname": "bench", "securityEnabled": true}}
	if err := st.CreateGroup(ctx, g); err != nil {
		b.Fatal(err)
	}
	err := st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: ids.NewUUID(), AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: g.ID, PrincipalType: "Group", ResourceID: spID, Created: now})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, n)
	for i := range users {
		nick := fmt.Sprintf("bench.user.%06d", i)
		u := store.User{ID: ids.NewUUID(), UserPrincipalName: nick + "@contoso.test", AccountEnabled: true, Created: now,
			Props: map[string]any{"displayName": fmt.Sprintf("Bench User %d", i), "givenName": "Bench", "surname": "User " + strconv.Itoa(i),
				"mailNickname": nick, "mail": nick + "@contoso.test"}}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatalf("seed user %d of %d: %v", i, n, err)
		}
		if err := st.AddMember(ctx, g.ID, u.ID); err != nil {
			b.Fatalf("seed member %d of %d: %v", i, n, err)
		}
		users[i] = u.ID
	}
	return users, g.ID, name
}

// startJob starts the job as a client does (POST .../start) with the
// scheduler running, and waits for the cycle start asks for. The job is
// paused first, so that this cycle is the only one (the scheduler resumes
// active jobs when it starts).
func startJob(b *testing.B, e *env) {
	ctx := context.Background()
	_, err := e.st.UpdateJob(ctx, e.spID, e.jobID, func(j *store.Job) error {
		j.Schedule.State = store.SchedulePaused
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	startRunner(b, e)
	started := time.Now()
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/start", nil, 204)
	within(b, 30*time.Second, "the started job's first cycle", func() bool { return lastExecution(b, e).TimeBegan.After(started) })
}

// startRunner starts e's cycle scheduler until the benchmark ends.
func startRunner(b *testing.B, e *env) {
	if err := e.app.Runner.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.app.Runner.Shutdown(sctx)
	})
}

// lastExecution is the job's last finished cycle (zero before the first).
func lastExecution(b *testing.B, e *env) store.Execution {
	j, err := e.st.GetJob(context.Background(), e.spID, e.jobID)
	if err != nil {
		b.Fatal(err)
	}
	if j.Status.LastExecution == nil {
		return store.Execution{}
	}
	return *j.Status.LastExecution
}

// targetID is the id in the target of a provisioned source object.
func targetID(b *testing.B, e *env, sourceType, id string) string {
	a, err := e.st.GetAnchor(context.Background(), e.jobID, sourceType, id)
	if err != nil {
		b.Fatalf("anchor of %s %s: %v", sourceType, id, err)
	}
	return a.TargetID
}

// timeRenames renames a provisioned user k times through the API, the job
// started, and returns for each the time from the PATCH until the target
// shows it. Each rename starts once the cycle that carried the previous
// one ended.
func timeRenames(b *testing.B, e *env, userID string, k int) []time.Duration {
	tid := targetID(b, e, "User", userID)
	var took []time.Duration
	for i := range k {
		name := fmt.Sprintf("Bench User 0, renamed %d", i+1)
		start := time.Now()
		e.do("PATCH", "/users/"+userID, map[string]any{"displayName": name}, 204)
		within(b, 15*time.Second, "rename "+strconv.Itoa(i+1), func() bool { return e.scimGet("Users", tid)["displayName"] == name })
		took = append(took, time.Since(start))
		within(b, 15*time.Second, "the cycle of rename "+strconv.Itoa(i+1), func() bool {
			le := lastExecution(b, e)
			return le.TimeBegan.After(start) && le.CountExported > 0
		})
	}
	return took
}

// timeJoin adds a new user to the big group through the API, the job
// started, and returns the time from the member POST until the end of the
// cycle that made the user a member of the target group, and how long
// that cycle ran: the incremental cost of a group of that size.
func timeJoin(b *testing.B, e *env, groupID string, bound time.Duration) (took time.Duration, cycle store.Execution) {
	uid, _ := e.user("Late", "Joiner")
	created := time.Now()
	within(b, 15*time.Second, "the cycle of the new user", func() bool { return lastExecution(b, e).TimeBegan.After(created) })
	gid := targetID(b, e, "Group", groupID)
	start := time.Now()
	e.do("POST", "/groups/"+groupID+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + uid}, 204)
	seen := ""
	within(b, bound, "the join", func() bool {
		le := lastExecution(b, e)
		if !le.TimeBegan.After(start) || le.ActivityIdentifier == seen {
			return false
		}
		seen, took, cycle = le.ActivityIdentifier, le.TimeEnded.Sub(start), le
		a, err := e.st.GetAnchor(context.Background(), e.jobID, "User", uid)
		if err != nil {
			return false
		}
		ms, _ := e.scimGet("Groups", gid)["members"].([]any)
		return slices.ContainsFunc(ms, func(m any) bool { mm, _ := m.(map[string]any); return mm["value"] == a.TargetID })
	})
	return took, cycle
}

// within polls ok every 5 ms until it holds, failing after d.
func within(b *testing.B, d time.Duration, what string, ok func() bool) {
	b.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			b.Fatalf("%s did not happen within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// loaderClient is the HTTP client provisiond's SCIM targets get
// (wiring.TargetClient), so the loader and the cycle send alike.
func loaderClient(self string) *http.Client {
	_, hc, err := wiring.TargetClient("", self)
	if err != nil {
		panic(err) // no networks given: cannot fail
	}
	return hc
}

// loaded is what a loader run took: wall time, its own CPU and the
// target's.
type loaded struct {
	took, cpu, targetCPU time.Duration
	targetGC             gcTime
}

// runLoader sends bodies to a fresh target with loadUsers and checks that
// it created every user. The target keeps the bodies POSTed to it, as the
// cycle's does (for the loaders): both do the same work per request. The
// phase starts as the cycles' do, on a settled store (the one in dir).
func runLoader(b *testing.B, phase func() (context.Context, context.CancelFunc), self string, bodies [][]byte, dir string, o loadOptions) loaded {
	profile := ""
	if *cycleTargetProfile != "" && o == (loadOptions{}) {
		profile = *cycleTargetProfile + ".loader"
	}
	t := startBenchTarget(b, true, profile)
	hc := loaderClient(self)
	settle(b, dir)
	ctx, cancel := phase()
	defer cancel()
	cpu0, targetCPU0, targetGC0 := cpuTime(), t.cpu(b), t.gc(b)
	start := time.Now()
	loadUsers(ctx, b, hc, t, bodies, jobs.CycleWorkers, o)
	l := loaded{took: time.Since(start), cpu: cpuTime() - cpu0, targetCPU: t.cpu(b) - targetCPU0, targetGC: t.gc(b).minus(targetGC0)}
	if got := t.traffic(b).count("POST", "Users", http.StatusCreated); got != len(bodies) {
		b.Fatalf("the loader created %d users, want %d", got, len(bodies))
	}
	return l
}

// loadUsers POSTs every body to the target's /Users with the headers the
// SCIM client sends, workers at a time, reading each answer whole. With
// match, each POST follows a GET /Users?filter=userName eq "…" (the
// cycle's matching read), whose answer must find nothing. With spin, each
// POST follows about that much CPU work (busy).
func loadUsers(ctx context.Context, b *testing.B, hc *http.Client, t *benchTarget, bodies [][]byte, workers int, o loadOptions) {
	queries := make([]string, len(bodies))
	spin := spinRounds(o.spin, bodies[0])
	if o.match {
		for i, body := range bodies {
			var u struct{ UserName string }
			if err := json.Unmarshal(body, &u); err != nil || u.UserName == "" {
				b.Fatalf("a captured user has no userName: %s", body)
			}
			queries[i] = url.Values{"filter": {`userName eq "` + u.UserName + `"`}}.Encode()
		}
	}
	send := func(method, target string, body []byte, want int) error {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/scim+json, application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		req.Header.Set("Authorization", "Bearer "+t.token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != want {
			err = fmt.Errorf("%s %s: %d %s", method, target, resp.StatusCode, raw)
		}
		if err == nil && method == http.MethodGet && !bytes.Contains(raw, []byte(`"totalResults":0`)) {
			err = fmt.Errorf("GET %s found a user before it was created: %s", target, raw)
		}
		return err
	}
	work := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				_ = busy(bodies[i], spin)
				if o.match {
					if err := send(http.MethodGet, t.url+"/Users?"+queries[i], nil, http.StatusOK); err != nil {
						errs <- err
						return
					}
				}
				if err := send(http.MethodPost, t.url+"/Users", bodies[i], http.StatusCreated); err != nil {
					errs <- err
					return
				}
			}
		})
	}
feed:
	for i := range bodies {
		select {
		case work <- i:
		case err := <-errs:
			errs <- err
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("loader: %v", err)
	default:
	}
}

// loadOptions are what a loader does besides POSTing each body: a
// matching GET before it (match), CPU work before it (spin).
type loadOptions struct {
	match bool
	spin  time.Duration
}

// spinRounds is how many rounds of busy on body take about d of CPU on
// this machine now (the fastest of five tries, on a machine the phase
// left settled and idle).
func spinRounds(d time.Duration, body []byte) int {
	if d <= 0 {
		return 0
	}
	const rounds = 20000
	per := time.Duration(math.MaxInt64)
	for range 5 {
		start := time.Now()
		_ = busy(body, rounds)
		per = min(per, time.Since(start)/rounds)
	}
	return max(1, int(d/max(per, 1)))
}

// busy hashes body rounds times: work that costs CPU and no allocation,
// standing in for what an engine does on an object between its requests.
func busy(body []byte, rounds int) (x byte) {
	for range rounds {
		sum := sha256.Sum256(body)
		x ^= sum[0]
	}
	return x
}

// procStatusKB reads a kB field of /proc/self/status (VmRSS, VmHWM).
func procStatusKB(b *testing.B, field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("peak RSS needs /proc: %v", err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("/proc/self/status %s: %v", field, err)
			}
			return kb
		}
	}
	b.Fatalf("/proc/self/status has no %s", field)
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS, so that it
// measures the cycle and not the seed before it.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
}

// startCycleProfile starts the CPU profile of -cycle.cpuprofile, if asked
// for, and returns what stops it; the second cycle's goes to the same
// name with suffix ".second" (suffix ""), for pprof's -diff_base. The
// first cycle's also writes the heap profiles of -cycle.memprofile.
func startCycleProfile(b *testing.B, suffix string) func() {
	stopCPU := startCPUProfile(b, suffix)
	if *cycleMemProfile == "" || suffix != "" {
		return stopCPU
	}
	writeHeapProfile(b, *cycleMemProfile+".base")
	return func() {
		stopCPU()
		writeHeapProfile(b, *cycleMemProfile)
	}
}

func startCPUProfile(b *testing.B, suffix string) func() {
	if *cycleProfile == "" {
		return func() {}
	}
	f, err := os.Create(*cycleProfile + suffix)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("-cycle.cpuprofile (not with -cpuprofile): %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// writeHeapProfile writes the heap profile to path, its allocation counts
// brought up to date by a collection.
func writeHeapProfile(b *testing.B, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		out[i] = x.Round(time.Millisecond)
	}
	return out
}

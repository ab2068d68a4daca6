package sqlstore

import (
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"provisiond/store"
	"provisiond/store/pgtest"
	"provisiond/store/storetest"
)

func openPostgres(t testing.TB, url string) *Store {
	t.Helper()
	s, err := OpenPostgres(t.Context(), url, nil)
	return closedAtEnd(t, s, err)
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t, pgtest.Database(t)) })
}

// Nodes starting together on a new database apply each migration once.
func TestPostgresConcurrentMigrations(t *testing.T) {
	url := pgtest.Database(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := OpenPostgres(t.Context(), url, nil)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := openPostgres(t, url)
	rows, err := s.rdb.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	got, err := collect(rows, err, func(r *sql.Rows) (int, error) { var v int; err := r.Scan(&v); return v, err })
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := postgresDialect.migrations()
	var want []int
	for _, m := range ms {
		want = append(want, m.version)
	}
	if !slices.Equal(got, want) {
		t.Errorf("applied versions %v, want %v", got, want)
	}
}

// Every SQLite migration has its PostgreSQL counterpart, so the two
// schemas cannot drift apart.
func TestMigrationsMatch(t *testing.T) {
	versions := func(d dialect) []int {
		ms, err := d.migrations()
		if err != nil {
			t.Fatal(err)
		}
		var vs []int
		for _, m := range ms {
			vs = append(vs, m.version)
		}
		return vs
	}
	if lite, pg := versions(sqliteDialect), versions(postgresDialect); !slices.Equal(lite, pg) {
		t.Errorf("migration versions differ: sqlite %v, postgres %v", lite, pg)
	}
}

// A directory write through one Store wakes the subscribers of another on
// the same database, in well under a second.
func TestPostgresSubscribeAcrossStores(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ch, stop := b.Subscribe()
	defer stop()
	own, stopOwn := a.Subscribe()
	defer stopOwn()
	time.Sleep(100 * time.Millisecond) // b's LISTEN is in place
	if err := a.CreateUser(t.Context(), store.User{ID: "u1", UserPrincipalName: "u1@example.com"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("a write through another Store did not signal")
	}
	<-own // signalled synchronously by the write itself
	// A's own notification comes back to it too; it must not signal again.
	time.Sleep(200 * time.Millisecond)
	select {
	case <-own:
		t.Error("a Store's own write signalled twice")
	default:
	}
}

// Writers on two Stores run in parallel, yet a reader following the feed
// from its watermark never moves past a change that commits later.
func TestPostgresFeedOrderUnderParallelWriters(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ctx := t.Context()
	const perWriter = 60
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for i := range perWriter {
				id := fmt.Sprintf("u%d-%03d", w, i)
				if err := s.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]bool{}
	var watermark int64
	follow := func() {
		cs, err := b.ListChanges(ctx, watermark, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			seen[c.ObjectID] = true
			watermark = c.Seq
		}
	}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		follow()
	}
	for before := -1; before != len(seen); {
		before = len(seen)
		follow()
	}
	if len(seen) != 4*perWriter {
		t.Errorf("the reader saw %d users of %d: it moved past changes that committed later", len(seen), 4*perWriter)
	}
}

// The rate window holds across Stores: of 12 concurrent requests split
// over two, exactly 5 are accepted, and the others learn a wait within the
// window.
func TestPostgresAllowRateAcrossStores(t *testing.T) {
	url := pgtest.Database(t)
	testAllowRate(t, openPostgres(t, url), openPostgres(t, url))
}

func TestSQLiteAllowRate(t *testing.T) {
	s := openTemp(t)
	testAllowRate(t, s, s)
}

func testAllowRate(t *testing.T, a, b *Store) {
	const per = 10 * time.Second
	type result struct {
		ok   bool
		wait time.Duration
		err  error
	}
	results := make(chan result, 12)
	for i := range 12 {
		s := a
		if i%2 == 1 {
			s = b
		}
		go func() {
			ok, wait, err := s.AllowRate(t.Context(), "tenant/sp", 5, per)
			results <- result{ok, wait, err}
		}()
	}
	accepted := 0
	for range 12 {
		r := <-results
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.ok:
			accepted++
		case r.wait <= 0 || r.wait > per:
			t.Errorf("a refusal waits %v, want within (0, %v]", r.wait, per)
		}
	}
	if accepted != 5 {
		t.Errorf("%d of 12 accepted, want 5", accepted)
	}
	// Another key has its own window.
	if ok, _, err := a.AllowRate(t.Context(), "tenant/other", 5, per); !ok || err != nil {
		t.Errorf("another key: %v, %v", ok, err)
	}
}

// A job's lock excludes the other Stores on the database, and goes when
// its holder's session does (a process that dies).
func TestPostgresTryLockJob(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ctx := t.Context()
	try := func(s *Store, job string) (func(), bool) {
		t.Helper()
		unlock, ok, err := s.TryLockJob(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		return unlock, ok
	}
	unlockA, ok := try(a, "j1")
	if !ok {
		t.Fatal("the first lock of j1 was refused")
	}
	if _, ok := try(b, "j1"); ok {
		t.Fatal("another Store took j1 while it was held")
	}
	unlockJ2, ok := try(b, "j2")
	if !ok {
		t.Fatal("j2 was refused while only j1 was held")
	}
	unlockJ2()
	unlockA()
	unlockB, ok := try(b, "j1")
	if !ok {
		t.Fatal("j1 was refused after it was released")
	}
	unlockB()

	// The holder's session ends (its process died): the lock goes.
	c := openPostgres(t, url)
	if _, ok := try(c, "j1"); !ok {
		t.Fatal("j1 refused")
	}
	// Only this test's database: the cluster's other databases belong to
	// tests running beside it (two-node e2e tests hold job locks too).
	if _, err := b.wdb.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, jobLockClass); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		unlock, ok := try(b, "j1")
		if ok {
			unlock()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("j1 still held 5 s after its holder's session ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The listener's idle checks keep it listening: notifications still
// arrive after several quiet periods.
func TestPostgresSubscribeAfterIdle(t *testing.T) {
	old := listenIdle
	listenIdle = 50 * time.Millisecond
	t.Cleanup(func() { listenIdle = old })
	url := pgtest.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ch, stop := b.Subscribe()
	defer stop()
	time.Sleep(300 * time.Millisecond) // several idle checks
	select {
	case <-ch:
		t.Fatal("a signal without a write: the listener reconnected")
	default:
	}
	if err := a.CreateUser(t.Context(), store.User{ID: "u1", UserPrincipalName: "u1@example.com"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("no signal after the idle checks")
	}
}

// TestPostgresMigrateLogColumns: as TestMigrateLogColumns, on PostgreSQL.
func TestPostgresMigrateLogColumns(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Database(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	qs := append(migratedBefore(t, postgresDialect, 12),
		`INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`,
		`INSERT INTO jobs (id, service_principal_id, template_id, created, updated) VALUES ('j1', 'sp', 'scim', 1, 2)`)
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ev := `{"action":"Create","changeId":"c1","statusInfo":{"status":"Success"},"cycleId":"cy1",` +
		`"sourceIdentity":{"id":"u1","type":"User","displayName":"Alice"},"targetIdentity":{"id":"t1","type":"User"}}`
	for i, data := range [][]byte{[]byte(ev), []byte("not json"), nil, []byte("[1]")} {
		if _, err := db.ExecContext(ctx, `INSERT INTO provisioning_logs VALUES ($1, 'j1', 'sp', $2, $3, $4)`,
			fmt.Sprint("l", i+1), fmt.Sprint("c", i+1), i+5, data); err != nil {
			t.Fatal(err)
		}
	}
	s := openPostgres(t, url)
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Asc: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ProvisioningLog{
		{ID: "l1", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c1", Activity: fromMicros(5), CycleID: "cy1",
			Action: "Create", Status: "Success", SourceID: "u1", SourceName: "Alice", TargetID: "t1", Data: []byte(ev)},
		{ID: "l2", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c2", Activity: fromMicros(6), Data: []byte("not json")},
		{ID: "l3", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c3", Activity: fromMicros(7)},
		{ID: "l4", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c4", Activity: fromMicros(8), Data: []byte("[1]")},
	}
	if d := cmp.Diff(want, p.Logs, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("logs after migration (-want +got):\n%s", d)
	}
}

// A work lock excludes the other Stores on the database like a job's
// lock, and is not the job's lock of the same name.
func TestPostgresTryLockWork(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ctx := t.Context()
	unlock, ok, err := a.TryLockWork(ctx, "cycle:c1")
	if err != nil || !ok {
		t.Fatalf("the first work lock: %v, %v", ok, err)
	}
	if _, ok, err := b.TryLockWork(ctx, "cycle:c1"); err != nil || ok {
		t.Fatalf("another Store took the held work lock: %v, %v", ok, err)
	}
	unlockJob, ok, err := b.TryLockJob(ctx, "cycle:c1")
	if err != nil || !ok {
		t.Fatalf("the job lock of the same name was refused: %v, %v", ok, err)
	}
	unlockJob()
	unlock()
	unlockB, ok, err := b.TryLockWork(ctx, "cycle:c1")
	if err != nil || !ok {
		t.Fatalf("the work lock was refused after its release: %v, %v", ok, err)
	}
	unlockB()
}

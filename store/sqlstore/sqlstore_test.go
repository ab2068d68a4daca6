package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"provisiond/store"
	"provisiond/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "provisiond.db"), nil)
	return closedAtEnd(t, s, err)
}

// closedAtEnd fails the test on err, else closes s when the test ends.
func closedAtEnd(t testing.TB, s *Store, err error) *Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	// A directory that does not exist yet, with characters that mean
	// something in a file: URI.
	path := filepath.Join(t.TempDir(), "a #dir?", "100% data.db")
	s, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: "u1", UserPrincipalName: "a@example.com", Props: map[string]any{"x": "y"}, Created: time.Unix(1, 0).UTC()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	applied := func(s *Store) []int64 {
		t.Helper()
		rows, err := s.rdb.QueryContext(ctx, `SELECT applied FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var a int64
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}

	s, err = OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	first := applied(s)
	ms, err := sqliteDialect.migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", len(first), len(ms))
	}
	got, err := s.GetUser(ctx, "u1")
	if err != nil {
		t.Fatalf("get user after reopen: %v", err)
	}
	if got.UserPrincipalName != u.UserPrincipalName || got.Props["x"] != "y" {
		t.Errorf("user after reopen = %+v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A third open applies nothing: the recorded times do not change.
	s, err = OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatalf("third open: %v", err)
	}
	defer s.Close()
	if again := applied(s); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("migrations re-applied: %v, then %v", first, again)
	}
}

// TestTwoStoresOneFile has two Stores (two writer connections) write the
// same file at once: busy_timeout and BEGIN IMMEDIATE must make them wait
// for each other instead of failing with SQLITE_BUSY.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	var stores [2]*Store
	for i := range stores {
		s, err := OpenSQLite(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		s := stores[w%2]
		wg.Go(func() {
			for i := range 25 {
				id := fmt.Sprintf("u-%d-%d", w, i)
				u := store.User{ID: id, UserPrincipalName: id + "@example.com"}
				if err := s.CreateUser(ctx, u); err != nil {
					errs <- err
					return
				}
				// A multi-statement transaction.
				if err := s.PurgeUser(ctx, id); err != nil {
					errs <- err
					return
				}
				if err := s.CreateUser(ctx, u); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	us, err := stores[0].ListUsers(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 200 {
		t.Errorf("%d users, want 200", len(us))
	}
}

func TestReadPoolIsReadOnly(t *testing.T) {
	s := openTemp(t)
	_, err := s.rdb.ExecContext(t.Context(), `DELETE FROM users`)
	if err == nil {
		t.Fatal("write on the read pool succeeded")
	}
}

func TestErrorsWrapped(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	_, err := s.GetUser(ctx, "u1")
	if want := "get user u1: not found"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	u := store.User{ID: "u1", UserPrincipalName: "a@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	err = s.CreateUser(ctx, u)
	if want := "create user u1: already exists"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("err = %v, not ErrConflict", err)
	}
}

func TestRebind(t *testing.T) {
	d := dialect{name: "postgres", numbered: true}
	got := d.rebind(`SELECT a FROM t WHERE b = ? AND (c, d) < (?, ?)`)
	if want := `SELECT a FROM t WHERE b = $1 AND (c, d) < ($2, $3)`; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
	if got := sqliteDialect.rebind(`x = ?`); got != `x = ?` {
		t.Errorf("sqlite rebind = %q", got)
	}
}

// benchAnchors fills a store with a job and n anchors.
func benchAnchors(b *testing.B, n int) *Store {
	b.Helper()
	s := openTemp(b)
	ctx := b.Context()
	app := store.Application{ID: "app", AppID: "appid"}
	sp := store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}
	if err := s.CreateServicePrincipal(ctx, app, sp); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateJob(ctx, store.Job{ID: "job", ServicePrincipalID: "sp"}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		a := store.Anchor{JobID: "job", SourceType: "User", SourceID: fmt.Sprintf("user-%06d", i),
			TargetType: "User", TargetID: fmt.Sprintf("target-%06d", i), Updated: time.Now()}
		if err := s.PutAnchor(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGetAnchor(b *testing.B) {
	const n = 10000
	s := benchAnchors(b, n)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.GetAnchor(ctx, "job", "User", fmt.Sprintf("user-%06d", i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetAnchorParallel(b *testing.B) {
	const n = 10000
	s := benchAnchors(b, n)
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetAnchor(ctx, "job", "User", fmt.Sprintf("user-%06d", i%n)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkPutAnchor(b *testing.B) {
	s := benchAnchors(b, 0)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		a := store.Anchor{JobID: "job", SourceType: "User", SourceID: fmt.Sprintf("user-%06d", i%10000),
			TargetType: "User", TargetID: fmt.Sprintf("target-%d", i), Updated: time.Now()}
		if err := s.PutAnchor(ctx, a); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestMigrateJobStatus opens a database holding a job as 0001 stored it
// (Graph JSON status and schedule documents, as the API wrote them) and
// expects 0002 to turn them into the typed records.
func TestMigrateJobStatus(t *testing.T) {
	ctx := t.Context()
	init, err := migrationFS.ReadFile("migrations/sqlite/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	oldStatus := `{"code":"NotRun","countSuccessiveCompleteFailures":2,"escrowsPruned":false,` +
		`"lastExecution":{"activityIdentifier":"a1","countExported":7,"state":"Failed","timeBegan":"2025-03-04T05:06:07.5Z",` +
		`"timeEnded":"0001-01-01T00:00:00Z","error":{"code":"None","message":"","tenantActionable":false}},` +
		`"lastSuccessfulExecution":null,"lastSuccessfulExecutionWithExports":null,"progress":[],"quarantine":null,` +
		`"steadyStateFirstAchievedTime":"0001-01-01T00:00:00Z","steadyStateLastAchievedTime":"0001-01-01T00:00:00Z",` +
		`"synchronizedEntryCountByType":[{"key":"user to User","value":3}],"troubleshootingUrl":null}`
	s := migratedSQLite(t, []string{
		string(init),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied BIGINT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`,
		`INSERT INTO jobs VALUES ('scim.1', 'sp', 'scim', NULL, CAST('` + oldStatus + `' AS BLOB),
			CAST('{"expiration":null,"interval":"P10675199DT2H48M5.4775807S","state":"Disabled"}' AS BLOB), NULL, 1, 2)`,
		`INSERT INTO jobs VALUES ('scim.2', 'sp', 'scim', NULL, NULL,
			CAST('{"expiration":"2030-01-02T03:04:05Z","interval":"PT40M","state":"Active"}' AS BLOB), NULL, 1, 2)`,
		`INSERT INTO jobs VALUES ('scim.3', 'sp', 'scim', NULL, NULL, NULL, NULL, 1, 2)`,
	})
	jobs, err := s.ListJobs(ctx, "sp")
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	want := []store.Job{
		{ID: "scim.1", ServicePrincipalID: "sp", TemplateID: "scim",
			Status: store.Status{Code: store.StatusNotRun, CountSuccessiveCompleteFailures: 2,
				LastExecution: &store.Execution{ActivityIdentifier: "a1", CountExported: 7, State: store.ExecutionFailed,
					TimeBegan: time.Date(2025, 3, 4, 5, 6, 7, 5e8, time.UTC), Error: &store.SyncError{Code: "None"}},
				SynchronizedEntryCountByType: []store.EntryCount{{Key: "user to User", Value: 3}}},
			Schedule: store.Schedule{Interval: "P10675199DT2H48M5.4775807S", State: store.ScheduleDisabled},
			Created:  fromMicros(1), Updated: fromMicros(2)},
		{ID: "scim.2", ServicePrincipalID: "sp", TemplateID: "scim",
			Schedule: store.Schedule{Interval: "PT40M", State: store.ScheduleActive, Expiration: &expires},
			Created:  fromMicros(1), Updated: fromMicros(2)},
		{ID: "scim.3", ServicePrincipalID: "sp", TemplateID: "scim", Created: fromMicros(1), Updated: fromMicros(2)},
	}
	if d := cmp.Diff(want, jobs, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("jobs after migration (-want +got):\n%s", d)
	}
}

// FuzzJobStatus: any status that decodes from JSON is stored and read
// back unchanged (or refused on the way in, when it cannot be encoded),
// and decoding a stored status never fails.
func FuzzJobStatus(f *testing.F) {
	f.Add([]byte(`{"code":"NotRun","progress":[],"quarantine":null,"steadyStateFirstAchievedTime":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"code":"Quarantine","countSuccessiveCompleteFailures":3,"lastExecution":{"countExported":5,` +
		`"error":{"code":"E","message":"m","tenantActionable":true},"state":"Failed","timeBegan":"2025-03-04T05:06:07.123456789+05:30"},` +
		`"progress":[{"completedUnits":1,"totalUnits":2,"units":"Users","progressObservationDateTime":"2025-01-01T00:00:00Z"}],` +
		`"quarantine":{"reason":"TooManyDeletes","seriesCount":2,"nextAttempt":"9999-12-31T23:59:59Z"},` +
		`"synchronizedEntryCountByType":[{"key":"user to User","value":-1}],"troubleshootingUrl":"x"}`))
	f.Add([]byte(`{}`))
	s := openTemp(f)
	ctx := f.Context()
	if err := s.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"},
		store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		f.Fatal(err)
	}
	n := 0
	f.Fuzz(func(t *testing.T, doc []byte) {
		var st store.Status
		if json.Unmarshal(doc, &st) != nil {
			return
		}
		n++
		j := store.Job{ID: fmt.Sprintf("job-%d", n), ServicePrincipalID: "sp", Status: st}
		if err := s.CreateJob(ctx, j); err != nil {
			if _, merr := json.Marshal(st); merr == nil {
				t.Fatalf("create job with status %s: %v", doc, err)
			}
			return
		}
		got, err := s.GetJob(ctx, "sp", j.ID)
		if err != nil {
			t.Fatalf("get job with status %s: %v", doc, err)
		}
		if d := cmp.Diff(st, got.Status, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("status %s after a round trip (-put +got):\n%s", doc, d)
		}
	})
}

// TestChangesInWriteTransaction: a directory write and the changes it
// records commit or roll back together. A trigger makes recording a change
// of "boom" fail, as a crash or a full disk would; every write that would
// record one must leave no trace, even when it recorded other changes
// before, and signal nothing.
func TestChangesInWriteTransaction(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	app, sp := store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateServicePrincipal(ctx, app, sp))
	boom := store.User{ID: "boom", UserPrincipalName: "boom@example.com"}
	must(s.CreateUser(ctx, boom))
	must(s.CreateUser(ctx, store.User{ID: "u1", UserPrincipalName: "u1@example.com"}))
	must(s.CreateGroup(ctx, store.Group{ID: "g1"}))
	must(s.CreateGroup(ctx, store.Group{ID: "g2"}))
	must(s.AddMember(ctx, "g2", "boom"))
	_, err := s.wdb.ExecContext(ctx, `CREATE TRIGGER fail_boom BEFORE INSERT ON changes
		WHEN NEW.object_id = 'boom' BEGIN SELECT RAISE(ABORT, 'recording the change failed'); END`)
	must(err)
	before, err := s.LastChangeSeq(ctx)
	must(err)
	ch, stop := s.Subscribe()
	defer stop()

	renamed := boom
	renamed.UserPrincipalName = "renamed@example.com"
	for _, tt := range []struct {
		what  string
		write func() error
	}{
		{"create a user with a taken upn (the write itself fails)", func() error {
			return s.CreateUser(ctx, store.User{ID: "u2", UserPrincipalName: "U1@example.com"})
		}},
		{"update the user", func() error { return s.UpdateUser(ctx, renamed) }},
		{"purge the user", func() error { return s.PurgeUser(ctx, "boom") }},
		{"add the user to g1 (g1's change is recorded first)", func() error { return s.AddMember(ctx, "g1", "boom") }},
		{"remove the user from g2", func() error { return s.RemoveMember(ctx, "g2", "boom") }},
		{"assign the user", func() error {
			return s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a1", AppRoleID: "r", PrincipalID: "boom",
				PrincipalType: "User", ResourceID: "sp"})
		}},
		{"assign g2 (g2's change, then its member's)", func() error {
			return s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a2", AppRoleID: "r", PrincipalID: "g2",
				PrincipalType: "Group", ResourceID: "sp"})
		}},
		{"purge g2 (g2's change, then its member's)", func() error { return s.PurgeGroup(ctx, "g2") }},
	} {
		if err := tt.write(); err == nil {
			t.Errorf("%s: succeeded, want an error", tt.what)
		}
		select {
		case <-ch:
			t.Errorf("%s: signalled a change", tt.what)
		default:
		}
	}

	if cs, err := s.ListChanges(ctx, before, 0); err != nil || len(cs) != 0 {
		t.Errorf("changes after the failed writes = %+v, %v; want none", cs, err)
	}
	if n, err := s.LastChangeSeq(ctx); err != nil || n != before {
		t.Errorf("LastChangeSeq = %d, %v; want %d", n, err, before)
	}
	if _, err := s.GetUser(ctx, "u2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get u2: err = %v, want ErrNotFound", err)
	}
	if got, err := s.GetUser(ctx, "boom"); err != nil || got.UserPrincipalName != boom.UserPrincipalName {
		t.Errorf("user boom = %+v, %v; want it unchanged", got, err)
	}
	if of, err := s.ListMemberOf(ctx, "boom"); err != nil || fmt.Sprint(of) != "[g2]" {
		t.Errorf("groups of boom = %v, %v; want [g2]", of, err)
	}
	for _, id := range []string{"a1", "a2"} {
		if _, err := s.GetAppRoleAssignment(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get assignment %s: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.GetGroup(ctx, "g2"); err != nil {
		t.Errorf("get g2: %v, want it kept", err)
	}
}

// TestMigrateChanges opens a database as 0002 left it: 0003 starts the
// feed with the users, then the groups, already there, and gives jobs an
// empty watermark.
func TestMigrateChanges(t *testing.T) {
	ctx := t.Context()
	qs := append(migratedBefore(t, sqliteDialect, 3),
		`INSERT INTO users (id, upn, upn_key, account_enabled, props, created) VALUES ('u2', 'b', 'b', 1, '{}', 0), ('u1', 'a', 'a', 1, '{}', 0)`,
		`INSERT INTO groups (id, display_name, props, created) VALUES ('g1', 'G', '{}', 0)`,
		`INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`,
		`INSERT INTO jobs (id, service_principal_id, template_id, created, updated) VALUES ('j1', 'sp', 'scim', 1, 2)`,
	)
	before := time.Now().Add(-time.Second) // the migration stamps whole seconds
	s := migratedSQLite(t, qs)
	cs, err := s.ListChanges(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, c := range cs {
		got = append(got, fmt.Sprintf("%d %s %s %v", c.Seq, c.ObjectType, c.ObjectID, c.Deleted))
		if c.At.Before(before) || c.At.After(time.Now()) {
			t.Errorf("change %d recorded at %v, not at the migration", i, c.At)
		}
	}
	if want := []string{"1 User u1 false", "2 User u2 false", "3 Group g1 false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes after migration = %q, want %q", got, want)
	}
	j, err := s.GetJob(ctx, "sp", "j1")
	if err != nil || j.Watermark != "" {
		t.Errorf("job after migration = %+v, %v; want an empty watermark", j, err)
	}
	if err := s.CreateGroup(ctx, store.Group{ID: "g2"}); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.ListChanges(ctx, 3, 0); err != nil || len(cs) != 1 || cs[0].Seq != 4 {
		t.Errorf("changes after the seeded ones = %+v, %v; want seq 4", cs, err)
	}
}

// TestMigrateLogColumns opens a database whose logs predate their query
// columns: 0012 fills them from each log's event JSON.
func TestMigrateLogColumns(t *testing.T) {
	ctx := t.Context()
	qs := migratedBefore(t, sqliteDialect, 12)
	ev := `{"action":"Create","changeId":"c1","statusInfo":{"status":"Success"},"cycleId":"cy1",` +
		`"sourceIdentity":{"id":"u1","type":"User","displayName":"Alice"},"targetIdentity":{"id":"t1","type":"User"}}`
	qs = append(qs,
		`INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`,
		`INSERT INTO jobs (id, service_principal_id, template_id, created, updated) VALUES ('j1', 'sp', 'scim', 1, 2)`,
		`INSERT INTO provisioning_logs VALUES ('l1', 'j1', 'sp', 'c1', 5, CAST('`+ev+`' AS BLOB))`,
		`INSERT INTO provisioning_logs VALUES ('l2', 'j1', 'sp', 'c2', 6, CAST('not json' AS BLOB))`,
		`INSERT INTO provisioning_logs VALUES ('l3', 'j1', 'sp', 'c3', 7, NULL)`,
	)
	s := migratedSQLite(t, qs)
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Asc: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ProvisioningLog{
		{ID: "l1", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c1", Activity: fromMicros(5), CycleID: "cy1",
			Action: "Create", Status: "Success", SourceID: "u1", SourceName: "Alice", TargetID: "t1", Data: []byte(ev)},
		{ID: "l2", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c2", Activity: fromMicros(6), Data: []byte("not json")},
		{ID: "l3", JobID: "j1", ServicePrincipalID: "sp", ChangeID: "c3", Activity: fromMicros(7)},
	}
	if d := cmp.Diff(want, p.Logs, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("logs after migration (-want +got):\n%s", d)
	}
}

// TestPruneManyLogs: a backlog larger than one prune transaction goes
// whole, the younger logs stay.
func TestPruneManyLogs(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if err := s.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(ctx, store.Job{ID: "j", ServicePrincipalID: "sp", TemplateID: "scim"}); err != nil {
		t.Fatal(err)
	}
	old, young := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var b store.Batch
	for i := range 2*pruneChunk + 7 {
		b.Logs = append(b.Logs, store.ProvisioningLog{ID: fmt.Sprint("old", i), JobID: "j", ServicePrincipalID: "sp", Activity: old})
	}
	for i := range 3 {
		b.Logs = append(b.Logs, store.ProvisioningLog{ID: fmt.Sprint("young", i), JobID: "j", ServicePrincipalID: "sp", Activity: young})
	}
	if err := s.CommitBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneProvisioningLogs(ctx, young)
	if err != nil || n != 2*pruneChunk+7 {
		t.Errorf("pruned %d, %v; want %d", n, err, 2*pruneChunk+7)
	}
	p, err := s.QueryProvisioningLogs(ctx, store.LogQuery{Count: true})
	if err != nil || p.Count != 3 {
		t.Errorf("%d logs left, %v; want the 3 young ones", p.Count, err)
	}
}

// TestSQLiteConnectionSettings: the write connection checkpoints every
// 16,384 pages and keeps its statement journals in memory; the readers
// are read-only, their temporary tables (big sorts) on disk.
func TestSQLiteConnectionSettings(t *testing.T) {
	s := openTemp(t)
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   int64
	}{
		{s.wdb, "wal_autocheckpoint", 16384},
		{s.wdb, "journal_size_limit", 64 << 20},
		{s.wdb, "query_only", 0},
		{s.wdb, "temp_store", 2},
		{s.rdb, "temp_store", 0},
		{s.rdb, "query_only", 1},
	} {
		var got int64
		if err := c.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("PRAGMA %s = %d, %v; want %d", c.pragma, got, err, c.want)
		}
	}
}

// migratedSQLite builds a SQLite file with the statements qs (a store as
// an older release left it, say), then opens it with OpenSQLite, which
// migrates it, and closes it when the test ends.
func migratedSQLite(t *testing.T, qs []string) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%.300s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(t.Context(), path, nil)
	return closedAtEnd(t, s, err)
}

// migratedBefore returns the statements that build d's schema as the
// migrations before version left it, each recorded as applied.
func migratedBefore(t *testing.T, d dialect, version int) []string {
	t.Helper()
	ms, err := d.migrations()
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied BIGINT NOT NULL)`}
	for _, m := range ms {
		if m.version >= version {
			break
		}
		qs = append(qs, m.sql, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, m.version))
	}
	return qs
}

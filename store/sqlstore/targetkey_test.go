package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/store"
	"provisiond/store/pgtest"
)

// oldAnchors are rows of a store from before migration 18: (source id,
// target type, target id) of job j1, and one of job j2.
var oldAnchors = []struct{ job, sourceID, targetType, targetID string }{
	{"j1", "u1", "User", "t1"}, {"j1", "u2", "User", "t2"}, {"j1", "g1", "Group", "t1"}, {"j2", "u1", "User", "t1"},
}

// beforeTargetKeys returns the statements that build a store holding
// oldAnchors before migration version: 18 (no target_key yet) or 22 (the
// keys a hash of the job, target type and target id alone).
func beforeTargetKeys(t *testing.T, d dialect, version int) []string {
	qs := append(migratedBefore(t, d, version), `INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`)
	for _, j := range []string{"j1", "j2"} {
		qs = append(qs, `INSERT INTO jobs (id, service_principal_id, template_id, created, updated) VALUES ('`+j+`', 'sp', 'scim', 1, 2)`)
	}
	for _, a := range oldAnchors {
		typ := "User"
		if strings.HasPrefix(a.sourceID, "g") {
			typ = "Group"
		}
		key := ""
		if version > 18 {
			key = fmt.Sprintf(", %d", int64(fnv1a(a.job, a.targetType, a.targetID)))
		}
		qs = append(qs, fmt.Sprintf(`INSERT INTO anchors VALUES ('%s', '%s', '%s', '%s', '%s', 7%s)`, a.job, typ, a.sourceID, a.targetType, a.targetID, key))
	}
	return qs
}

// checkTargetKeys: after the migration, every old anchor is found by its
// target, and only by its own.
func checkTargetKeys(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	for _, a := range oldAnchors {
		got, err := s.GetAnchorsByTarget(ctx, a.job, a.targetType, []string{a.targetID, "absent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].SourceID != a.sourceID || got[0].JobID != a.job {
			t.Errorf("GetAnchorsByTarget(%s, %s, %s) = %+v, want the anchor of %s", a.job, a.targetType, a.targetID, got, a.sourceID)
		}
	}
	var unkeyed int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM anchors WHERE target_key = 0`).Scan(&unkeyed); err != nil || unkeyed != 0 {
		t.Errorf("%d anchors without a target_key after the migration (%v)", unkeyed, err)
	}
}

// Migration 18 keys the anchors stored before target_key; migration 22
// keys every anchor anew, in its job's range.
func TestMigrateAnchorTargetKeys(t *testing.T) {
	for _, version := range []int{18, 22} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			checkTargetKeys(t, migratedSQLite(t, beforeTargetKeys(t, sqliteDialect, version)))
		})
	}
}

func TestPostgresMigrateAnchorTargetKeys(t *testing.T) {
	for _, version := range []int{18, 22} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			url := pgtest.Database(t)
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range beforeTargetKeys(t, postgresDialect, version) {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			checkTargetKeys(t, openPostgres(t, url))
		})
	}
}

// A job's target keys share their high 20 bits, a range of their own: a
// cycle's commits change that range's pages of the index alone.
func TestTargetKeysKeepToTheirJob(t *testing.T) {
	for _, job := range []string{"j1", "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"} {
		first := targetKey(job, "User", "t0") >> 44
		for i := range 1000 {
			if got := targetKey(job, "User", fmt.Sprint("t", i)) >> 44; got != first {
				t.Fatalf("job %s: target t%d's key in range %x, t0's in %x", job, i, got, first)
			}
		}
		if other := targetKey(job, "Group", "t0") >> 44; other == first {
			t.Errorf("job %s: users and groups share range %x", job, first)
		}
	}
	if targetKey("j1", "User", "t0")>>44 == targetKey("j2", "User", "t0")>>44 {
		t.Error("jobs j1 and j2 share a range of target keys")
	}
}

// Two targets whose keys are the same (forged here; FNV-1a collisions are
// one in 2^64) are told apart by the rows themselves.
func TestTargetKeyCollision(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if err := s.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{"j1", "j2"} {
		if err := s.CreateJob(ctx, store.Job{ID: j, ServicePrincipalID: "sp", TemplateID: "scim"}); err != nil {
			t.Fatal(err)
		}
	}
	put := []store.Anchor{
		{JobID: "j1", SourceType: "User", SourceID: "u1", TargetType: "User", TargetID: "t1"},
		{JobID: "j1", SourceType: "User", SourceID: "u2", TargetType: "User", TargetID: "t2"},
		{JobID: "j1", SourceType: "Group", SourceID: "g1", TargetType: "Group", TargetID: "t1"},
		{JobID: "j2", SourceType: "User", SourceID: "u1", TargetType: "User", TargetID: "t1"},
	}
	for _, a := range put {
		if err := s.PutAnchor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Every anchor's key made that of j1's user t1.
	if _, err := s.wdb.ExecContext(ctx, `UPDATE anchors SET target_key = ?`, targetKey("j1", "User", "t1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAnchorsByTarget(ctx, "j1", "User", []string{"t1"})
	if err != nil || len(got) != 1 || got[0].SourceID != "u1" || got[0].JobID != "j1" {
		t.Errorf("GetAnchorsByTarget(j1, User, t1) = %+v, %v; want the anchor of u1 alone", got, err)
	}
	one, err := s.GetAnchorByTarget(ctx, "j1", "User", "t1")
	if err != nil || one.SourceID != "u1" || one.JobID != "j1" {
		t.Errorf("GetAnchorByTarget(j1, User, t1) = %+v, %v; want the anchor of u1", one, err)
	}
}

// The lookups by target use the index of target keys: with any other, a
// group's members would cost a pass over all of the job's anchors.
func TestAnchorsByTargetUseTheKeyIndex(t *testing.T) {
	plan := queryPlan(t, openTemp(t), strings.Replace(anchorsByTargetKey, "(?*)", "(1, 2, 3)", 1))
	if want := []string{"SEARCH anchors USING INDEX anchors_target_key (target_key=?)"}; !cmp.Equal(plan, want) {
		t.Errorf("query plan %q, want %q", plan, want)
	}
}

// Migration 22 keys anchors a page and a few hundred at a time: more than
// a page of them, of two jobs, each ends with its own job's key.
func TestMigrateKeysEveryAnchor(t *testing.T) {
	qs := append(migratedBefore(t, sqliteDialect, 22), `INSERT INTO service_principals VALUES ('sp', 'appid', 'app', 'App', 0)`)
	for _, j := range []string{"j1", "j2"} {
		qs = append(qs, `INSERT INTO jobs (id, service_principal_id, template_id, created, updated) VALUES ('`+j+`', 'sp', 'scim', 1, 2)`)
	}
	const n = 12345 // past a page of 10,000, and not a whole number of UPDATEs
	for i := 0; i < n; i += 100 {
		var rows []string
		for j := i; j < min(i+100, n); j++ {
			job := []string{"j1", "j2"}[j%2]
			rows = append(rows, fmt.Sprintf("('%s', 'User', 'u%d', 'User', 't%d', 7, %d)", job, j, j, int64(fnv1a(job, "User", fmt.Sprint("t", j)))))
		}
		qs = append(qs, `INSERT INTO anchors VALUES `+strings.Join(rows, ", "))
	}
	s := migratedSQLite(t, qs)
	rows, err := s.rdb.QueryContext(t.Context(), `SELECT job_id, target_type, target_id, target_key FROM anchors`)
	type keyed struct {
		job, typ, id string
		key          int64
	}
	got, err := collect(rows, err, func(r *sql.Rows) (keyed, error) {
		var k keyed
		return k, r.Scan(&k.job, &k.typ, &k.id, &k.key)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d anchors after the migration, want %d", len(got), n)
	}
	for _, k := range got {
		if want := targetKey(k.job, k.typ, k.id); k.key != want {
			t.Fatalf("anchor of %s %s %s: target_key %d, want %d", k.job, k.typ, k.id, k.key, want)
		}
	}
}

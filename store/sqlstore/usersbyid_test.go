package sqlstore

import (
	"errors"
	"slices"
	"testing"

	"provisiond/store"
)

// TestMigrateUsersByID: migration 20 rebuilds SQLite's users as a table
// without rowid; the users written before it are all there after it, the
// soft-deleted one too, and their user principal names stay unique.
func TestMigrateUsersByID(t *testing.T) {
	qs := append(migratedBefore(t, sqliteDialect, 20),
		`INSERT INTO users (id, upn, upn_key, account_enabled, props, created, deleted) VALUES
			('u2', 'B@x', 'b@x', 1, '{"displayName":"B"}', 5, NULL),
			('u1', 'a@x', 'a@x', 0, '{"displayName":"A"}', 6, NULL),
			('u3', 'c@x', 'c@x', 1, '{}', 7, 8)`)
	s := migratedSQLite(t, qs)
	ctx := t.Context()

	var withoutRowid int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_list WHERE name = 'users' AND wr = 1`).Scan(&withoutRowid); err != nil || withoutRowid != 1 {
		t.Fatalf("users is not a table without rowid after migration 20 (%d, %v)", withoutRowid, err)
	}
	all, err := s.ListUsers(ctx, store.ListOptions{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range all {
		got = append(got, u.ID+" "+u.UserPrincipalName)
	}
	if want := []string{"u1 a@x", "u2 B@x", "u3 c@x"}; !slices.Equal(got, want) {
		t.Errorf("users after the migration = %q, want %q", got, want)
	}
	if u, err := s.GetUserByUPN(ctx, "b@X"); err != nil || u.ID != "u2" || u.Props["displayName"] != "B" || u.AccountEnabled != true {
		t.Errorf("GetUserByUPN(b@X) = %+v, %v; want u2 as it was", u, err)
	}
	if u, err := s.GetUser(ctx, "u3"); err != nil || u.Deleted == nil {
		t.Errorf("GetUser(u3) = %+v, %v; want it soft-deleted", u, err)
	}
	err = s.CreateUser(ctx, store.User{ID: "u4", UserPrincipalName: "A@X", Props: map[string]any{}})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser with a taken upn after the migration: %v, want ErrConflict", err)
	}
}

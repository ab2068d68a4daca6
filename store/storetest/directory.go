package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"provisiond/store"
)

func testUserCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("u1", "ada@example.com")
	ok(t, s.CreateUser(ctx, u), "create user")

	got, err := s.GetUser(ctx, "u1")
	ok(t, err, "get user")
	same(t, got, u, "get user")

	_, err = s.GetUser(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get missing user")

	dup := newUser("u1", "other@example.com")
	isErr(t, s.CreateUser(ctx, dup), store.ErrConflict, "create user with a taken id")
	got, err = s.GetUser(ctx, "u1")
	ok(t, err, "get user after conflict")
	same(t, got, u, "user after conflict")
}

func testUserUPNUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("u1", "Ada.Lovelace@Example.com")
	ok(t, s.CreateUser(ctx, u), "create user")

	isErr(t, s.CreateUser(ctx, newUser("u2", "ada.lovelace@example.COM")), store.ErrConflict,
		"create user with the same upn in another case")
	_, err := s.GetUser(ctx, "u2")
	isErr(t, err, store.ErrNotFound, "get user whose create conflicted")

	for _, upn := range []string{"Ada.Lovelace@Example.com", "ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM"} {
		got, err := s.GetUserByUPN(ctx, upn)
		ok(t, err, "get user by upn %q", upn)
		same(t, got, u, "get user by upn %q", upn)
	}
	_, err = s.GetUserByUPN(ctx, "grace@example.com")
	isErr(t, err, store.ErrNotFound, "get user by missing upn")
}

func testUserUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "ada@example.com")), "create u1")
	ok(t, s.CreateUser(ctx, newUser("u2", "grace@example.com")), "create u2")

	u := store.User{
		ID:                "u1",
		UserPrincipalName: "ada.l@example.com",
		AccountEnabled:    false,
		Props:             map[string]any{"jobTitle": "Analyst"},
		Created:           at(10),
	}
	ok(t, s.UpdateUser(ctx, u), "update user")
	got, err := s.GetUser(ctx, "u1")
	ok(t, err, "get updated user")
	same(t, got, u, "updated user (the record is replaced)")

	_, err = s.GetUserByUPN(ctx, "ada@example.com")
	isErr(t, err, store.ErrNotFound, "get user by the old upn")
	got, err = s.GetUserByUPN(ctx, "ADA.L@example.com")
	ok(t, err, "get user by the new upn")
	same(t, got, u, "user by the new upn")

	// The old upn is free again.
	ok(t, s.CreateUser(ctx, newUser("u3", "ada@example.com")), "create user with a released upn")

	// Changing only the case of one's own upn is no conflict.
	u.UserPrincipalName = "ADA.L@EXAMPLE.COM"
	ok(t, s.UpdateUser(ctx, u), "update user upn case")
	got, err = s.GetUser(ctx, "u1")
	ok(t, err, "get user")
	same(t, got, u, "user after case change")

	taken := u
	taken.UserPrincipalName = "Grace@Example.com"
	taken.Props = map[string]any{"jobTitle": "Thief"}
	isErr(t, s.UpdateUser(ctx, taken), store.ErrConflict, "update user to a taken upn")
	got, err = s.GetUser(ctx, "u1")
	ok(t, err, "get user")
	same(t, got, u, "user after conflicting update")

	isErr(t, s.UpdateUser(ctx, newUser("nope", "nope@example.com")), store.ErrNotFound, "update missing user")
	_, err = s.GetUserByUPN(ctx, "nope@example.com")
	isErr(t, err, store.ErrNotFound, "update of a missing user must not create it")
}

func testUserSoftDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "a@example.com")), "create u1")
	ok(t, s.CreateUser(ctx, newUser("u2", "b@example.com")), "create u2")
	u2 := newUser("u2", "b@example.com")
	u2.Deleted = ptr(at(20))
	ok(t, s.UpdateUser(ctx, u2), "soft-delete u2")

	got, err := s.GetUser(ctx, "u2")
	ok(t, err, "get soft-deleted user")
	same(t, got, u2, "soft-deleted user")

	list, err := s.ListUsers(ctx, store.ListOptions{})
	ok(t, err, "list users")
	same(t, list, []store.User{newUser("u1", "a@example.com")}, "list users without deleted")

	list, err = s.ListUsers(ctx, store.ListOptions{IncludeDeleted: true})
	ok(t, err, "list users with deleted")
	same(t, list, []store.User{newUser("u1", "a@example.com"), u2}, "list users with deleted")

	// Restore.
	u2.Deleted = nil
	ok(t, s.UpdateUser(ctx, u2), "restore u2")
	list, err = s.ListUsers(ctx, store.ListOptions{})
	ok(t, err, "list users")
	same(t, list, []store.User{newUser("u1", "a@example.com"), u2}, "list users after restore")
}

func testUserProps(t *testing.T, s store.Store) {
	ctx := t.Context()
	props := map[string]any{
		"displayName":       "Ada Lovelace",
		"showInAddressList": false,
		"flag":              true,
		"employeeNumber":    float64(42),
		"ratio":             0.25,
		"negative":          float64(-7),
		"manager":           nil,
		"empty":             "",
		"unicode":           "Zoë 東京 ✓",
		"otherMails":        []any{"a@example.com", "b@example.com"},
		"nested":            []any{[]any{float64(1), "two", nil}, []any{}, true},
		"object":            map[string]any{"city": "London", "tags": []any{"x"}, "n": nil},
	}
	cases := map[string]map[string]any{
		"full":  props,
		"empty": {},
		"nil":   nil,
	}
	i := 0
	for name, p := range cases {
		i++
		u := newUser(name, name+"@example.com")
		u.Props = p
		ok(t, s.CreateUser(ctx, u), "create user %s", name)
		got, err := s.GetUser(ctx, u.ID)
		ok(t, err, "get user %s", name)
		same(t, got.Props, p, "props of %s after create", name)

		u.Props = map[string]any{"after": []any{"update", float64(i)}}
		ok(t, s.UpdateUser(ctx, u), "update user %s", name)
		got, err = s.GetUser(ctx, u.ID)
		ok(t, err, "get user %s", name)
		same(t, got.Props, u.Props, "props of %s after update", name)
	}

	g := newGroup("g1", "Group")
	g.Props = props
	ok(t, s.CreateGroup(ctx, g), "create group")
	got, err := s.GetGroup(ctx, "g1")
	ok(t, err, "get group")
	same(t, got.Props, props, "group props")
}

func testUserPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Inserted out of order; lists are ordered by id.
	ids := []string{"u05", "u02", "u07", "u01", "u04", "u06", "u03"}
	for _, id := range ids {
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
	}
	del := newUser("u04", "u04@example.com")
	del.Deleted = ptr(at(30))
	ok(t, s.UpdateUser(ctx, del), "soft-delete u04")

	userIDs := func(opt store.ListOptions) []string {
		t.Helper()
		us, err := s.ListUsers(ctx, opt)
		ok(t, err, "list users %+v", opt)
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	tests := []struct {
		opt  store.ListOptions
		want []string
	}{
		{store.ListOptions{}, []string{"u01", "u02", "u03", "u05", "u06", "u07"}},
		{store.ListOptions{IncludeDeleted: true}, []string{"u01", "u02", "u03", "u04", "u05", "u06", "u07"}},
		{store.ListOptions{Limit: 2}, []string{"u01", "u02"}},
		{store.ListOptions{Limit: 2, After: "u02"}, []string{"u03", "u05"}},
		{store.ListOptions{Limit: 2, After: "u03", IncludeDeleted: true}, []string{"u04", "u05"}},
		{store.ListOptions{After: "u05"}, []string{"u06", "u07"}},
		{store.ListOptions{After: "u035"}, []string{"u05", "u06", "u07"}}, // After need not exist
		{store.ListOptions{Limit: 10, After: "u07"}, nil},
		{store.ListOptions{Limit: 100}, []string{"u01", "u02", "u03", "u05", "u06", "u07"}},
	}
	for _, tt := range tests {
		same(t, userIDs(tt.opt), tt.want, "list users %+v", tt.opt)
	}

	// Walking the pages yields every user once.
	var all []string
	after := ""
	for range 10 {
		page := userIDs(store.ListOptions{Limit: 3, After: after, IncludeDeleted: true})
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1]
	}
	same(t, all, []string{"u01", "u02", "u03", "u04", "u05", "u06", "u07"}, "paged walk")
}

func testPurgeUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"u1", "u2"} {
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
	}
	for _, id := range []string{"g1", "g2"} {
		ok(t, s.CreateGroup(ctx, newGroup(id, id)), "create %s", id)
		for _, m := range []string{"u1", "u2"} {
			ok(t, s.AddMember(ctx, id, m), "add %s to %s", m, id)
		}
	}
	sp := mkApp(t, s, "1")
	a1 := newAssignment("a1", "u1", "role", sp.ID)
	a2 := newAssignment("a2", "u2", "role", sp.ID)
	ok(t, s.CreateAppRoleAssignment(ctx, a1), "assign u1")
	ok(t, s.CreateAppRoleAssignment(ctx, a2), "assign u2")

	ok(t, s.PurgeUser(ctx, "u1"), "purge u1")
	_, err := s.GetUser(ctx, "u1")
	isErr(t, err, store.ErrNotFound, "get purged user")
	_, err = s.GetUserByUPN(ctx, "u1@example.com")
	isErr(t, err, store.ErrNotFound, "get purged user by upn")
	list, err := s.ListUsers(ctx, store.ListOptions{IncludeDeleted: true})
	ok(t, err, "list users")
	same(t, list, []store.User{newUser("u2", "u2@example.com")}, "users after purge")

	of, err := s.ListMemberOf(ctx, "u1")
	ok(t, err, "list member of u1")
	same(t, of, nil, "groups of purged user")
	for _, g := range []string{"g1", "g2"} {
		ms, err := s.ListMembers(ctx, g)
		ok(t, err, "list members of %s", g)
		same(t, ms, []string{"u2"}, "members of %s after purge", g)
	}
	as, err := s.ListAppRoleAssignmentsOf(ctx, "u1")
	ok(t, err, "list assignments of u1")
	same(t, as, nil, "assignments of purged user")
	_, err = s.GetAppRoleAssignment(ctx, "a1")
	isErr(t, err, store.ErrNotFound, "get assignment of purged user")
	as, err = s.ListAppRoleAssignments(ctx, sp.ID)
	ok(t, err, "list assignments")
	same(t, as, []store.AppRoleAssignment{a2}, "assignments after purge")

	isErr(t, s.PurgeUser(ctx, "u1"), store.ErrNotFound, "purge purged user")

	// The id and upn are free again, with no memberships left over.
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "recreate u1")
	of, err = s.ListMemberOf(ctx, "u1")
	ok(t, err, "list member of recreated u1")
	same(t, of, nil, "groups of recreated user")
}

func testGroupCreateGetUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := newGroup("g1", "Engineers")
	ok(t, s.CreateGroup(ctx, g), "create group")
	got, err := s.GetGroup(ctx, "g1")
	ok(t, err, "get group")
	same(t, got, g, "group")

	_, err = s.GetGroup(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get missing group")
	isErr(t, s.CreateGroup(ctx, newGroup("g1", "Other")), store.ErrConflict, "create group with a taken id")

	// DisplayName need not be unique.
	ok(t, s.CreateGroup(ctx, newGroup("g2", "Engineers")), "create group with the same name")

	g.DisplayName = "Engineering"
	g.Props = map[string]any{"description": "all of them", "securityEnabled": true}
	g.Created = at(40)
	ok(t, s.UpdateGroup(ctx, g), "update group")
	got, err = s.GetGroup(ctx, "g1")
	ok(t, err, "get updated group")
	same(t, got, g, "updated group")

	isErr(t, s.UpdateGroup(ctx, newGroup("nope", "x")), store.ErrNotFound, "update missing group")
	_, err = s.GetGroup(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "update of a missing group must not create it")
}

func testGroupSoftDeleteAndPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"g3", "g1", "g4", "g2"} {
		ok(t, s.CreateGroup(ctx, newGroup(id, "G "+id)), "create %s", id)
	}
	g2 := newGroup("g2", "G g2")
	g2.Deleted = ptr(at(50))
	ok(t, s.UpdateGroup(ctx, g2), "soft-delete g2")
	got, err := s.GetGroup(ctx, "g2")
	ok(t, err, "get soft-deleted group")
	same(t, got, g2, "soft-deleted group")

	groupIDs := func(opt store.ListOptions) []string {
		t.Helper()
		gs, err := s.ListGroups(ctx, opt)
		ok(t, err, "list groups %+v", opt)
		var out []string
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	tests := []struct {
		opt  store.ListOptions
		want []string
	}{
		{store.ListOptions{}, []string{"g1", "g3", "g4"}},
		{store.ListOptions{IncludeDeleted: true}, []string{"g1", "g2", "g3", "g4"}},
		{store.ListOptions{Limit: 1, After: "g1"}, []string{"g3"}},
		{store.ListOptions{Limit: 1, After: "g1", IncludeDeleted: true}, []string{"g2"}},
		{store.ListOptions{After: "g4"}, nil},
	}
	for _, tt := range tests {
		same(t, groupIDs(tt.opt), tt.want, "list groups %+v", tt.opt)
	}
}

func testPurgeGroup(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "create u1")
	for _, id := range []string{"outer", "g1", "other"} {
		ok(t, s.CreateGroup(ctx, newGroup(id, id)), "create %s", id)
	}
	ok(t, s.AddMember(ctx, "g1", "u1"), "add u1 to g1")
	ok(t, s.AddMember(ctx, "other", "u1"), "add u1 to other")
	ok(t, s.AddMember(ctx, "outer", "g1"), "add g1 to outer")
	ok(t, s.AddMember(ctx, "outer", "other"), "add other to outer")
	sp := mkApp(t, s, "1")
	ok(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{
		ID: "a1", AppRoleID: "role", PrincipalID: "g1", PrincipalType: "Group", ResourceID: sp.ID, Created: at(1),
	}), "assign g1")

	ok(t, s.PurgeGroup(ctx, "g1"), "purge g1")
	_, err := s.GetGroup(ctx, "g1")
	isErr(t, err, store.ErrNotFound, "get purged group")
	ms, err := s.ListMembers(ctx, "g1")
	ok(t, err, "list members of purged group")
	same(t, ms, nil, "members of purged group")
	of, err := s.ListMemberOf(ctx, "u1")
	ok(t, err, "list member of u1")
	same(t, of, []string{"other"}, "groups of u1 after purge")
	ms, err = s.ListMembers(ctx, "outer")
	ok(t, err, "list members of outer")
	same(t, ms, []string{"other"}, "members of outer after purge")
	as, err := s.ListAppRoleAssignmentsOf(ctx, "g1")
	ok(t, err, "list assignments of g1")
	same(t, as, nil, "assignments of purged group")
	_, err = s.GetAppRoleAssignment(ctx, "a1")
	isErr(t, err, store.ErrNotFound, "get assignment of purged group")

	isErr(t, s.PurgeGroup(ctx, "g1"), store.ErrNotFound, "purge purged group")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "again")), "recreate g1")
	ms, err = s.ListMembers(ctx, "g1")
	ok(t, err, "list members of recreated g1")
	same(t, ms, nil, "members of recreated group")
}

func testMembers(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"u3", "u1", "u2"} {
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
	}
	for _, id := range []string{"g2", "g1", "g3"} {
		ok(t, s.CreateGroup(ctx, newGroup(id, id)), "create %s", id)
	}
	for _, m := range []struct{ group, member string }{
		{"g1", "u3"}, {"g1", "u1"}, {"g1", "g2"}, {"g1", "u2"},
		{"g3", "u1"}, {"g2", "u1"},
	} {
		ok(t, s.AddMember(ctx, m.group, m.member), "add %s to %s", m.member, m.group)
	}

	isErr(t, s.AddMember(ctx, "g1", "u1"), store.ErrConflict, "add a member twice")
	isErr(t, s.AddMember(ctx, "nope", "u1"), store.ErrNotFound, "add a member to a missing group")

	ms, err := s.ListMembers(ctx, "g1")
	ok(t, err, "list members")
	same(t, ms, []string{"g2", "u1", "u2", "u3"}, "members of g1")
	of, err := s.ListMemberOf(ctx, "u1")
	ok(t, err, "list member of")
	same(t, of, []string{"g1", "g2", "g3"}, "groups of u1")
	of, err = s.ListMemberOf(ctx, "g2")
	ok(t, err, "list member of g2")
	same(t, of, []string{"g1"}, "groups of g2")
	of, err = s.ListMemberOf(ctx, "nobody")
	ok(t, err, "list member of a non-member")
	same(t, of, nil, "groups of a non-member")

	ok(t, s.RemoveMember(ctx, "g1", "u1"), "remove member")
	isErr(t, s.RemoveMember(ctx, "g1", "u1"), store.ErrNotFound, "remove a removed member")
	isErr(t, s.RemoveMember(ctx, "g1", "nobody"), store.ErrNotFound, "remove a non-member")
	isErr(t, s.RemoveMember(ctx, "nope", "u1"), store.ErrNotFound, "remove from a missing group")
	ms, err = s.ListMembers(ctx, "g1")
	ok(t, err, "list members")
	same(t, ms, []string{"g2", "u2", "u3"}, "members of g1 after remove")
	of, err = s.ListMemberOf(ctx, "u1")
	ok(t, err, "list member of")
	same(t, of, []string{"g2", "g3"}, "groups of u1 after remove")

	// A removed member can be added again.
	ok(t, s.AddMember(ctx, "g1", "u1"), "re-add member")
}

// testEditUserAndGroup: EditUser and EditGroup store what fn left and
// return it; fn's error, a missing record and a taken userPrincipalName
// leave the record as it was.
func testEditUserAndGroup(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "create u1")
	ok(t, s.CreateUser(ctx, newUser("u2", "u2@example.com")), "create u2")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "G1")), "create g1")

	got, err := s.EditUser(ctx, "u1", func(u *store.User) error {
		u.Props["jobTitle"] = "Analyst"
		u.UserPrincipalName = "U1@contoso.test"
		u.ID = "ignored" // the id is the one edited
		return nil
	})
	ok(t, err, "edit u1")
	want := newUser("u1", "U1@contoso.test")
	want.Props["jobTitle"] = "Analyst"
	same(t, got, want, "edit u1's result")
	stored, err := s.GetUser(ctx, "u1")
	ok(t, err, "get u1")
	same(t, stored, want, "u1 after the edit")

	refused := errors.New("refused by fn")
	_, err = s.EditUser(ctx, "u1", func(u *store.User) error { u.Props["jobTitle"] = "Lost"; return refused })
	if err != refused {
		t.Errorf("edit with fn's error: %v, want fn's error as is", err)
	}
	_, err = s.EditUser(ctx, "u1", func(u *store.User) error { u.UserPrincipalName = "u2@EXAMPLE.com"; return nil })
	isErr(t, err, store.ErrConflict, "edit u1 to u2's upn")
	stored, err = s.GetUser(ctx, "u1")
	ok(t, err, "get u1")
	same(t, stored, want, "u1 after refused edits")
	_, err = s.EditUser(ctx, "nope", func(*store.User) error { t.Error("fn called for a missing user"); return nil })
	isErr(t, err, store.ErrNotFound, "edit a missing user")

	// The result is the user as stored, as GetUser returns it.
	zone := time.FixedZone("UTC+02:00", 2*3600)
	deleted := ptr(at(9).In(zone).Add(500 * time.Nanosecond))
	got, err = s.EditUser(ctx, "u2", func(u *store.User) error { u.Deleted = deleted; return nil })
	ok(t, err, "soft-delete u2 by edit")
	stored, err = s.GetUser(ctx, "u2")
	ok(t, err, "get u2")
	same(t, got, stored, "soft-delete u2's result")
	_, err = s.EditUser(ctx, "u2", func(u *store.User) error {
		if u.Deleted == nil {
			t.Error("EditUser hid a soft-deleted user's Deleted")
		}
		u.Deleted = nil
		return nil
	})
	ok(t, err, "restore u2 by edit")

	g, err := s.EditGroup(ctx, "g1", func(g *store.Group) error { g.DisplayName = "Group one"; g.Props["description"] = "d"; return nil })
	ok(t, err, "edit g1")
	wantG := newGroup("g1", "Group one")
	wantG.Props["description"] = "d"
	same(t, g, wantG, "edit g1's result")
	_, err = s.EditGroup(ctx, "g1", func(g *store.Group) error { g.DisplayName = "Lost"; return refused })
	if err != refused {
		t.Errorf("group edit with fn's error: %v", err)
	}
	stored2, err := s.GetGroup(ctx, "g1")
	ok(t, err, "get g1")
	same(t, stored2, wantG, "g1 after a refused edit")
	_, err = s.EditGroup(ctx, "nope", func(*store.Group) error { return nil })
	isErr(t, err, store.ErrNotFound, "edit a missing group")
}

// testConcurrentEdits: edits of one user and one group from many
// goroutines at once, each adding its own property, all take effect.
func testConcurrentEdits(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "create u1")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "G1")), "create g1")
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("extension_%02d", i)
			if _, err := s.EditUser(ctx, "u1", func(u *store.User) error { u.Props[key] = "set"; return nil }); err != nil {
				errs <- err
			}
			if _, err := s.EditGroup(ctx, "g1", func(g *store.Group) error { g.Props[key] = "set"; return nil }); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent edit: %v", err)
	}
	u, err := s.GetUser(ctx, "u1")
	ok(t, err, "get u1")
	g, err := s.GetGroup(ctx, "g1")
	ok(t, err, "get g1")
	for i := range n {
		key := fmt.Sprintf("extension_%02d", i)
		if u.Props[key] != "set" || g.Props[key] != "set" {
			t.Errorf("%s lost: user %v, group %v", key, u.Props[key], g.Props[key])
		}
	}
}

package connectortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
)

// Flat SCIM attribute names the suite writes (Entra's default mappings).
const (
	attrWorkEmail  = `emails[type eq "work"].value`
	attrOtherEmail = `emails[type eq "other"].value`
	enterprise     = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	attrDepartment = enterprise + "department"
	attrEmployeeNo = enterprise + "employeeNumber"
	attrManager    = enterprise + "manager"
)

// RunTarget runs the target conformance suite. newTarget is called once per
// subtest and may return a client of a long-lived server: every object the
// suite creates has a random suffix and is deleted when its subtest ends.
func RunTarget(t *testing.T, newTarget func(t *testing.T) connector.Target) {
	t.Run("Test", func(t *testing.T) {
		if err := newTarget(t).Test(t.Context()); err != nil {
			t.Fatalf("Test() = %v, want nil", err)
		}
	})
	t.Run("Name", func(t *testing.T) {
		if newTarget(t).Name() == "" {
			t.Error("Name() is empty")
		}
	})
	t.Run("CreateUserThenGet", func(t *testing.T) { testCreateGet(t, newTarget(t)) })
	t.Run("FindUser", func(t *testing.T) { testFind(t, newTarget(t)) })
	t.Run("UpdateUser", func(t *testing.T) { testUpdate(t, newTarget(t)) })
	t.Run("DeleteUser", func(t *testing.T) { testDelete(t, newTarget(t)) })
	t.Run("DuplicateUserName", func(t *testing.T) { testDuplicate(t, newTarget(t)) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, newTarget(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newTarget(t)) })
}

// suffix returns a random tag that keeps names unique per run.
func suffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewUserAttrs returns the flat attributes of a user with every kind of path
// the default Entra mapping writes; the userName is unique per call.
func NewUserAttrs() connector.Attributes {
	s := suffix()
	return connector.Attributes{
		"userName":                             {"ct-" + s + "@example.com"},
		"active":                               {"True"},
		"displayName":                          {"Ada Lovelace " + s},
		"title":                                {"Engineer"},
		"externalId":                           {"ext-" + s},
		"preferredLanguage":                    {"en-GB"},
		"name.givenName":                       {"Ada"},
		"name.familyName":                      {"Lovelace-" + s},
		"name.formatted":                       {"Ada Lovelace-" + s},
		attrWorkEmail:                          {"ada." + s + "@example.com"},
		`addresses[type eq "work"].locality`:   {"London"},
		`addresses[type eq "work"].postalCode`: {"NW1 6XE"},
		`phoneNumbers[type eq "work"].value`:   {"+44 20 7946 0000"},
		`phoneNumbers[type eq "mobile"].value`: {"+44 7700 900000"},
		attrDepartment:                         {"Analytical Engines"},
		attrEmployeeNo:                         {"E-" + s},
	}
}

// create creates an object and deletes it when the test ends.
func create(t *testing.T, target connector.Target, typ string, attrs connector.Attributes) connector.Object {
	t.Helper()
	obj, err := target.Create(t.Context(), typ, attrs)
	if err != nil {
		t.Fatalf("Create(%s) = %v", typ, err)
	}
	if obj.ID == "" {
		t.Fatalf("Create(%s) returned no ID", typ)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := target.Delete(ctx, typ, obj.ID); err != nil && !connector.IsNotFound(err) {
			t.Errorf("cleanup: Delete(%s, %s) = %v", typ, obj.ID, err)
		}
	})
	return obj
}

func get(t *testing.T, target connector.Target, typ, id string) connector.Object {
	t.Helper()
	obj, err := target.Get(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("Get(%s, %s) = %v", typ, id, err)
	}
	return obj
}

// subset returns the attributes of got named in want.
func subset(got, want connector.Attributes) connector.Attributes {
	out := connector.Attributes{}
	for k := range want {
		if v, ok := got[k]; ok {
			out[k] = v
		}
	}
	return out
}

func testCreateGet(t *testing.T, target connector.Target) {
	attrs := NewUserAttrs()
	created := create(t, target, connector.TypeUser, attrs)
	if diff := cmp.Diff(attrs, subset(created.Attrs, attrs)); diff != "" {
		t.Errorf("Create returned attributes (-want +got):\n%s", diff)
	}
	got := get(t, target, "user", created.ID) // type names are case-insensitive
	if got.ID != created.ID {
		t.Errorf("Get ID = %q, want %q", got.ID, created.ID)
	}
	if diff := cmp.Diff(attrs, subset(got.Attrs, attrs)); diff != "" {
		t.Errorf("Get after Create (-want +got):\n%s", diff)
	}
}

func testFind(t *testing.T, target connector.Target) {
	attrs := NewUserAttrs()
	u := create(t, target, connector.TypeUser, attrs)
	userName, _ := attrs.Get("userName")
	externalID, _ := attrs.Get("externalId")
	workEmail, _ := attrs.Get(attrWorkEmail)
	for _, tc := range []struct{ name, attr, value string }{
		{"userName", "userName", userName},
		{"userNameOtherCase", "userName", strings.ToUpper(userName)},
		{"externalId", "externalId", externalID},
		{"workEmail", attrWorkEmail, workEmail}, // a matching attribute Entra allows
	} {
		got, err := target.Find(t.Context(), connector.TypeUser, tc.attr, tc.value)
		if err != nil {
			t.Fatalf("Find(%s) = %v", tc.name, err)
		}
		if len(got) != 1 || got[0].ID != u.ID {
			t.Errorf("Find(%s eq %q) = %d objects %v, want only %s", tc.attr, tc.value, len(got), ids(got), u.ID)
		}
	}
	miss, err := target.Find(t.Context(), connector.TypeUser, "userName", "missing-"+suffix()+"@example.com")
	if err != nil || len(miss) != 0 {
		t.Errorf("Find(miss) = %v, %v; want empty, nil", ids(miss), err)
	}
}

func ids(objs []connector.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

// update applies set and checks that exactly those attributes changed.
func update(t *testing.T, target connector.Target, typ, id string, set connector.Attributes) {
	t.Helper()
	before := get(t, target, typ, id)
	if err := target.Update(t.Context(), typ, id, set); err != nil {
		t.Fatalf("Update(%v) = %v", set, err)
	}
	want := before.Attrs.Clone()
	for k, v := range set {
		if len(v) == 0 {
			delete(want, k)
		} else {
			want[k] = v
		}
	}
	after := get(t, target, typ, id)
	if diff := cmp.Diff(want, after.Attrs); diff != "" {
		t.Errorf("Get after Update(%v) (-want +got):\n%s", set, diff)
	}
}

func testUpdate(t *testing.T, target connector.Target) {
	manager := create(t, target, connector.TypeUser, NewUserAttrs())
	u := create(t, target, connector.TypeUser, NewUserAttrs())
	s := suffix()
	update(t, target, connector.TypeUser, u.ID, connector.Attributes{
		"title":                              {"Senior Engineer"},
		"active":                             {"False"},
		"preferredLanguage":                  nil,
		"name.givenName":                     {"Augusta"},
		attrWorkEmail:                        {"augusta." + s + "@example.com"},
		attrOtherEmail:                       {"ada.other." + s + "@example.org"}, // no "other" email before
		attrDepartment:                       {"Difference Engines"},
		attrManager:                          {manager.ID},
		`addresses[type eq "home"].locality`: {"Marylebone"}, // no home address before
	})
	update(t, target, connector.TypeUser, u.ID, connector.Attributes{
		"active":       {"True"},
		attrOtherEmail: nil,
		attrManager:    nil,
	})
	if err := target.Update(t.Context(), connector.TypeUser, u.ID, nil); err != nil {
		t.Errorf("Update(no attributes) = %v", err)
	}
}

func testDelete(t *testing.T, target connector.Target) {
	u := create(t, target, connector.TypeUser, NewUserAttrs())
	if err := target.Delete(t.Context(), connector.TypeUser, u.ID); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := target.Get(t.Context(), connector.TypeUser, u.ID); !connector.IsNotFound(err) {
		t.Errorf("Get after Delete = %v, want KindNotFound", err)
	}
	if err := target.Delete(t.Context(), connector.TypeUser, u.ID); !connector.IsNotFound(err) {
		t.Errorf("second Delete = %v, want KindNotFound", err)
	}
	if err := target.Update(t.Context(), connector.TypeUser, u.ID, connector.Attributes{"title": {"x"}}); !connector.IsNotFound(err) {
		t.Errorf("Update after Delete = %v, want KindNotFound", err)
	}
}

func testDuplicate(t *testing.T, target connector.Target) {
	attrs := NewUserAttrs()
	create(t, target, connector.TypeUser, attrs)
	userName, _ := attrs.Get("userName")
	for _, name := range []string{userName, strings.ToUpper(userName)} {
		dup := NewUserAttrs()
		dup["userName"] = []string{name}
		obj, err := target.Create(t.Context(), connector.TypeUser, dup)
		if err == nil {
			_ = target.Delete(context.Background(), connector.TypeUser, obj.ID)
		}
		if k := connector.KindOf(err); k != connector.KindConflict {
			t.Errorf("Create(duplicate userName %q) = %v (kind %v), want KindConflict", name, err, k)
		}
	}
}

func members(t *testing.T, target connector.Target, groupID string) []string {
	t.Helper()
	g := get(t, target, connector.TypeGroup, groupID)
	m := slices.Clone(g.Attrs["members"])
	slices.Sort(m)
	return m
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func testGroups(t *testing.T, target connector.Target) {
	ctx := t.Context()
	u1 := create(t, target, connector.TypeUser, NewUserAttrs())
	u2 := create(t, target, connector.TypeUser, NewUserAttrs())
	s := suffix()
	name := "CT Group " + s
	g := create(t, target, connector.TypeGroup, connector.Attributes{
		"displayName": {name},
		"externalId":  {"grp-" + s},
		"members":     {u1.ID}, // ignored: members follow via AddMembers
	})
	if got := get(t, target, connector.TypeGroup, g.ID); got.Attrs["displayName"][0] != name || len(got.Attrs["members"]) != 0 {
		t.Errorf("Get(new group) = %v, want displayName %q and no members", got.Attrs, name)
	}
	found, err := target.Find(ctx, "group", "displayName", name)
	if err != nil || len(found) != 1 || found[0].ID != g.ID {
		t.Errorf("Find(displayName eq %q) = %v, %v; want only %s", name, ids(found), err, g.ID)
	}

	mw, ok := target.(connector.MemberWriter)
	if !ok {
		t.Fatalf("%T does not implement connector.MemberWriter; group targets must", target)
	}
	if err := mw.AddMembers(ctx, g.ID, []string{u1.ID, u2.ID}); err != nil {
		t.Fatalf("AddMembers = %v", err)
	}
	if got, want := members(t, target, g.ID), sorted(u1.ID, u2.ID); !slices.Equal(got, want) {
		t.Errorf("members after adding two = %v, want %v", got, want)
	}
	if err := mw.RemoveMembers(ctx, g.ID, []string{u1.ID}); err != nil {
		t.Fatalf("RemoveMembers = %v", err)
	}
	if got, want := members(t, target, g.ID), []string{u2.ID}; !slices.Equal(got, want) {
		t.Errorf("members after removing one = %v, want %v", got, want)
	}
	if err := mw.AddMembers(ctx, g.ID, []string{u2.ID}); err != nil {
		t.Errorf("AddMembers(already a member) = %v, want nil", err)
	}
	if err := mw.RemoveMembers(ctx, g.ID, []string{u1.ID}); err != nil {
		t.Errorf("RemoveMembers(not a member) = %v, want nil", err)
	}
	if err := mw.AddMembers(ctx, g.ID, nil); err != nil {
		t.Errorf("AddMembers(none) = %v, want nil", err)
	}
	if got, want := members(t, target, g.ID), []string{u2.ID}; !slices.Equal(got, want) {
		t.Errorf("members after no-op changes = %v, want %v", got, want)
	}
	update(t, target, connector.TypeGroup, g.ID, connector.Attributes{"displayName": {name + " renamed"}})
}

// testList creates users and groups with members and pages through them
// two at a time: each is listed once, as Get returns it (groups with their
// members), and under its own type only. The target may hold other objects.
func testList(t *testing.T, target connector.Target) {
	l, ok := target.(connector.Lister)
	if !ok {
		t.Skipf("%T does not list (not a connector.Lister)", target)
	}
	mw, ok := target.(connector.MemberWriter)
	if !ok {
		t.Fatalf("%T does not implement connector.MemberWriter; group targets must", target)
	}
	users, groups := map[string]string{}, map[string]string{}
	var userIDs []string
	for i := range 5 {
		u := create(t, target, connector.TypeUser, NewUserAttrs())
		users[u.ID] = fmt.Sprintf("user %d", i+1)
		userIDs = append(userIDs, u.ID)
	}
	for i, n := range []int{0, 1, 3} { // members per group
		s := suffix()
		g := create(t, target, connector.TypeGroup, connector.Attributes{"displayName": {"CT List " + s}, "externalId": {"grp-" + s}})
		groups[g.ID] = fmt.Sprintf("group %d (%d members)", i+1, n)
		if err := mw.AddMembers(t.Context(), g.ID, userIDs[:n]); err != nil {
			t.Fatalf("AddMembers = %v", err)
		}
		if got := members(t, target, g.ID); len(got) != n {
			t.Fatalf("group %d has members %v, want %d", i+1, got, n)
		}
	}
	getter := func(typ string) func(t *testing.T, id string) connector.Object {
		return func(t *testing.T, id string) connector.Object { return get(t, target, typ, id) }
	}
	listedUsers := listAll(t, l, "user", 2)
	checkListed(t, "users", listedUsers, users, false, getter(connector.TypeUser))
	listedGroups := listAll(t, l, "GROUP", 2)
	checkListed(t, "groups", listedGroups, groups, false, getter(connector.TypeGroup))
	for _, o := range listedUsers {
		if _, ok := groups[o.ID]; ok {
			t.Errorf("List(User) returned %s", groups[o.ID])
		}
	}
	for _, o := range listedGroups {
		if _, ok := users[o.ID]; ok {
			t.Errorf("List(Group) returned %s", users[o.ID])
		}
	}
	checkListRefuses(t, l)
}

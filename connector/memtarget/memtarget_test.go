package memtarget_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/connector/memtarget"
)

func TestConformance(t *testing.T) {
	connectortest.RunTarget(t, func(t *testing.T) connector.Target { return memtarget.New(memtarget.Options{}) })
}

// counter returns a NewID giving id-1, id-2, ...
func counter() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("id-%d", n) }
}

func user(name string) connector.Attributes {
	return connector.Attributes{"userName": {name}, "externalId": {"Ext-" + name}, "active": {"True"}}
}

// wantKind fails unless err is a *connector.Error of kind.
func wantKind(t *testing.T, what string, err error, kind connector.Kind) *connector.Error {
	t.Helper()
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Kind != kind {
		t.Fatalf("%s = %v, want a %v connector error", what, err, kind)
	}
	return ce
}

func TestFailure(t *testing.T) {
	for _, tt := range []struct {
		kind       connector.Kind
		retryAfter float64
		status     int
		code       string
	}{
		{connector.KindTransient, 0, 503, "InternalServerError"},
		{connector.KindTransient, 30, 429, "TooManyRequests"},
		{connector.KindUnauthorized, 0, 401, "SystemForCrossDomainIdentityManagementCredentialValidationFailure"},
		{connector.KindNotFound, 0, 404, "InvalidAnchor"},
		{connector.KindConflict, 1.5, 409, "EntryConflict"},
		{connector.KindInvalid, 0, 400, "SystemForCrossDomainIdentityManagementBadRequest"},
		{connector.KindUnknown, 0, 0, ""},
	} {
		e := memtarget.Failure(tt.kind, tt.retryAfter)
		if e.Kind != tt.kind || e.Status != tt.status || e.Code != tt.code || e.RetryAfter != tt.retryAfter || e.Message == "" {
			t.Errorf("Failure(%v, %v) = %+v, want status %d, code %q", tt.kind, tt.retryAfter, e, tt.status, tt.code)
		}
	}
}

// TestFailNext injects each kind into each method: the call fails with the
// injected error, changes nothing, and the next call goes through.
func TestFailNext(t *testing.T) {
	kinds := []connector.Kind{connector.KindTransient, connector.KindUnauthorized, connector.KindNotFound,
		connector.KindConflict, connector.KindInvalid, connector.KindUnknown}
	// Each op: a call, and a check that a failed call left the target as
	// it was.
	type fixture struct{ user, other, group string }
	ops := []struct {
		op        memtarget.Op
		call      func(tg *memtarget.Target, f fixture) error
		unchanged func(t *testing.T, tg *memtarget.Target, f fixture)
	}{
		{memtarget.OpTest, func(tg *memtarget.Target, f fixture) error { return tg.Test(t.Context()) }, nil},
		{memtarget.OpFind, func(tg *memtarget.Target, f fixture) error {
			_, err := tg.Find(t.Context(), "User", "userName", "ada")
			return err
		}, nil},
		{memtarget.OpGet, func(tg *memtarget.Target, f fixture) error {
			_, err := tg.Get(t.Context(), "User", f.user)
			return err
		}, nil},
		{memtarget.OpList, func(tg *memtarget.Target, f fixture) error {
			_, err := tg.List(t.Context(), "User", "", 10)
			return err
		}, nil},
		{memtarget.OpCreate, func(tg *memtarget.Target, f fixture) error {
			_, err := tg.Create(t.Context(), "User", user("new"))
			return err
		}, func(t *testing.T, tg *memtarget.Target, f fixture) {
			if n := len(tg.Objects("User")); n != 2 {
				t.Errorf("%d users after a failed Create, want 2", n)
			}
		}},
		{memtarget.OpUpdate, func(tg *memtarget.Target, f fixture) error {
			return tg.Update(t.Context(), "User", f.user, connector.Attributes{"active": {"False"}})
		}, func(t *testing.T, tg *memtarget.Target, f fixture) {
			if u, _ := tg.Get(t.Context(), "User", f.user); u.Attrs["active"][0] != "True" {
				t.Errorf("user after a failed Update: %v", u.Attrs)
			}
		}},
		{memtarget.OpDelete, func(tg *memtarget.Target, f fixture) error {
			return tg.Delete(t.Context(), "User", f.user)
		}, func(t *testing.T, tg *memtarget.Target, f fixture) {
			if _, err := tg.Get(t.Context(), "User", f.user); err != nil {
				t.Errorf("Get after a failed Delete = %v", err)
			}
		}},
		{memtarget.OpAddMembers, func(tg *memtarget.Target, f fixture) error {
			return tg.AddMembers(t.Context(), f.group, []string{f.other})
		}, func(t *testing.T, tg *memtarget.Target, f fixture) {
			if g, _ := tg.Get(t.Context(), "Group", f.group); !slices.Equal(g.Attrs["members"], []string{f.user}) {
				t.Errorf("members after a failed AddMembers: %v", g.Attrs["members"])
			}
		}},
		{memtarget.OpRemoveMembers, func(tg *memtarget.Target, f fixture) error {
			return tg.RemoveMembers(t.Context(), f.group, []string{f.user})
		}, func(t *testing.T, tg *memtarget.Target, f fixture) {
			if g, _ := tg.Get(t.Context(), "Group", f.group); !slices.Equal(g.Attrs["members"], []string{f.user}) {
				t.Errorf("members after a failed RemoveMembers: %v", g.Attrs["members"])
			}
		}},
	}
	for _, op := range ops {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/%v", op.op, kind), func(t *testing.T) {
				ctx := t.Context()
				tg := memtarget.New(memtarget.Options{})
				u, err := tg.Create(ctx, "User", user("ada"))
				if err != nil {
					t.Fatal(err)
				}
				o, err := tg.Create(ctx, "User", user("grace"))
				if err != nil {
					t.Fatal(err)
				}
				g, err := tg.Create(ctx, "Group", connector.Attributes{"displayName": {"G"}})
				if err != nil {
					t.Fatal(err)
				}
				if err := tg.AddMembers(ctx, g.ID, []string{u.ID}); err != nil {
					t.Fatal(err)
				}
				f := fixture{user: u.ID, other: o.ID, group: g.ID}

				injected := memtarget.Failure(kind, 7)
				tg.FailNext(op.op, 2, injected)
				for i := range 2 {
					err := op.call(tg, f)
					if ce := wantKind(t, fmt.Sprintf("call %d", i+1), err, kind); ce != injected || ce.RetryAfter != 7 {
						t.Errorf("call %d: err = %+v, want the injected error with RetryAfter 7", i+1, ce)
					}
					if op.unchanged != nil {
						op.unchanged(t, tg, f)
					}
				}
				if err := op.call(tg, f); err != nil {
					t.Errorf("third call = %v, want nil (two failures were injected)", err)
				}
			})
		}
	}
}

func TestFailWhen(t *testing.T) {
	ctx := t.Context()
	tg := memtarget.New(memtarget.Options{})
	a, _ := tg.Create(ctx, "User", user("a"))
	b, _ := tg.Create(ctx, "User", user("b"))
	tg.FailWhen(func(c memtarget.Call) *connector.Error {
		if c.Op == memtarget.OpUpdate && c.ID == b.ID {
			return memtarget.Failure(connector.KindTransient, 3)
		}
		return nil
	})
	set := connector.Attributes{"title": {"x"}}
	if err := tg.Update(ctx, "User", a.ID, set); err != nil {
		t.Errorf("Update(a) = %v, want nil", err)
	}
	ce := wantKind(t, "Update(b)", tg.Update(ctx, "User", b.ID, set), connector.KindTransient)
	if ce.RetryAfter != 3 || ce.Status != 429 {
		t.Errorf("Update(b) error = %+v, want a 429 with RetryAfter 3", ce)
	}
	tg.FailWhen(nil)
	if err := tg.Update(ctx, "User", b.ID, set); err != nil {
		t.Errorf("Update(b) after removing the hook = %v", err)
	}
}

func TestCalls(t *testing.T) {
	ctx := t.Context()
	tg := memtarget.New(memtarget.Options{NewID: counter()})
	attrs := user("ada")
	u, _ := tg.Create(ctx, "user", attrs)
	attrs["userName"][0] = "changed by the caller" // the log keeps its own copy
	_, _ = tg.Find(ctx, "User", "userName", "ada")
	_ = tg.Delete(ctx, "Group", u.ID)
	want := []memtarget.Call{
		{Op: memtarget.OpCreate, Type: "user", Attrs: user("ada")},
		{Op: memtarget.OpFind, Type: "User", Attribute: "userName", Value: "ada"},
		{Op: memtarget.OpDelete, Type: "Group", ID: "id-1"},
	}
	if d := cmp.Diff(want, tg.Calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

// TestSemantics covers what the suite leaves to each target and the fake
// settles like a strict SCIM app.
func TestSemantics(t *testing.T) {
	ctx := t.Context()
	tg := memtarget.New(memtarget.Options{Name: "contoso", NewID: counter()})
	if tg.Name() != "contoso" {
		t.Errorf("Name = %q", tg.Name())
	}
	ada, err := tg.Create(ctx, "User", user("ada"))
	if err != nil || ada.ID != "id-1" {
		t.Fatalf("Create = %v, %v", ada, err)
	}
	grace, _ := tg.Create(ctx, "User", user("grace"))
	g, _ := tg.Create(ctx, "Group", connector.Attributes{"displayName": {"Engineers"}})

	// Attribute names ignore case; externalId values do not.
	for _, tt := range []struct {
		attr, value string
		want        []string
	}{
		{"USERNAME", "ADA", []string{ada.ID}},
		{"externalId", "Ext-ada", []string{ada.ID}},
		{"externalId", "ext-ada", nil},
		{"active", "true", []string{ada.ID, grace.ID}},
		{"title", "", nil},
	} {
		objs, err := tg.Find(ctx, "User", tt.attr, tt.value)
		var got []string
		for _, o := range objs {
			got = append(got, o.ID)
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Find(%s eq %q) = %v, %v; want %v", tt.attr, tt.value, got, err, tt.want)
		}
	}

	// Objects of one type are not found as the other.
	if _, err := tg.Get(ctx, "Group", ada.ID); !connector.IsNotFound(err) {
		t.Errorf("Get(user as Group) = %v, want KindNotFound", err)
	}
	if err := tg.Update(ctx, "Group", ada.ID, connector.Attributes{"x": {"y"}}); !connector.IsNotFound(err) {
		t.Errorf("Update(user as Group) = %v, want KindNotFound", err)
	}
	for _, err := range []error{
		func() error { _, err := tg.Get(ctx, "Printer", ada.ID); return err }(),
		func() error { _, err := tg.Create(ctx, "Printer", user("x")); return err }(),
		func() error {
			_, err := tg.Create(ctx, "User", connector.Attributes{"displayName": {"no userName"}})
			return err
		}(),
		func() error {
			_, err := tg.Create(ctx, "Group", connector.Attributes{"externalId": {"no displayName"}})
			return err
		}(),
		tg.Update(ctx, "User", ada.ID, connector.Attributes{"userName": nil}),
	} {
		wantKind(t, "invalid call", err, connector.KindInvalid)
	}

	// Renaming to a taken userName is a conflict and changes nothing.
	wantKind(t, "Update(taken userName)", tg.Update(ctx, "User", grace.ID,
		connector.Attributes{"userName": {"Ada"}, "title": {"thief"}}), connector.KindConflict)
	if got, _ := tg.Get(ctx, "User", grace.ID); got.Attrs["userName"][0] != "grace" || got.Attrs["title"] != nil {
		t.Errorf("user after a conflicting update: %v", got.Attrs)
	}
	// A name set in another case replaces the attribute.
	if err := tg.Update(ctx, "User", grace.ID, connector.Attributes{"USERNAME": {"grace.h"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := tg.Get(ctx, "User", grace.ID); len(got.Attrs) != 3 || got.Attrs["USERNAME"][0] != "grace.h" {
		t.Errorf("user after renaming in another case: %v", got.Attrs)
	}
	// The old name is free again; names compare as strings.EqualFold does
	// (a long s is an s).
	graceAgain, err := tg.Create(ctx, "User", user("GRACE"))
	if err != nil {
		t.Fatalf("Create(a freed userName) = %v", err)
	}
	longS, err := tg.Create(ctx, "User", user("\u017fam"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Create(ctx, "User", user("Sam"))
	wantKind(t, "Create(userName equal but for case)", err, connector.KindConflict)
	for _, id := range []string{graceAgain.ID, longS.ID} {
		if err := tg.Delete(ctx, "User", id); err != nil {
			t.Fatal(err)
		}
	}

	// Unknown members are refused; the known ones are added anyway.
	wantKind(t, "AddMembers(unknown)", tg.AddMembers(ctx, g.ID, []string{ada.ID, "nope", grace.ID}), connector.KindInvalid)
	if got, _ := tg.Get(ctx, "Group", g.ID); !slices.Equal(got.Attrs["members"], []string{ada.ID, grace.ID}) {
		t.Errorf("members = %v, want ada and grace", got.Attrs["members"])
	}
	if err := tg.AddMembers(ctx, "nope", []string{ada.ID}); !connector.IsNotFound(err) {
		t.Errorf("AddMembers(missing group) = %v, want KindNotFound", err)
	}
	if err := tg.RemoveMembers(ctx, ada.ID, []string{grace.ID}); !connector.IsNotFound(err) {
		t.Errorf("RemoveMembers(a user) = %v, want KindNotFound", err)
	}
	// Found groups show their members too.
	if found, _ := tg.Find(ctx, "Group", "displayName", "engineers"); len(found) != 1 || len(found[0].Attrs["members"]) != 2 {
		t.Errorf("Find(group) = %v", found)
	}

	// A deleted user leaves its groups.
	if err := tg.Delete(ctx, "User", ada.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := tg.Get(ctx, "Group", g.ID); !slices.Equal(got.Attrs["members"], []string{grace.ID}) {
		t.Errorf("members after deleting ada = %v, want grace only", got.Attrs["members"])
	}
	if got := tg.Objects("user"); len(got) != 1 || got[0].ID != grace.ID {
		t.Errorf("Objects(user) = %v, want grace only", got)
	}
	if _, err := tg.Create(ctx, "User", user("ada")); err != nil {
		t.Errorf("Create(a deleted user's userName) = %v", err)
	}

	// What Get returns is a copy.
	got, _ := tg.Get(ctx, "User", grace.ID)
	got.Attrs["title"] = []string{"changed"}
	if again, _ := tg.Get(ctx, "User", grace.ID); again.Attrs["title"] != nil {
		t.Errorf("changing a returned object changed the target: %v", again.Attrs)
	}
}

// TestListWhileChanging: the token is an id, so objects that exist for the
// whole listing are listed once, whatever is created and deleted meanwhile.
func TestListWhileChanging(t *testing.T) {
	ctx := t.Context()
	tg := memtarget.New(memtarget.Options{NewID: counter()}) // id-1 … id-6 sort as made
	var made []string
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		u, err := tg.Create(ctx, "User", user(name))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, u.ID)
	}
	page, err := tg.List(ctx, "User", "", 2)
	if err != nil || page.Next != made[1] {
		t.Fatalf("List(first page) = %+v, %v; want token %s", page, err, made[1])
	}
	got := ids(page.Objects)
	// Deleting a listed user and creating one (its id sorts last) does not
	// shift the rest.
	if err := tg.Delete(ctx, "User", made[0]); err != nil {
		t.Fatal(err)
	}
	late, err := tg.Create(ctx, "User", user("late"))
	if err != nil {
		t.Fatal(err)
	}
	for token := page.Next; token != ""; token = page.Next {
		if page, err = tg.List(ctx, "User", token, 2); err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page.Objects)...)
	}
	if want := append(slices.Clone(made), late.ID); !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	var lists []memtarget.Call
	for _, c := range tg.Calls() {
		if c.Op == memtarget.OpList {
			lists = append(lists, c)
		}
	}
	if want := (memtarget.Call{Op: memtarget.OpList, Type: "User", Token: made[1], PageSize: 2}); len(lists) < 2 || !cmp.Equal(lists[1], want) {
		t.Errorf("List calls logged = %+v, want the second to be %+v", lists, want)
	}
}

func ids(objs []connector.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

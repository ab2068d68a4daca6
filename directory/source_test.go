package directory_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/directory"
	"provisiond/ids"
	"provisiond/store"
	"provisiond/store/memory"
	"provisiond/store/sqlstore"
)

// backends are the stores the directory source is tested over.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlstore", func(t *testing.T) store.Store {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "provisiond.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"memory", func(t *testing.T) store.Store { return memory.New() }},
}

// roleID returns the id of the app role with the given display name.
func roleID(t *testing.T, name string) string {
	t.Helper()
	if name == "Default Access" {
		return directory.DefaultAppRoleID
	}
	for _, r := range directory.NonGalleryAppRoles {
		if r.DisplayName == name {
			return r.ID
		}
	}
	t.Fatalf("no app role %q", name)
	return ""
}

// mkApp stores a service principal and returns its id.
func mkApp(t *testing.T, st store.Store, name string) string {
	t.Helper()
	app := store.Application{ID: ids.NewUUID(), AppID: ids.NewUUID(), DisplayName: name}
	sp := store.ServicePrincipal{ID: ids.NewUUID(), AppID: app.AppID, ApplicationID: app.ID, DisplayName: name}
	if err := st.CreateServicePrincipal(t.Context(), app, sp); err != nil {
		t.Fatal(err)
	}
	return sp.ID
}

// seed stores d in st the way the Graph API does and returns the source
// for its application, and the ids of d's keys.
func seed(t *testing.T, st store.Store, d connectortest.SourceData) (connector.Source, map[string]string) {
	t.Helper()
	ctx := t.Context()
	spID, otherID := mkApp(t, st, "Under test"), mkApp(t, st, "Other")
	now := time.Now()
	keys := map[string]string{}
	for _, u := range d.Users {
		id := ids.NewUUID()
		keys[u.Key] = id
		props := map[string]any{}
		for k, vs := range u.Attrs {
			if len(vs) == 1 {
				props[k] = vs[0]
				continue
			}
			list := []any{}
			for _, v := range vs {
				list = append(list, v)
			}
			props[k] = list
		}
		su := store.User{ID: id, UserPrincipalName: u.UserPrincipalName, AccountEnabled: u.AccountEnabled, Props: props, Created: now}
		if u.SoftDeleted {
			su.Deleted = &now
		}
		if err := st.CreateUser(ctx, su); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range d.Groups {
		id := ids.NewUUID()
		keys[g.Key] = id
		sg := store.Group{ID: id, DisplayName: g.DisplayName, Props: map[string]any{"securityEnabled": true}, Created: now}
		if g.SoftDeleted {
			sg.Deleted = &now
		}
		if err := st.CreateGroup(ctx, sg); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range d.Groups {
		for _, m := range g.Members {
			if err := st.AddMember(ctx, keys[g.Key], keys[m]); err != nil {
				t.Fatal(err)
			}
		}
	}
	isGroup := func(key string) bool {
		return slices.ContainsFunc(d.Groups, func(g connectortest.SourceGroup) bool { return g.Key == key })
	}
	for _, a := range d.Assignments {
		res, typ := spID, "User"
		if a.Elsewhere {
			res = otherID
		}
		if isGroup(a.Principal) {
			typ = "Group"
		}
		err := st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: ids.NewUUID(), AppRoleID: roleID(t, a.Role),
			PrincipalID: keys[a.Principal], PrincipalType: typ, ResourceID: res, Created: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	return directory.NewSource(st, spID), keys
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			connectortest.RunSource(t, func(t *testing.T, d connectortest.SourceData) (connector.Source, map[string]string) {
				return seed(t, b.open(t), d)
			})
		})
	}
}

// TestGraphProperties: what the directory shows beyond the suite, Graph
// properties under Entra's attribute names and JSON values as strings.
func TestGraphProperties(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			spID := mkApp(t, st, "App")
			u := store.User{ID: "u1", UserPrincipalName: "Ada@Example.com", AccountEnabled: true, Props: map[string]any{
				"officeLocation": "Room 1", "mobilePhone": "+44 1", "faxNumber": "+44 2",
				"businessPhones": []any{"+44 3", "+44 4"}, "showInAddressList": false, "employeeNumber": float64(42),
				"ratio": 0.25, "manager": nil, "otherMails": []any{}, "nested": []any{[]any{"a", true}, nil, float64(-1)},
			}}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			src := directory.NewSource(st, spID)
			if src.Name() != directory.Name {
				t.Errorf("Name = %q", src.Name())
			}
			want := connector.Attributes{
				"objectId": {"u1"}, "userPrincipalName": {"Ada@Example.com"}, "accountEnabled": {"True"}, "IsSoftDeleted": {"False"},
				"physicalDeliveryOfficeName": {"Room 1"}, "mobile": {"+44 1"}, "facsimileTelephoneNumber": {"+44 2"},
				"telephoneNumber": {"+44 3", "+44 4"}, "showInAddressList": {"False"}, "employeeNumber": {"42"},
				"ratio": {"0.25"}, "nested": {"a", "True", "-1"},
			}
			// By id, and by userPrincipalName in any case.
			for _, key := range []string{"u1", "ada@example.com"} {
				got, err := src.Get(ctx, "User", key)
				if err != nil {
					t.Fatalf("Get(%s) = %v", key, err)
				}
				if got.ID != "u1" || got.Type != connector.TypeUser {
					t.Errorf("Get(%s) = %s %s", key, got.Type, got.ID)
				}
				if d := cmp.Diff(want, got.Attrs); d != "" {
					t.Errorf("Get(%s) attributes (-want +got):\n%s", key, d)
				}
			}
		})
	}
}

// TestListWhileChanging: the token is an id, so users that exist for the
// whole listing are listed once, whatever is created or purged meanwhile;
// a user soft-deleted meanwhile is listed as such.
func TestListWhileChanging(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			mk := func(id string) {
				if err := st.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com", AccountEnabled: true}); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{"u1", "u2", "u3", "u4", "u5"} {
				mk(id)
			}
			src := directory.NewSource(st, mkApp(t, st, "App"))
			page, err := src.List(ctx, "User", "", 2)
			if err != nil || page.Next != "u2" {
				t.Fatalf("List(first page) = %+v, %v; want token u2", page, err)
			}
			var got []string
			for _, o := range page.Objects {
				got = append(got, o.ID)
			}
			if err := st.PurgeUser(ctx, "u1"); err != nil {
				t.Fatal(err)
			}
			mk("u0") // sorts before the token: not listed
			mk("u9")
			u3, _ := st.GetUser(ctx, "u3")
			now := time.Now()
			u3.Deleted = &now
			if err := st.UpdateUser(ctx, u3); err != nil {
				t.Fatal(err)
			}
			for token := page.Next; token != ""; token = page.Next {
				if page, err = src.List(ctx, "User", token, 2); err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Objects {
					got = append(got, o.ID)
					if o.ID == "u3" && !o.SoftDeleted {
						t.Errorf("u3 listed %+v, want it soft-deleted", o)
					}
				}
			}
			if want := []string{"u1", "u2", "u3", "u4", "u5", "u9"}; !slices.Equal(got, want) {
				t.Errorf("listed %v, want %v", got, want)
			}
		})
	}
}

// TestChanges: the feed's watermark is the decimal seq of the last change
// returned; writes after a watermark are read from it; a watermark that is
// not one the source gave, or is behind a prune, is KindInvalid.
func TestChanges(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			src := directory.NewSource(st, mkApp(t, st, "App"))
			changes := func(watermark string, max int) ([]connector.Change, string) {
				t.Helper()
				cs, next, err := src.Changes(ctx, watermark, max)
				if err != nil {
					t.Fatalf("Changes(%q, %d) = %v", watermark, max, err)
				}
				return cs, next
			}
			want := func(watermark string, max int, wantNext string, want ...connector.Change) {
				t.Helper()
				cs, next := changes(watermark, max)
				if d := cmp.Diff(want, cs); d != "" || next != wantNext {
					t.Errorf("Changes(%q, %d): next %q, want %q; changes (-want +got):\n%s", watermark, max, next, wantNext, d)
				}
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			user := func(id string) connector.Change { return connector.Change{ObjectType: connector.TypeUser, ID: id} }
			group := func(id string) connector.Change { return connector.Change{ObjectType: connector.TypeGroup, ID: id} }

			want("", 10, "") // nothing yet: the watermark given
			must(st.CreateUser(ctx, store.User{ID: "u1", UserPrincipalName: "u1@example.com"}))
			must(st.CreateGroup(ctx, store.Group{ID: "g1"}))
			must(st.AddMember(ctx, "g1", "u1"))
			want("", 2, "2", user("u1"), group("g1"))
			want("2", 2, "4", group("g1"), user("u1"))
			want("4", 2, "4")
			want("", 10, "4", user("u1"), group("g1"), group("g1"), user("u1"))

			// An incremental read takes up where the last one ended.
			must(st.PurgeUser(ctx, "u1"))
			want("4", 10, "6", connector.Change{ObjectType: connector.TypeUser, ID: "u1", Deleted: true}, group("g1"))
			want("6", 10, "6")

			for _, w := range []string{"abc", "-1", "+1", "01", " 1", "1 ", "1.0", "1e3", "0x1", "99999999999999999999"} {
				if _, _, err := src.Changes(ctx, w, 10); connector.KindOf(err) != connector.KindInvalid {
					t.Errorf("Changes(watermark %q): err = %v, want KindInvalid", w, err)
				}
			}
			for _, w := range []string{"7", "1000"} {
				if _, _, err := src.Changes(ctx, w, 10); connector.KindOf(err) != connector.KindInvalid {
					t.Errorf("Changes(watermark %q, past the newest change 6): err = %v, want KindInvalid", w, err)
				}
			}
			if _, _, err := src.Changes(ctx, "", 0); connector.KindOf(err) != connector.KindInvalid {
				t.Errorf("Changes(max 0): err = %v, want KindInvalid", err)
			}

			// Behind a prune the feed cannot say what changed: KindInvalid,
			// so the cycle starts over rather than skipping changes.
			must(st.PruneChanges(ctx, 4))
			for _, w := range []string{"", "0", "2"} {
				if _, _, err := src.Changes(ctx, w, 10); connector.KindOf(err) != connector.KindInvalid {
					t.Errorf("Changes(watermark %q, pruned): err = %v, want KindInvalid", w, err)
				}
			}
			want("3", 1, "4", user("u1"))
		})
	}
}

// TestChangesOfOtherApplications: an app role assignment of another
// application, even of a big group, is no change for this one's jobs: the
// feed leaves it out and moves its watermark past it; its own
// application's feed has the group and its members.
func TestChangesOfOtherApplications(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			mine, other := mkApp(t, st, "Mine"), mkApp(t, st, "Other")
			src, otherSrc := directory.NewSource(st, mine), directory.NewSource(st, other)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(st.CreateGroup(ctx, store.Group{ID: "g1"}))
			for _, id := range []string{"u1", "u2", "u3"} {
				must(st.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com"}))
				must(st.AddMember(ctx, "g1", id))
			}
			head, err := src.Head(ctx)
			must(err)
			assign := func(id, resource string) {
				t.Helper()
				must(st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: id, AppRoleID: directory.DefaultAppRoleID,
					PrincipalID: "g1", PrincipalType: "Group", ResourceID: resource, Created: time.Now()}))
			}
			assign("a1", other)
			last, err := st.LastChangeSeq(ctx)
			must(err)
			// A page smaller than the changes left out: still nothing, and past them.
			cs, next, err := src.Changes(ctx, head, 2)
			if err != nil || len(cs) != 0 || next != strconv.FormatInt(last, 10) {
				t.Errorf("Changes after another application's assignment = %v, %q, %v; want none, and %d", cs, next, err, last)
			}
			group := connector.Change{ObjectType: connector.TypeGroup, ID: "g1"}
			user := func(id string) connector.Change { return connector.Change{ObjectType: connector.TypeUser, ID: id} }
			cs, _, err = otherSrc.Changes(ctx, head, 10)
			if d := cmp.Diff([]connector.Change{group, user("u1"), user("u2"), user("u3")}, cs); err != nil || d != "" {
				t.Errorf("the other application's changes (-want +got):\n%s%v", d, err)
			}
			// Its own assignment after others' is found past them, in pages.
			assign("a2", mine)
			cs, next, err = src.Changes(ctx, head, 2)
			if d := cmp.Diff([]connector.Change{group, user("u1")}, cs); err != nil || d != "" {
				t.Errorf("this application's changes after another's (-want +got):\n%s%v", d, err)
			}
			cs, _, err = src.Changes(ctx, next, 10)
			if d := cmp.Diff([]connector.Change{user("u2"), user("u3")}, cs); err != nil || d != "" {
				t.Errorf("the rest of this application's changes (-want +got):\n%s%v", d, err)
			}
		})
	}
}

// FuzzChangesWatermark: any watermark is either read as a seq the source
// could have given, canonical decimal, or refused as KindInvalid; never a
// panic, never another error.
func FuzzChangesWatermark(f *testing.F) {
	for _, w := range []string{"", "0", "1", "3", "4", "01", "-1", "+2", "abc", "9223372036854775807", "9223372036854775808", "1\x00"} {
		f.Add(w, 2)
	}
	st := memory.New()
	ctx := context.Background()
	for _, id := range []string{"u1", "u2", "u3"} {
		if err := st.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com"}); err != nil {
			f.Fatal(err)
		}
	}
	src := directory.NewSource(st, "sp")
	f.Fuzz(func(t *testing.T, w string, max int) {
		cs, next, err := src.Changes(ctx, w, max)
		if err != nil {
			if connector.KindOf(err) != connector.KindInvalid {
				t.Fatalf("Changes(%q, %d): err = %v, want KindInvalid or none", w, max, err)
			}
			return
		}
		n, perr := strconv.ParseInt(w, 10, 64)
		if w != "" && (perr != nil || strconv.FormatInt(n, 10) != w || n < 0 || n > 3) {
			t.Fatalf("Changes accepted watermark %q", w)
		}
		if max < 1 || len(cs) > max || len(cs) != min(max, 3-int(n)) {
			t.Fatalf("Changes(%q, %d) returned %d changes", w, max, len(cs))
		}
		if want := strconv.FormatInt(n+int64(len(cs)), 10); len(cs) > 0 && next != want || len(cs) == 0 && next != w {
			t.Fatalf("Changes(%q, %d) returned watermark %q", w, max, next)
		}
	})
}

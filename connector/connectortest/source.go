package connectortest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"provisiond/connector"
)

// SourceData is the directory RunSource reads, described apart from any
// backend: objects are named by keys, and the backend gives them ids.
type SourceData struct {
	Users  []SourceUser
	Groups []SourceGroup
	// Assignments grant app roles to users and groups.
	Assignments []SourceAssignment
}

// SourceUser is a user of SourceData.
type SourceUser struct {
	Key               string
	UserPrincipalName string
	AccountEnabled    bool
	SoftDeleted       bool
	// Attrs are further attributes, named as the source shows them.
	Attrs connector.Attributes
}

// SourceGroup is a group of SourceData.
type SourceGroup struct {
	Key         string
	DisplayName string
	SoftDeleted bool
	// Members are the keys of the group's direct members, users and groups.
	Members []string
}

// SourceAssignment grants Principal (a user or group key) the app role
// whose display name is Role, of the application the source reports
// entitlements for or, when Elsewhere, of another application. The roles
// are those every non-gallery application has: "Default Access", "User"
// and "msiam_access".
type SourceAssignment struct {
	Principal string
	Role      string
	Elsewhere bool
}

// sourceData is what RunSource asks every backend to hold. Entitlement
// follows direct assignments and, for users, assignments of the groups they
// are direct members of; nested groups and groups' own groups do not count.
var sourceData = SourceData{
	Users: []SourceUser{
		{Key: "ada", UserPrincipalName: "Ada.Lovelace@example.com", AccountEnabled: true, Attrs: connector.Attributes{
			"displayName": {"Ada Lovelace"}, "givenName": {"Ada"}, "surname": {"Lovelace"},
			"mail": {"ada@example.com"}, "jobTitle": {"Analyst"}, "otherMails": {"ada@home.example", "countess@example.org"},
		}},
		{Key: "grace", UserPrincipalName: "grace@example.com", AccountEnabled: true}, // through eng
		{Key: "both", UserPrincipalName: "both@example.com", AccountEnabled: true},   // direct, eng and ops
		{Key: "nested", UserPrincipalName: "nested@example.com", AccountEnabled: true},
		{Key: "elsewhere", UserPrincipalName: "elsewhere@example.com", AccountEnabled: true},
		{Key: "nobody", UserPrincipalName: "nobody@example.com", AccountEnabled: true},
		{Key: "disabled", UserPrincipalName: "disabled@example.com", AccountEnabled: false},
		{Key: "gone", UserPrincipalName: "gone@example.com", AccountEnabled: true, SoftDeleted: true},
	},
	Groups: []SourceGroup{
		{Key: "eng", DisplayName: "Engineering", Members: []string{"grace", "both", "inner"}},
		{Key: "ops", DisplayName: "Operations", Members: []string{"both"}},
		{Key: "inner", DisplayName: "Inner", Members: []string{"nested"}},
		{Key: "empty", DisplayName: "Empty"},
		{Key: "old", DisplayName: "Old", SoftDeleted: true},
	},
	Assignments: []SourceAssignment{
		{Principal: "ada", Role: "User"},
		{Principal: "both", Role: "User"},
		{Principal: "eng", Role: "Default Access"},
		{Principal: "ops", Role: "User"},
		{Principal: "ops", Role: "msiam_access"},
		{Principal: "elsewhere", Role: "User", Elsewhere: true},
		{Principal: "empty", Role: "User", Elsewhere: true},
		{Principal: "disabled", Role: "User"},
		{Principal: "gone", Role: "User"},
		{Principal: "old", Role: "Default Access"},
	},
}

// SourceProfile says how a source that is not the built-in directory
// shows SourceData. The zero profile is the built-in directory's.
type SourceProfile struct {
	// UserNames and GroupNames map the suite's attribute names (Graph's:
	// surname, jobTitle, otherMails, displayName, ...) to the source's own
	// (sn, title, cn, ...); a name mapped to "" is one the source has no
	// attribute for, and is not checked. Names not listed are the same.
	UserNames, GroupNames map[string]string
	// NoSoftDelete leaves soft-deleted users and groups out of the data
	// (a directory that has no soft deletion, such as LDAP).
	NoSoftDelete bool
	// NoDisable leaves disabled users out (a directory without an account
	// state, such as OpenLDAP).
	NoDisable bool
}

// data is SourceData as the profile's source can hold it.
func (p SourceProfile) data() SourceData {
	d := SourceData{Assignments: sourceData.Assignments}
	for _, u := range sourceData.Users {
		if (p.NoSoftDelete && u.SoftDeleted) || (p.NoDisable && !u.AccountEnabled) {
			continue
		}
		d.Users = append(d.Users, u)
	}
	for _, g := range sourceData.Groups {
		if !(p.NoSoftDelete && g.SoftDeleted) {
			d.Groups = append(d.Groups, g)
		}
	}
	return d
}

// rename renames the attributes of a as names says, dropping those the
// source has none for.
func rename(a connector.Attributes, names map[string]string) connector.Attributes {
	out := connector.Attributes{}
	for k, v := range a {
		if n, ok := names[k]; ok {
			if n == "" {
				continue
			}
			k = n
		}
		out[k] = v
	}
	return out
}

type sourceSuite struct {
	d SourceData
	p SourceProfile
}

// RunSource runs the source conformance suite. setup is called once per
// subtest: it stores d in an empty backend and returns a source over it
// (reporting entitlements for the application d's assignments name) and
// the id it gave each key.
func RunSource(t *testing.T, setup func(t *testing.T, d SourceData) (connector.Source, map[string]string)) {
	RunSourceProfile(t, SourceProfile{}, setup)
}

// RunSourceProfile runs the source conformance suite on a source that
// shows the data as p says.
func RunSourceProfile(t *testing.T, p SourceProfile, setup func(t *testing.T, d SourceData) (connector.Source, map[string]string)) {
	ss := &sourceSuite{d: p.data(), p: p}
	run := func(name string, fn func(t *testing.T, s connector.Source, ids map[string]string)) {
		t.Run(name, func(t *testing.T) {
			s, ids := setup(t, ss.d)
			for _, u := range ss.d.Users {
				if ids[u.Key] == "" {
					t.Fatalf("setup gave user %q no id", u.Key)
				}
			}
			for _, g := range ss.d.Groups {
				if ids[g.Key] == "" {
					t.Fatalf("setup gave group %q no id", g.Key)
				}
			}
			fn(t, s, ids)
		})
	}
	run("Name", func(t *testing.T, s connector.Source, _ map[string]string) {
		if s.Name() == "" {
			t.Error("Name() is empty")
		}
	})
	run("GetUser", ss.testSourceGetUser)
	run("GetGroup", ss.testSourceGetGroup)
	run("GetMissing", ss.testSourceGetMissing)
	run("Entitlement", ss.testSourceEntitlement)
	run("ResultsAreCopies", ss.testSourceCopies)
	run("List", ss.testSourceList)
	run("ChangeFeed", ss.testSourceChangeFeed)
}

// sourceGet returns the object, failing the test on an error or an object
// that is not the one asked for.
func sourceGet(t *testing.T, s connector.Source, typ, id string) connector.Object {
	t.Helper()
	obj, err := s.Get(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("Get(%s, %s) = %v", typ, id, err)
	}
	if obj.ID != id || !strings.EqualFold(obj.Type, typ) {
		t.Errorf("Get(%s, %s) returned %s %s", typ, id, obj.Type, obj.ID)
	}
	return obj
}

// wantAttrs reports the attributes of want that got lacks or holds other
// values of; got may hold more. Values compare in any order.
func wantAttrs(t *testing.T, what string, got, want connector.Attributes) {
	t.Helper()
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if d := cmp.Diff(want, subset(got, want), sorted, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s: attributes (-want +got):\n%s", what, d)
	}
}

// userAttrs is what the source shows of u besides entitlements.
func userAttrs(u SourceUser, id string) connector.Attributes {
	a := u.Attrs.Clone()
	a["objectId"] = []string{id}
	a["userPrincipalName"] = []string{u.UserPrincipalName}
	a["accountEnabled"] = []string{boolString(u.AccountEnabled)}
	a["IsSoftDeleted"] = []string{boolString(u.SoftDeleted)}
	return a
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (ss *sourceSuite) testSourceGetUser(t *testing.T, s connector.Source, ids map[string]string) {
	roles := map[string][]string{
		"ada": {"User"}, "grace": {"Default Access"}, "both": {"User", "Default Access", "msiam_access"},
		"disabled": {"User"}, "gone": {"User"},
	}
	// A source without assignments (LDAP, cloud sync) shows no app roles.
	if _, ok := s.(connector.Entitler); !ok {
		roles = nil
	}
	for _, u := range ss.d.Users {
		id := ids[u.Key]
		for _, typ := range []string{connector.TypeUser, "user", "USER"} { // type names ignore case
			got := sourceGet(t, s, typ, id)
			want := rename(userAttrs(u, id), ss.p.UserNames)
			if r := roles[u.Key]; r != nil {
				want["appRoleAssignments"] = r
			}
			wantAttrs(t, "user "+u.Key, got.Attrs, want)
			// The engine reads the object's state from these, never from
			// attribute names.
			if got.Disabled != !u.AccountEnabled || got.SoftDeleted != u.SoftDeleted {
				t.Errorf("user %s: Disabled %v SoftDeleted %v, want %v %v", u.Key, got.Disabled, got.SoftDeleted, !u.AccountEnabled, u.SoftDeleted)
			}
			if roles[u.Key] == nil && len(got.Attrs["appRoleAssignments"]) > 0 {
				t.Errorf("user %s: appRoleAssignments = %v, want none", u.Key, got.Attrs["appRoleAssignments"])
			}
		}
	}
}

func (ss *sourceSuite) testSourceGetGroup(t *testing.T, s connector.Source, ids map[string]string) {
	for _, g := range ss.d.Groups {
		id := ids[g.Key]
		got := sourceGet(t, s, "group", id)
		want := connector.Attributes{
			"objectId":      {id},
			"displayName":   {g.DisplayName},
			"IsSoftDeleted": {boolString(g.SoftDeleted)},
		}
		for _, m := range g.Members {
			want["members"] = append(want["members"], ids[m])
		}
		wantAttrs(t, "group "+g.Key, got.Attrs, rename(want, ss.p.GroupNames))
		if got.SoftDeleted != g.SoftDeleted || got.Disabled {
			t.Errorf("group %s: Disabled %v SoftDeleted %v, want false %v", g.Key, got.Disabled, got.SoftDeleted, g.SoftDeleted)
		}
		if len(g.Members) == 0 && len(got.Attrs["members"]) > 0 {
			t.Errorf("group %s: members = %v, want none", g.Key, got.Attrs["members"])
		}
	}
}

func (ss *sourceSuite) testSourceGetMissing(t *testing.T, s connector.Source, ids map[string]string) {
	for _, tt := range []struct{ typ, id, what string }{
		{connector.TypeUser, "00000000-0000-0000-0000-00000000dead", "a missing user"},
		{connector.TypeGroup, "00000000-0000-0000-0000-00000000dead", "a missing group"},
		{connector.TypeUser, ids["eng"], "a group asked for as a user"},
		{connector.TypeGroup, ids["ada"], "a user asked for as a group"},
	} {
		if _, err := s.Get(t.Context(), tt.typ, tt.id); !connector.IsNotFound(err) {
			t.Errorf("Get(%s): err = %v, want KindNotFound", tt.what, err)
		}
	}
	if _, err := s.Get(t.Context(), "Printer", ids["ada"]); connector.KindOf(err) != connector.KindInvalid {
		t.Errorf("Get(an unknown object type): err = %v, want KindInvalid", err)
	}
}

func (ss *sourceSuite) testSourceEntitlement(t *testing.T, s connector.Source, ids map[string]string) {
	en, ok := s.(connector.Entitler)
	if !ok {
		t.Skipf("%T has no assignments (not a connector.Entitler): every object is entitled", s)
	}
	for _, tt := range []struct {
		typ, key string
		assigned bool
		roles    []string
		why      string
	}{
		{connector.TypeUser, "ada", true, []string{"User"}, "assigned directly"},
		{connector.TypeUser, "grace", true, []string{"Default Access"}, "member of an assigned group"},
		{connector.TypeUser, "both", true, []string{"User", "Default Access", "msiam_access"}, "direct and through two groups; User once"},
		{connector.TypeUser, "nested", false, nil, "member of a group nested in an assigned group"},
		{connector.TypeUser, "elsewhere", false, nil, "assigned to another application only"},
		{connector.TypeUser, "nobody", false, nil, "no assignment"},
		{connector.TypeUser, "disabled", true, []string{"User"}, "disabled, assigned directly"},
		{connector.TypeUser, "gone", true, []string{"User"}, "soft-deleted, assigned directly"},
		{connector.TypeGroup, "eng", true, []string{"Default Access"}, "group assigned directly"},
		{connector.TypeGroup, "ops", true, []string{"User", "msiam_access"}, "group with two roles"},
		{connector.TypeGroup, "inner", false, nil, "group nested in an assigned group"},
		{connector.TypeGroup, "empty", false, nil, "group assigned to another application only"},
		{"group", "old", true, []string{"Default Access"}, "soft-deleted group, assigned directly"},
	} {
		got, err := en.Entitlement(t.Context(), tt.typ, ids[tt.key])
		if err != nil {
			t.Errorf("Entitlement(%s %s) = %v", tt.typ, tt.key, err)
			continue
		}
		// An entitlement computed while reading the object must agree.
		if obj := sourceGet(t, s, tt.typ, ids[tt.key]); obj.Entitlement != nil &&
			(obj.Entitlement.Assigned != got.Assigned || !slices.Equal(slices.Sorted(slices.Values(obj.Entitlement.Roles)), slices.Sorted(slices.Values(got.Roles)))) {
			t.Errorf("Get(%s %s).Entitlement = %+v, but Entitlement() = %+v", tt.typ, tt.key, *obj.Entitlement, got)
		}
		if got.Assigned != tt.assigned {
			t.Errorf("Entitlement(%s %s: %s).Assigned = %v, want %v", tt.typ, tt.key, tt.why, got.Assigned, tt.assigned)
		}
		roles := slices.Sorted(slices.Values(got.Roles))
		want := slices.Sorted(slices.Values(tt.roles))
		if !slices.Equal(roles, want) {
			t.Errorf("Entitlement(%s %s: %s).Roles = %q, want %q", tt.typ, tt.key, tt.why, got.Roles, tt.roles)
		}
	}
}

func (ss *sourceSuite) testSourceCopies(t *testing.T, s connector.Source, ids map[string]string) {
	u := sourceGet(t, s, connector.TypeUser, ids["ada"])
	u.Attrs["givenName"][0] = "changed"
	u.Attrs["extra"] = []string{"x"}
	g := sourceGet(t, s, connector.TypeGroup, ids["eng"])
	g.Attrs["members"][0] = "changed"
	again := sourceGet(t, s, connector.TypeUser, ids["ada"])
	if again.Attrs["givenName"][0] != "Ada" || again.Attrs["extra"] != nil {
		t.Errorf("changing a returned user changed the source: %v", again.Attrs)
	}
	if slices.Contains(sourceGet(t, s, connector.TypeGroup, ids["eng"]).Attrs["members"], "changed") {
		t.Error("changing a returned group changed the source")
	}
}

// testSourceList pages through every user and group, soft-deleted ones
// included, at several page sizes: each is listed once, as Get returns it.
func (ss *sourceSuite) testSourceList(t *testing.T, s connector.Source, ids map[string]string) {
	l, ok := s.(connector.Lister)
	if !ok {
		t.Skipf("%T does not list (not a connector.Lister)", s)
	}
	users, groups := map[string]string{}, map[string]string{}
	for _, u := range ss.d.Users {
		users[ids[u.Key]] = "user " + u.Key
	}
	for _, g := range ss.d.Groups {
		groups[ids[g.Key]] = "group " + g.Key
	}
	getter := func(typ string) func(t *testing.T, id string) connector.Object {
		return func(t *testing.T, id string) connector.Object { return sourceGet(t, s, typ, id) }
	}
	for _, size := range []int{1, 3, len(users), 100} {
		checkListed(t, fmt.Sprintf("users, pageSize %d", size), listAll(t, l, "user", size), users, true, getter(connector.TypeUser))
		checkListed(t, fmt.Sprintf("groups, pageSize %d", size), listAll(t, l, "GROUP", size), groups, true, getter(connector.TypeGroup))
	}
	checkListRefuses(t, l)
}

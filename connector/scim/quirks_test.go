package scim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// methods lists "METHOD path?query" of the logged requests after n, ids
// replaced by {id}.
func methods(h *harness, n int, ids ...string) []string {
	var out []string
	for _, r := range h.srv.Requests()[n:] {
		p := r.Path
		for _, id := range ids {
			p = strings.ReplaceAll(p, id, "{id}")
		}
		if q := r.Query.Encode(); q != "" {
			for _, id := range ids {
				q = strings.ReplaceAll(q, id, "{id}")
			}
			p += "?" + q
		}
		out = append(out, r.Method+" "+p)
	}
	return out
}

func mustCreate(t *testing.T, c *scim.Client, typ string, attrs connector.Attributes) connector.Object {
	t.Helper()
	o, err := c.Create(t.Context(), typ, attrs)
	if err != nil {
		t.Fatalf("Create(%s) = %v", typ, err)
	}
	return o
}

func diffLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// A server whose ServiceProviderConfig says patch.supported=false gets PUTs
// of whole resources; discovery is read once per client.
func TestDiscoveryNoPatchUsesPut(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{NoPatch: true}}, nil)
	ctx := t.Context()
	u := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"p@example.com"}, "title": {"Dev"}, "name.givenName": {"P"}})
	g := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"PG"}})
	n := len(h.srv.Requests())
	if err := h.client.Update(ctx, "User", u.ID, connector.Attributes{"title": {"Lead"}, "name.familyName": {"Q"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.AddMembers(ctx, g.ID, []string{u.ID, "x"}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.RemoveMembers(ctx, g.ID, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Update(ctx, "Group", g.ID, connector.Attributes{"displayName": {"PG2"}}); err != nil {
		t.Fatal(err)
	}
	got := methods(h, n, u.ID)
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], g.ID, "{g}")
	}
	diffLines(t, "requests", []string{
		"GET /ServiceProviderConfig",
		"GET /Users/{id}", "PUT /Users/{id}",
		"GET /Groups/{g}", "PUT /Groups/{g}",
		"GET /Groups/{g}", "PUT /Groups/{g}",
		"GET /Groups/{g}", "PUT /Groups/{g}",
	}, got)
	user, _ := h.client.Get(ctx, "User", u.ID)
	want := connector.Attributes{"userName": {"p@example.com"}, "title": {"Lead"}, "name.givenName": {"P"}, "name.familyName": {"Q"}}
	if diff := cmp.Diff(want, user.Attrs); diff != "" {
		t.Errorf("user after PUT (-want +got):\n%s", diff)
	}
	group, _ := h.client.Get(ctx, "Group", g.ID)
	if !slices.Equal(group.Attrs["members"], []string{u.ID}) || group.Attrs["displayName"][0] != "PG2" {
		t.Errorf("group after PUTs = %v", group.Attrs)
	}
}

// Without discovery, a 405 to PATCH switches the client to PUT for that
// object type from then on.
func TestPatchRefusedLearnsPut(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{NoPatch: true}}, nil)
	h.client = newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token, Profile: scim.Profile{NoDiscovery: true}})
	u := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"l@example.com"}})
	n := len(h.srv.Requests())
	for _, title := range []string{"A", "B"} {
		if err := h.client.Update(t.Context(), "User", u.ID, connector.Attributes{"title": {title}}); err != nil {
			t.Fatal(err)
		}
	}
	diffLines(t, "requests", []string{
		"PATCH /Users/{id}", "GET /Users/{id}", "PUT /Users/{id}",
		"GET /Users/{id}", "PUT /Users/{id}",
	}, methods(h, n, u.ID))
}

// An unreadable ServiceProviderConfig means the defaults, and is not asked
// again.
func TestDiscoveryFailureMeansDefaults(t *testing.T) {
	h, _ := retryHarness(t, scimtest.Options{Disrupt: script(&rule{method: "GET", prefix: "/ServiceProviderConfig", times: 100, d: scimtest.Disruption{Status: 500}})}, scim.Config{MaxAttempts: 2})
	u := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"d@example.com"}})
	for range 2 {
		if err := h.client.Update(t.Context(), "User", u.ID, connector.Attributes{"title": {"T"}}); err != nil {
			t.Fatal(err)
		}
	}
	diffLines(t, "requests", []string{
		"POST /Users", "GET /ServiceProviderConfig", "GET /ServiceProviderConfig", "PATCH /Users/{id}", "PATCH /Users/{id}",
	}, methods(h, 0, u.ID))
}

// Without filters Find lists and matches on the client, Test asks for one
// user, and listing stops at MaxScan with a clear error.
func TestDiscoveryNoFilter(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{NoFilter: true}}, nil)
	ctx := t.Context()
	var ids []string
	for _, name := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		ids = append(ids, mustCreate(t, h.client, "User", connector.Attributes{"userName": {name}, "externalId": {"x-" + name[:1]}}).ID)
	}
	if err := h.client.Test(ctx); err != nil {
		t.Fatalf("Test = %v", err)
	}
	n := len(h.srv.Requests())
	got, err := h.client.Find(ctx, "User", "userName", "C@example.com")
	if err != nil || len(got) != 1 || got[0].ID != ids[2] {
		t.Fatalf("Find = %v, %v; want only %s", got, err, ids[2])
	}
	diffLines(t, "requests", []string{"GET /Users?count=100"}, methods(h, n))

	small := newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token, MaxScan: 3})
	_, err = small.Find(ctx, "User", "externalId", "x-d")
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "filter.supported is false") ||
		!strings.Contains(err.Error(), "stopped after 3 of 4 resources") {
		t.Errorf("Find past MaxScan = %v, want KindInvalid explaining the limit", err)
	}
	if tests := h.srv.Requests(); tests[0].Path != "/Users" || tests[0].Query.Get("filter") != "" {
		t.Errorf("first request = %+v", tests[0])
	}
}

// A strict server refusing `emails[type eq "work"].value eq` is asked
// `emails.value eq` and the type is checked on the client.
func TestStrictFilterSimplifies(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{StrictFilter: true}}, nil)
	work := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"w"}, `emails[type eq "work"].value`: {"same@example.com"}})
	mustCreate(t, h.client, "User", connector.Attributes{"userName": {"o"}, `emails[type eq "other"].value`: {"same@example.com"}})
	n := len(h.srv.Requests())
	got, err := h.client.Find(t.Context(), "User", `emails[type eq "work"].value`, "Same@example.com")
	if err != nil || len(got) != 1 || got[0].ID != work.ID {
		t.Fatalf("Find = %v, %v; want only %s", got, err, work.ID)
	}
	diffLines(t, "requests", []string{
		"GET /ServiceProviderConfig",
		`GET /Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22Same%40example.com%22`,
		`GET /Users?filter=emails.value+eq+%22Same%40example.com%22`,
	}, methods(h, n))
}

// MembershipRead=userFilter reads members with a user filter, or, when the
// server refuses it, with ?attributes=members (remembered).
func TestMembershipByUserFilter(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts scimtest.Options
		want []string
	}{
		{"filter", scimtest.Options{Options: scimserver.Options{HideMembers: true}}, []string{
			"GET /Groups/{g}?excludedAttributes=members", "GET /Users?attributes=groups&filter=groups.value+eq+%22{g}%22",
			"GET /Groups/{g}?excludedAttributes=members", "GET /Users?attributes=groups&filter=groups.value+eq+%22{g}%22",
		}},
		{"filter refused", scimtest.Options{Options: scimserver.Options{HideMembers: true, StrictFilter: true}}, []string{
			"GET /Groups/{g}?excludedAttributes=members", "GET /Users?attributes=groups&filter=groups.value+eq+%22{g}%22",
			"GET /Groups/{g}?attributes=members",
			"GET /Groups/{g}?excludedAttributes=members", "GET /Groups/{g}?attributes=members",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts, nil)
			h.client = newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token,
				Profile: scim.Profile{MembershipRead: scim.MembershipByUserFilter, NoDiscovery: true}})
			u1 := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"m1@example.com"}})
			u2 := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"m2@example.com"}})
			g := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"M"}})
			if err := h.client.AddMembers(t.Context(), g.ID, []string{u1.ID, u2.ID}); err != nil {
				t.Fatal(err)
			}
			n := len(h.srv.Requests())
			for range 2 {
				got, err := h.client.Get(t.Context(), "Group", g.ID)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{u1.ID, u2.ID}; !cmp.Equal(sortedCopy(got.Attrs["members"]), sortedCopy(want)) {
					t.Errorf("members = %v, want %v", got.Attrs["members"], want)
				}
			}
			got := methods(h, n)
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], g.ID, "{g}")
			}
			diffLines(t, "requests", tc.want, got)
		})
	}
	// With the default profile such a server shows no members: that is
	// what the setting is for.
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{HideMembers: true}}, nil)
	u := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"m@example.com"}})
	g := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"M"}})
	if err := h.client.AddMembers(t.Context(), g.ID, []string{u.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.client.Get(t.Context(), "Group", g.ID); len(got.Attrs["members"]) != 0 {
		t.Errorf("members with MembershipRead=group = %v, want none shown", got.Attrs["members"])
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A server that refuses a whole member PATCH for one unknown id gets the
// members one by one; the error names the refused id.
func TestRejectUnknownMembers(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{RejectUnknownMembers: true}}, nil)
	u1 := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"k1@example.com"}})
	u2 := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"k2@example.com"}})
	g := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"K"}})
	err := h.client.AddMembers(t.Context(), g.ID, []string{u1.ID, "ghost", u2.ID})
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "refused to add 1 of 3 members") ||
		!strings.Contains(err.Error(), "(ghost)") {
		t.Errorf("AddMembers = %v, want KindInvalid naming ghost", err)
	}
	got, _ := h.client.Get(t.Context(), "Group", g.ID)
	if want := sortedCopy([]string{u1.ID, u2.ID}); !cmp.Equal(sortedCopy(got.Attrs["members"]), want) {
		t.Errorf("members = %v, want %v", got.Attrs["members"], want)
	}
	if err := h.client.AddMembers(t.Context(), g.ID, []string{"ghost"}); statusOf(err) != 400 {
		t.Errorf("AddMembers(only unknown) = %v, want the 400", err)
	}
}

func TestRequireEmail(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{RequireEmail: true}}, nil)
	_, err := h.client.Create(t.Context(), "User", connector.Attributes{"userName": {"bob"}})
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "emails is required") {
		t.Errorf("Create(no email) = %v, want KindInvalid", err)
	}
	mustCreate(t, h.client, "User", connector.Attributes{"userName": {"bob"}, `emails[type eq "work"].value`: {"bob@example.com"}})
	mustCreate(t, h.client, "User", connector.Attributes{"userName": {"eve@example.com"}})
}

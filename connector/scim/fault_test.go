package scim_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// faults is a seeded, stateful Disrupt hook injecting the failures real
// servers and networks produce into /Users and /Groups requests.
type faults struct {
	mu      sync.Mutex
	rng     *rand.Rand
	on      bool
	counts  map[string]int
	last404 map[string]bool // path → the previous request to it got a fake 404
}

func newFaults(seed uint64) *faults {
	return &faults{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), on: true, counts: map[string]int{}, last404: map[string]bool{}}
}

func (f *faults) set(on bool) {
	f.mu.Lock()
	f.on = on
	f.mu.Unlock()
}

func (f *faults) hook(r *http.Request) scimtest.Disruption {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on || !strings.HasPrefix(r.URL.Path, "/Users") && !strings.HasPrefix(r.URL.Path, "/Groups") {
		return scimtest.Disruption{}
	}
	x := f.rng.Float64()
	if r.Method == http.MethodPost {
		x /= 3 // creates are where duplicates come from: fail them more
	}
	hasID := strings.Count(r.URL.Path, "/") == 2
	// A fake 404 never follows another on the same path: two in a row are
	// indistinguishable from a deleted object.
	flaky404 := hasID && r.Method != http.MethodPost && !f.last404[r.URL.Path]
	f.last404[r.URL.Path] = false
	var kind string
	var d scimtest.Disruption
	switch {
	case x < 0.03:
		kind, d = "500", scimtest.Disruption{Status: 500}
	case x < 0.05:
		kind, d = "500 after effect", scimtest.Disruption{Status: 500, AfterEffect: true}
	case x < 0.08:
		kind, d = "429", scimtest.Disruption{Status: 429, RetryAfter: "1"}
	case x < 0.09:
		kind, d = "timeout after effect", scimtest.Disruption{Delay: time.Second, AfterEffect: true}
	case x < 0.10:
		kind, d = "timeout", scimtest.Disruption{Delay: time.Second, Status: 504}
	case x < 0.115:
		kind, d = "drop", scimtest.Disruption{Drop: true}
	case x < 0.13:
		kind, d = "drop after effect", scimtest.Disruption{Drop: true, AfterEffect: true}
	case x < 0.14 && flaky404:
		kind, d = "404", scimtest.Disruption{Status: 404}
		f.last404[r.URL.Path] = true
	default:
		return scimtest.Disruption{}
	}
	f.counts[r.Method+" "+kind]++
	f.counts[kind]++
	return d
}

// field is the model of one attribute: the value of the last write the
// client reported as done, and the values of failed writes since, any of
// which may have reached the server.
type field struct {
	confirmed string
	maybe     []string
}

func (f *field) wrote(v string, err error) {
	if err == nil {
		f.confirmed, f.maybe = v, nil
	} else {
		f.maybe = append(f.maybe, v)
	}
}

func (f *field) allows(v string) bool { return v == f.confirmed || slices.Contains(f.maybe, v) }

type mUser struct {
	name, id string
	fields   map[string]*field
	deleted  bool
}

type mGroup struct {
	name, id string
	display  field
	members  map[int]*field // user index → "in"/"out"
}

// TestFaultInjection drives 1,000 operations against a server that fails
// about one request in seven (500s before and after the change took
// effect, 429 with Retry-After, timeouts, dropped connections, flaky 404s)
// and does not enforce unique names, then checks the server's final state:
// no duplicate users or groups, every update the client reported as done is
// there, membership is what was asked.
func TestFaultInjection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    scimtest.Options
		profile scim.Profile
		seed    uint64
	}{
		{"rfc7644", scimtest.Options{}, scim.Profile{}, 1},
		{"entra-legacy+put", scimtest.Options{}, scim.Profile{PatchDialect: scim.DialectEntraLegacy, UserUpdate: scim.UserUpdatePut}, 2},
		{"strict server", scimtest.Options{Options: scimserver.Options{NoPatch: true, HideMembers: true, StrictFilter: true, RejectUnknownMembers: true}},
			scim.Profile{MembershipRead: scim.MembershipByUserFilter}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFaults(t, tc.opts, tc.profile, tc.seed, 1000)
		})
	}
}

func runFaults(t *testing.T, opts scimtest.Options, profile scim.Profile, seed uint64, ops int) {
	f := newFaults(seed)
	opts.NoUniqueness, opts.Disrupt = true, f.hook
	srv := scimtest.NewServer(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	waits := &sleeps{}
	c := newClientConfig(t, scim.Config{BaseAddress: hs.URL, Profile: profile, Timeout: 50 * time.Millisecond, Sleep: waits.sleep})
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, 42))
	var (
		users  []*mUser
		groups []*mGroup
		failed = map[string]int{}
	)
	note := func(op string, err error) {
		if err == nil {
			return
		}
		if k := connector.KindOf(err); k != connector.KindTransient {
			t.Errorf("%s: %v (kind %v), want success or a transient error", op, err, k)
		}
		failed[op]++
	}
	// ensure creates or, like the engine, first matches an object whose
	// create failed before.
	ensureUser := func(u *mUser) {
		if u.id != "" {
			return
		}
		found, err := c.Find(ctx, "User", "userName", u.name)
		if note("find", err); err != nil {
			return
		}
		if len(found) > 0 {
			u.id = found[0].ID
			return
		}
		obj, err := c.Create(ctx, "User", connector.Attributes{"userName": {u.name}, "externalId": {"x-" + u.name}, "title": {"new"}})
		if note("create user", err); err == nil {
			u.id = obj.ID
		}
	}
	ensureGroup := func(g *mGroup) {
		if g.id != "" {
			return
		}
		found, err := c.Find(ctx, "Group", "externalId", "x-"+g.name)
		if note("find", err); err != nil {
			return
		}
		if len(found) > 0 {
			g.id = found[0].ID
			return
		}
		obj, err := c.Create(ctx, "Group", connector.Attributes{"displayName": {g.name}, "externalId": {"x-" + g.name}})
		if note("create group", err); err == nil {
			g.id = obj.ID
		}
	}
	pickUser := func() *mUser {
		var live []*mUser
		for _, u := range users {
			if u.id != "" && !u.deleted {
				live = append(live, u)
			}
		}
		if len(live) == 0 {
			return nil
		}
		return live[rng.IntN(len(live))]
	}
	userAttrs := []string{"title", "displayName", `emails[type eq "work"].value`, "active"}

	for i := range ops {
		x := rng.IntN(100)
		u, g := pickUser(), (*mGroup)(nil)
		if len(groups) > 0 {
			g = groups[rng.IntN(len(groups))]
		}
		switch {
		case x < 12 || u == nil:
			if len(users) < 120 {
				u = &mUser{name: fmt.Sprintf("u%03d@example.com", len(users)), fields: map[string]*field{"title": {confirmed: "new"}}}
				users = append(users, u)
			} else {
				u = users[rng.IntN(len(users))]
			}
			ensureUser(u)
		case x < 16:
			if len(groups) < 20 {
				g = &mGroup{name: fmt.Sprintf("g%02d", len(groups)), members: map[int]*field{}}
				g.display.confirmed = g.name
				groups = append(groups, g)
			}
			ensureGroup(g)
		case x < 40:
			attr := userAttrs[rng.IntN(len(userAttrs))]
			v := fmt.Sprintf("%s-%d", strings.Split(attr, "[")[0], i)
			switch {
			case attr == "active":
				v = []string{"True", "False"}[rng.IntN(2)]
			case strings.HasPrefix(attr, "emails"):
				v = fmt.Sprintf("e%d@example.com", i)
			}
			if u.fields[attr] == nil {
				u.fields[attr] = &field{}
			}
			err := c.Update(ctx, "User", u.id, connector.Attributes{attr: {v}})
			note("update user", err)
			u.fields[attr].wrote(v, err)
		case x < 45 && g != nil && g.id != "":
			v := fmt.Sprintf("%s-r%d", g.name, i)
			err := c.Update(ctx, "Group", g.id, connector.Attributes{"displayName": {v}})
			note("update group", err)
			g.display.wrote(v, err)
		case x < 60:
			found, err := c.Find(ctx, "User", "userName", strings.ToUpper(u.name))
			if note("find", err); err == nil && (len(found) != 1 || found[0].ID != u.id) {
				t.Errorf("op %d: Find(%s) = %v, want only %s", i, u.name, ids(found), u.id)
			}
		case x < 87 && g != nil && g.id != "":
			var add []string
			var idx []int
			for range 1 + rng.IntN(3) {
				if m := pickUser(); m != nil && !slices.Contains(add, m.id) {
					add, idx = append(add, m.id), append(idx, slices.Index(users, m))
				}
			}
			op, err := "add members", error(nil)
			if x < 75 {
				err = c.AddMembers(ctx, g.id, add)
			} else {
				op, err = "remove members", c.RemoveMembers(ctx, g.id, add)
			}
			note(op, err)
			for _, k := range idx {
				if g.members[k] == nil {
					g.members[k] = &field{confirmed: "out"}
				}
				g.members[k].wrote(map[bool]string{true: "in", false: "out"}[op == "add members"], err)
			}
		default:
			got, err := c.Get(ctx, "User", u.id)
			if connector.IsNotFound(err) {
				t.Errorf("op %d: Get(%s) = %v; the user exists", i, u.id, err)
			}
			note("get", err)
			if err == nil {
				for attr, fv := range u.fields {
					if v, _ := got.Attrs.Get(attr); !fv.allows(v) {
						t.Errorf("op %d: %s of %s = %q, want %q (or one of %q)", i, attr, u.name, v, fv.confirmed, fv.maybe)
					}
				}
			}
		}
	}
	// Delete a few users; a Delete must never say NotFound for a user that
	// exists, even when the first attempt's answer was lost.
	for k := 0; k < len(users); k += 8 {
		u := users[k]
		if u.id == "" {
			continue
		}
		err := c.Delete(ctx, "User", u.id)
		if connector.IsNotFound(err) {
			t.Errorf("Delete(%s) = %v; the user existed", u.name, err)
		}
		note("delete", err)
		if err == nil {
			u.deleted = true
			for _, g := range groups {
				delete(g.members, k)
			}
		}
	}

	// Faults off: finish what failed, as the engine's retries would, then
	// compare with the server.
	f.set(false)
	for _, u := range users {
		if !u.deleted {
			ensureUser(u)
		}
	}
	for _, g := range groups {
		ensureGroup(g)
	}
	checkServer(t, srv, users, groups)
	f.mu.Lock()
	t.Logf("%d ops, %d requests; faults: %v; reported failures: %v; %d waits", ops, len(srv.Requests()), f.counts, failed, len(waits.all()))
	for _, kind := range []string{"500", "500 after effect", "429", "timeout", "timeout after effect", "drop", "drop after effect", "404",
		"POST 500 after effect", "POST drop after effect"} {
		if f.counts[kind] == 0 {
			t.Errorf("no %q fault was injected; the test does not exercise it", kind)
		}
	}
	f.mu.Unlock()
	// About one request in seven fails and each is tried four times, so
	// only a handful of operations may end in an error (creates, failed
	// three times as often, most of them).
	total := 0
	for _, n := range failed {
		total += n
	}
	if total > ops/100 {
		t.Errorf("%d of %d operations failed (%v); retries should absorb almost all faults", total, ops, failed)
	}
	if !slices.Contains(waits.all(), time.Second) {
		t.Error("no wait of 1s: Retry-After was not honoured")
	}
}

func checkServer(t *testing.T, srv *scimtest.Server, users []*mUser, groups []*mGroup) {
	t.Helper()
	byName := map[string][]map[string]any{}
	for _, r := range srv.Users() {
		n := strings.ToLower(fmt.Sprint(r["userName"]))
		byName[n] = append(byName[n], r)
	}
	live := 0
	for _, u := range users {
		got := byName[u.name]
		if u.deleted {
			if len(got) != 0 {
				t.Errorf("user %s was deleted, server has %d", u.name, len(got))
			}
			continue
		}
		live++
		if len(got) != 1 {
			t.Errorf("server has %d users named %s, want 1", len(got), u.name)
			continue
		}
		if got[0]["id"] != u.id {
			t.Errorf("user %s: server id %v, client got %s", u.name, got[0]["id"], u.id)
		}
		attrs := scim.Flatten(got[0])
		for attr, f := range u.fields {
			if v, _ := attrs.Get(attr); !f.allows(v) {
				t.Errorf("user %s: %s = %q, want %q (or one of %q)", u.name, attr, v, f.confirmed, f.maybe)
			}
		}
	}
	if n := len(srv.Users()); n != live {
		t.Errorf("server has %d users, want %d", n, live)
	}
	gs := srv.Groups()
	if len(gs) != len(groups) {
		t.Errorf("server has %d groups, want %d", len(gs), len(groups))
	}
	for _, g := range groups {
		var got map[string]any
		for _, r := range gs {
			if r["id"] == g.id {
				got = r
			}
		}
		if got == nil {
			t.Errorf("group %s (%s) is missing", g.name, g.id)
			continue
		}
		attrs := scim.Flatten(got)
		if v, _ := attrs.Get("displayName"); !g.display.allows(v) {
			t.Errorf("group %s: displayName %q, want %q (or one of %q)", g.name, v, g.display.confirmed, g.display.maybe)
		}
		for k, f := range g.members {
			state := "out"
			if slices.Contains(attrs["members"], users[k].id) {
				state = "in"
			}
			if !f.allows(state) {
				t.Errorf("group %s: member %s is %s, want %s (or one of %q)", g.name, users[k].name, state, f.confirmed, f.maybe)
			}
		}
	}
	names := map[string]int{}
	for _, r := range gs {
		names[strings.ToLower(fmt.Sprint(r["displayName"]))]++
	}
	for n, count := range names {
		if count > 1 {
			t.Errorf("%d groups are named %s", count, n)
		}
	}
}

func ids(objs []connector.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

package storetest

import (
	"fmt"
	"testing"
	"time"

	"provisiond/store"
)

// change is a store.Change without what the backend chooses (Seq, At).
type change struct {
	Type, ID string
	Deleted  bool
	Resource string
}

func user(id string) change  { return change{Type: store.ChangeUser, ID: id} }
func group(id string) change { return change{Type: store.ChangeGroup, ID: id} }
func gone(c change) change   { c.Deleted = true; return c }

// of marks changes as concerning resource's jobs alone (an assignment's).
func of(resource string, cs ...change) []change {
	for i := range cs {
		cs[i].Resource = resource
	}
	return cs
}
func users(ids ...string) []change {
	var out []change
	for _, id := range ids {
		out = append(out, user(id))
	}
	return out
}

// changesAfter returns every change after seq, checking that seqs
// strictly increase and start after seq.
func changesAfter(t *testing.T, s store.Store, seq int64) []store.Change {
	t.Helper()
	cs, err := s.ListChanges(t.Context(), seq, 0)
	ok(t, err, "list changes after %d", seq)
	prev := seq
	for _, c := range cs {
		if c.Seq <= prev {
			t.Fatalf("change %+v follows seq %d: seqs must strictly increase", c, prev)
		}
		prev = c.Seq
	}
	return cs
}

func strip(cs []store.Change) []change {
	var out []change
	for _, c := range cs {
		out = append(out, change{c.ObjectType, c.ObjectID, c.Deleted, c.Resource})
	}
	return out
}

func lastSeq(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.LastChangeSeq(t.Context())
	ok(t, err, "last change seq")
	return n
}

// testChangesRecorded runs every kind of directory write (and some that
// are not directory writes) and expects exactly the changes the Store
// contract lists, write by write.
func testChangesRecorded(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n := lastSeq(t, s); n != 0 {
		t.Errorf("LastChangeSeq of an empty store = %d, want 0", n)
	}
	same(t, strip(changesAfter(t, s, 0)), nil, "changes of an empty store")

	sp := mkApp(t, s, "1")
	u2 := newUser("u2", "u2@example.com")
	g1 := newGroup("g1", "G1")
	groupAssignment := func(id, groupID string) store.AppRoleAssignment {
		a := newAssignment(id, groupID, "role-"+id, sp.ID)
		a.PrincipalType = "Group"
		return a
	}
	steps := []struct {
		what  string
		write func() error
		want  []change
	}{
		{"create user u1", func() error { return s.CreateUser(ctx, newUser("u1", "u1@example.com")) }, users("u1")},
		{"create user u2", func() error { return s.CreateUser(ctx, u2) }, users("u2")},
		{"create group g1", func() error { return s.CreateGroup(ctx, g1) }, []change{group("g1")}},
		{"create group g2", func() error { return s.CreateGroup(ctx, newGroup("g2", "G2")) }, []change{group("g2")}},
		{"update user u1", func() error {
			u := newUser("u1", "u1@example.com")
			u.Props = map[string]any{"jobTitle": "Analyst"}
			return s.UpdateUser(ctx, u)
		}, users("u1")},
		{"soft-delete user u2", func() error {
			u := u2
			u.Deleted = ptr(at(20))
			return s.UpdateUser(ctx, u)
		}, users("u2")},
		{"restore user u2", func() error { return s.UpdateUser(ctx, u2) }, users("u2")},
		{"update group g1", func() error {
			g := g1
			g.DisplayName = "Group one"
			return s.UpdateGroup(ctx, g)
		}, []change{group("g1")}},
		{"soft-delete group g1", func() error {
			g := g1
			g.Deleted = ptr(at(21))
			return s.UpdateGroup(ctx, g)
		}, []change{group("g1")}},
		{"restore group g1", func() error { return s.UpdateGroup(ctx, g1) }, []change{group("g1")}},
		{"edit user u1", func() error {
			_, err := s.EditUser(ctx, "u1", func(u *store.User) error { u.Props["city"] = "Lyon"; return nil })
			return err
		}, users("u1")},
		{"edit group g2", func() error {
			_, err := s.EditGroup(ctx, "g2", func(g *store.Group) error { g.DisplayName = "Group two"; return nil })
			return err
		}, []change{group("g2")}},
		{"add user u1 to g1", func() error { return s.AddMember(ctx, "g1", "u1") }, []change{group("g1"), user("u1")}},
		{"add group g2 to g1", func() error { return s.AddMember(ctx, "g1", "g2") }, []change{group("g1")}},
		{"add unknown id to g2", func() error { return s.AddMember(ctx, "g2", "ghost") }, []change{group("g2")}},
		{"add user u2 to g2", func() error { return s.AddMember(ctx, "g2", "u2") }, []change{group("g2"), user("u2")}},
		// An assignment's changes concern its resource's jobs alone.
		{"assign user u1", func() error { return s.CreateAppRoleAssignment(ctx, newAssignment("a1", "u1", "role", sp.ID)) },
			of(sp.ID, users("u1")...)},
		{"assign group g1", func() error { return s.CreateAppRoleAssignment(ctx, groupAssignment("a2", "g1")) },
			of(sp.ID, group("g1"), user("u1"))}, // its member users; g2 is a group
		{"remove user u1 from g1", func() error { return s.RemoveMember(ctx, "g1", "u1") }, []change{group("g1"), user("u1")}},
		{"remove group g2 from g1", func() error { return s.RemoveMember(ctx, "g1", "g2") }, []change{group("g1")}},
		{"unassign group g1", func() error { return s.DeleteAppRoleAssignment(ctx, "a2") }, of(sp.ID, group("g1"))},
		{"unassign user u1", func() error { return s.DeleteAppRoleAssignment(ctx, "a1") }, of(sp.ID, users("u1")...)},
		{"writes that are not directory writes", func() error {
			j := mkJob(t, s, sp.ID, "j1")
			if _, err := s.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error { j.Watermark = "7"; return nil }); err != nil {
				return err
			}
			if err := s.PutAnchor(ctx, newAnchor(j.ID, "u1", "t1")); err != nil {
				return err
			}
			if err := s.AddProvisioningLog(ctx, newLog("l1", j.ID, sp.ID, at(1))); err != nil {
				return err
			}
			if err := s.PutSecrets(ctx, sp.ID, []byte("sealed")); err != nil {
				return err
			}
			return s.AddOwner(ctx, sp.ID, "u1")
		}, nil},
		{"add users u1 and u2 to g1", func() error {
			if err := s.AddMember(ctx, "g1", "u2"); err != nil {
				return err
			}
			return s.AddMember(ctx, "g1", "u1")
		}, []change{group("g1"), user("u2"), group("g1"), user("u1")}},
		{"purge user u2", func() error { return s.PurgeUser(ctx, "u2") },
			[]change{gone(user("u2")), group("g1"), group("g2")}}, // the groups it was in
		{"create user u3 in g2, add g2 to g1", func() error {
			if err := s.CreateUser(ctx, newUser("u3", "u3@example.com")); err != nil {
				return err
			}
			if err := s.AddMember(ctx, "g2", "u3"); err != nil {
				return err
			}
			return s.AddMember(ctx, "g1", "g2")
		}, []change{user("u3"), group("g2"), user("u3"), group("g1")}},
		{"assign group g2", func() error { return s.CreateAppRoleAssignment(ctx, groupAssignment("a3", "g2")) },
			of(sp.ID, group("g2"), user("u3"))},
		{"purge group g2", func() error { return s.PurgeGroup(ctx, "g2") },
			// The groups it was in, then its member users.
			[]change{gone(group("g2")), group("g1"), user("u3")}},
		{"purge user u1", func() error { return s.PurgeUser(ctx, "u1") }, []change{gone(user("u1")), group("g1")}},
		{"purge group g1", func() error { return s.PurgeGroup(ctx, "g1") }, []change{gone(group("g1"))}},
	}
	var all []store.Change
	for _, st := range steps {
		before := lastSeq(t, s)
		from := time.Now().Truncate(time.Microsecond)
		ok(t, st.write(), "%s", st.what)
		to := time.Now()
		cs := changesAfter(t, s, before)
		same(t, strip(cs), st.want, "changes of %s", st.what)
		for _, c := range cs {
			if c.At.Before(from) || c.At.After(to) {
				t.Errorf("%s: change %+v recorded at %v, not while writing (%v to %v)", st.what, c, c.At, from, to)
			}
		}
		if len(cs) > 0 {
			if n := lastSeq(t, s); n != cs[len(cs)-1].Seq {
				t.Errorf("after %s: LastChangeSeq = %d, want %d", st.what, n, cs[len(cs)-1].Seq)
			}
		}
		all = append(all, cs...)
	}
	same(t, changesAfter(t, s, 0), all, "the whole feed")
}

// testChangesFailedWrites: a write that fails records nothing and signals
// nothing.
func testChangesFailedWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "create u1")
	ok(t, s.CreateUser(ctx, newUser("u2", "u2@example.com")), "create u2")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "G1")), "create g1")
	ok(t, s.AddMember(ctx, "g1", "u1"), "add u1 to g1")
	ok(t, s.CreateAppRoleAssignment(ctx, newAssignment("a1", "u1", "role", sp.ID)), "assign u1")
	before := lastSeq(t, s)
	ch, stop := s.Subscribe()
	defer stop()

	for _, tt := range []struct {
		what  string
		write func() error
		want  error
	}{
		{"create a user with a taken id", func() error { return s.CreateUser(ctx, newUser("u1", "new@example.com")) }, store.ErrConflict},
		{"create a user with a taken upn", func() error { return s.CreateUser(ctx, newUser("u3", "U1@example.com")) }, store.ErrConflict},
		{"update a user to a taken upn", func() error { return s.UpdateUser(ctx, newUser("u2", "u1@example.com")) }, store.ErrConflict},
		{"update a missing user", func() error { return s.UpdateUser(ctx, newUser("nope", "nope@example.com")) }, store.ErrNotFound},
		{"purge a missing user", func() error { return s.PurgeUser(ctx, "nope") }, store.ErrNotFound},
		{"create a group with a taken id", func() error { return s.CreateGroup(ctx, newGroup("g1", "again")) }, store.ErrConflict},
		{"update a missing group", func() error { return s.UpdateGroup(ctx, newGroup("nope", "x")) }, store.ErrNotFound},
		{"purge a missing group", func() error { return s.PurgeGroup(ctx, "nope") }, store.ErrNotFound},
		{"add a member twice", func() error { return s.AddMember(ctx, "g1", "u1") }, store.ErrConflict},
		{"add a member to a missing group", func() error { return s.AddMember(ctx, "nope", "u1") }, store.ErrNotFound},
		{"remove a non-member", func() error { return s.RemoveMember(ctx, "g1", "u2") }, store.ErrNotFound},
		{"assign twice", func() error { return s.CreateAppRoleAssignment(ctx, newAssignment("a2", "u1", "role", sp.ID)) }, store.ErrConflict},
		{"assign to a missing resource", func() error { return s.CreateAppRoleAssignment(ctx, newAssignment("a3", "u1", "role", "nope")) }, store.ErrNotFound},
		{"delete a missing assignment", func() error { return s.DeleteAppRoleAssignment(ctx, "nope") }, store.ErrNotFound},
	} {
		isErr(t, tt.write(), tt.want, "%s", tt.what)
		same(t, strip(changesAfter(t, s, before)), nil, "changes after failing to %s", tt.what)
		if n := lastSeq(t, s); n != before {
			t.Errorf("after failing to %s: LastChangeSeq = %d, want %d", tt.what, n, before)
		}
		select {
		case <-ch:
			t.Errorf("failing to %s signalled a change", tt.what)
		default:
		}
	}
}

// testListChangesPaging pages through the feed.
func testListChangesPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 7 {
		id := fmt.Sprintf("u%d", i)
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
	}
	all := changesAfter(t, s, 0)
	if len(all) != 7 {
		t.Fatalf("%d changes, want 7", len(all))
	}
	list := func(after int64, limit int) []store.Change {
		t.Helper()
		cs, err := s.ListChanges(ctx, after, limit)
		ok(t, err, "list changes after %d, limit %d", after, limit)
		return cs
	}
	same(t, list(0, 3), all[:3], "first page")
	same(t, list(all[2].Seq, 3), all[3:6], "second page")
	same(t, list(all[5].Seq, 3), all[6:], "last page")
	same(t, list(all[6].Seq, 3), nil, "past the end")
	same(t, list(all[6].Seq+100, 3), nil, "far past the end")
	same(t, list(all[1].Seq, 0), all[2:], "no limit")
	same(t, list(all[1].Seq, 100), all[2:], "a limit beyond the end")

	// Walking the pages yields every change once, in order.
	var walked []store.Change
	after := int64(0)
	for range 10 {
		page := list(after, 2)
		if len(page) == 0 {
			break
		}
		walked = append(walked, page...)
		after = page[len(page)-1].Seq
	}
	same(t, walked, all, "paged walk")

	// What ListChanges returned is a copy.
	cs := list(0, 1)
	cs[0].ObjectID = "changed"
	same(t, list(0, 1), all[:1], "changes after changing a returned copy")
}

// testPruneChanges prunes the feed: what is pruned is gone, a reader
// behind the horizon is told so, and seqs are never reused.
func testPruneChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.PruneChanges(ctx, 10), "prune an empty feed")
	for i := range 5 {
		id := fmt.Sprintf("u%d", i)
		ok(t, s.CreateUser(ctx, newUser(id, id+"@example.com")), "create %s", id)
	}
	all := changesAfter(t, s, 0)
	if len(all) != 5 {
		t.Fatalf("%d changes, want 5 (pruning an empty feed must not hold back new changes)", len(all))
	}
	last := all[4].Seq

	ok(t, s.PruneChanges(ctx, all[2].Seq), "prune below the third change")
	same(t, changesAfter(t, s, all[1].Seq), all[2:], "changes after the horizon")
	for _, after := range []int64{0, all[0].Seq} {
		_, err := s.ListChanges(ctx, after, 0)
		isErr(t, err, store.ErrChangesPruned, "list changes after %d, pruned", after)
	}
	if n := lastSeq(t, s); n != last {
		t.Errorf("LastChangeSeq after a prune = %d, want %d", n, last)
	}

	// The horizon never moves back.
	ok(t, s.PruneChanges(ctx, all[1].Seq), "prune below an earlier seq")
	_, err := s.ListChanges(ctx, all[0].Seq, 0)
	isErr(t, err, store.ErrChangesPruned, "list changes after an earlier prune")
	same(t, changesAfter(t, s, all[1].Seq), all[2:], "changes after the horizon")

	// Pruning beyond the newest change prunes every change, and nothing
	// recorded later.
	ok(t, s.PruneChanges(ctx, last+100), "prune everything")
	same(t, changesAfter(t, s, last), nil, "changes after the last, all pruned")
	_, err = s.ListChanges(ctx, all[3].Seq, 0)
	isErr(t, err, store.ErrChangesPruned, "list changes after the last but one, all pruned")
	if n := lastSeq(t, s); n != last {
		t.Errorf("LastChangeSeq after pruning everything = %d, want %d", n, last)
	}
	ok(t, s.CreateUser(ctx, newUser("u9", "u9@example.com")), "create u9")
	cs := changesAfter(t, s, last)
	same(t, strip(cs), users("u9"), "changes after pruning everything")
	if n := lastSeq(t, s); n != cs[0].Seq {
		t.Errorf("LastChangeSeq = %d, want %d", n, cs[0].Seq)
	}
}

// testSubscribe: every kind of directory write signals every subscriber
// before it returns; signals coalesce; reads and other writes do not
// signal; a cancelled subscription gets nothing more.
func testSubscribe(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	ch1, stop1 := s.Subscribe()
	ch2, stop2 := s.Subscribe()
	defer stop2()
	signalled := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for _, w := range []struct {
		what  string
		write func() error
	}{
		{"create user", func() error { return s.CreateUser(ctx, newUser("u1", "u1@example.com")) }},
		{"update user", func() error { return s.UpdateUser(ctx, newUser("u1", "u1@contoso.com")) }},
		{"create group", func() error { return s.CreateGroup(ctx, newGroup("g1", "G1")) }},
		{"update group", func() error { return s.UpdateGroup(ctx, newGroup("g1", "Group")) }},
		{"add member", func() error { return s.AddMember(ctx, "g1", "u1") }},
		{"assign", func() error { return s.CreateAppRoleAssignment(ctx, newAssignment("a1", "u1", "role", sp.ID)) }},
		{"unassign", func() error { return s.DeleteAppRoleAssignment(ctx, "a1") }},
		{"remove member", func() error { return s.RemoveMember(ctx, "g1", "u1") }},
		{"purge user", func() error { return s.PurgeUser(ctx, "u1") }},
		{"purge group", func() error { return s.PurgeGroup(ctx, "g1") }},
	} {
		ok(t, w.write(), "%s", w.what)
		if !signalled(ch1) || !signalled(ch2) {
			t.Errorf("%s did not signal both subscribers", w.what)
		}
	}

	// Signals coalesce: two writes, one signal.
	ok(t, s.CreateUser(ctx, newUser("u2", "u2@example.com")), "create u2")
	ok(t, s.CreateUser(ctx, newUser("u3", "u3@example.com")), "create u3")
	if !signalled(ch1) || signalled(ch1) {
		t.Error("two writes: want exactly one pending signal")
	}
	signalled(ch2)

	// Reads, job writes and pruning are not directory writes.
	_, err := s.GetUser(ctx, "u2")
	ok(t, err, "get user")
	_, err = s.ListChanges(ctx, 0, 0)
	ok(t, err, "list changes")
	mkJob(t, s, sp.ID, "j1")
	ok(t, s.PruneChanges(ctx, 1), "prune")
	if signalled(ch1) || signalled(ch2) {
		t.Error("reads, a job write or a prune signalled a change")
	}

	stop1()
	stop1() // twice is fine
	ok(t, s.CreateUser(ctx, newUser("u4", "u4@example.com")), "create u4")
	if signalled(ch1) {
		t.Error("a cancelled subscription was signalled")
	}
	if !signalled(ch2) {
		t.Error("the other subscription was not signalled")
	}

	// A subscriber waiting in another goroutine wakes up.
	woke := make(chan struct{})
	go func() {
		<-ch2
		close(woke)
	}()
	ok(t, s.CreateUser(ctx, newUser("u5", "u5@example.com")), "create u5")
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting subscriber was not woken by a write within 10s")
	}
}

// testJobWatermark: the watermark is stored by CreateJob, kept by updates
// that leave it alone, and changed by those that set it.
func testJobWatermark(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	j := newJob(sp.ID, "j1")
	j.Watermark = ""
	ok(t, s.CreateJob(ctx, j), "create job without a watermark")
	got, err := s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job")
	same(t, got.Watermark, "", "watermark of a new job")

	got, err = s.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error { j.Watermark = "42"; return nil })
	ok(t, err, "set the watermark")
	same(t, got.Watermark, "42", "watermark UpdateJob returns")
	got, err = s.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error { j.Status.Code = store.StatusActive; return nil })
	ok(t, err, "update the status")
	same(t, got.Watermark, "42", "watermark after an update that leaves it alone")
	list, err := s.ListJobs(ctx, sp.ID)
	ok(t, err, "list jobs")
	if len(list) != 1 || list[0].Watermark != "42" {
		t.Errorf("ListJobs = %+v, want one job with watermark 42", list)
	}

	// Opaque: any string, such as an LDAP cookie.
	const cookie = "rid=001,csn=20250304050607.123456Z#000000#000#000000 ✓"
	_, err = s.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error { j.Watermark = cookie; return nil })
	ok(t, err, "set a cookie watermark")
	got, err = s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job")
	same(t, got.Watermark, cookie, "cookie watermark")
}

package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"provisiond/store"
)

// testTimesRoundTrip stores times with nanoseconds in a zone east of UTC and
// expects them back in UTC, equal to at least the microsecond.
func testTimesRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	when := time.Date(2031, 12, 31, 23, 59, 58, 987654321, zone)
	later := when.Add(36*time.Hour + 1500*time.Nanosecond)

	check := func(what string, got, want time.Time) {
		t.Helper()
		if got.Location() != time.UTC {
			t.Errorf("%s: location %v, want UTC", what, got.Location())
		}
		if d := got.Sub(want).Abs(); d >= time.Microsecond {
			t.Errorf("%s = %v, want %v (off by %v)", what, got, want.UTC(), d)
		}
	}

	u := newUser("u1", "u1@example.com")
	u.Created, u.Deleted = when, &later
	ok(t, s.CreateUser(ctx, u), "create user")
	gu, err := s.GetUser(ctx, u.ID)
	ok(t, err, "get user")
	check("user created", gu.Created, when)
	if gu.Deleted == nil {
		t.Fatal("user deleted: nil")
	}
	check("user deleted", *gu.Deleted, later)

	g := newGroup("g1", "g1")
	g.Created = when
	ok(t, s.CreateGroup(ctx, g), "create group")
	gg, err := s.GetGroup(ctx, g.ID)
	ok(t, err, "get group")
	check("group created", gg.Created, when)

	app, sp := newApp("1")
	app.Created, sp.Created = when, later
	ok(t, s.CreateServicePrincipal(ctx, app, sp), "create service principal")
	gsp, err := s.GetServicePrincipal(ctx, sp.ID)
	ok(t, err, "get service principal")
	check("service principal created", gsp.Created, later)
	gapp, err := s.GetApplication(ctx, app.ID)
	ok(t, err, "get application")
	check("application created", gapp.Created, when)

	a := newAssignment("a1", "u1", "r", sp.ID)
	a.Created = when
	ok(t, s.CreateAppRoleAssignment(ctx, a), "create assignment")
	ga, err := s.GetAppRoleAssignment(ctx, a.ID)
	ok(t, err, "get assignment")
	check("assignment created", ga.Created, when)

	j := newJob(sp.ID, "j1")
	j.Created, j.Updated = when, later
	j.Schedule.Expiration = &later
	ok(t, s.CreateJob(ctx, j), "create job")
	gj, err := s.GetJob(ctx, sp.ID, j.ID)
	ok(t, err, "get job")
	check("job created", gj.Created, when)
	check("job updated", gj.Updated, later)
	if gj.Schedule.Expiration == nil {
		t.Fatal("job schedule expiration: nil")
	}
	check("job schedule expiration", *gj.Schedule.Expiration, later)
	gj, err = s.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error {
		j.Updated = when
		return nil
	})
	ok(t, err, "update job")
	check("job updated (as UpdateJob returns it)", gj.Updated, when)

	an := newAnchor(j.ID, "u1", "t1")
	an.Updated = when
	ok(t, s.PutAnchor(ctx, an), "put anchor")
	gan, err := s.GetAnchor(ctx, j.ID, an.SourceType, an.SourceID)
	ok(t, err, "get anchor")
	check("anchor updated", gan.Updated, when)

	ok(t, s.AddProvisioningLog(ctx, newLog("l1", j.ID, sp.ID, when)), "add log")
	// One microsecond later sorts first.
	ok(t, s.AddProvisioningLog(ctx, newLog("l0", j.ID, sp.ID, when.Add(time.Microsecond))), "add log")
	logs, err := s.ListProvisioningLogs(ctx, j.ID, store.ListOptions{})
	ok(t, err, "list logs")
	if len(logs) != 2 || logs[0].ID != "l0" {
		t.Fatalf("logs = %+v, want l0 (1µs newer) first", logs)
	}
	check("log activity", logs[1].Activity, when)

	// The zero time round-trips too.
	z := newUser("zero", "zero@example.com")
	z.Created = time.Time{}
	ok(t, s.CreateUser(ctx, z), "create user with zero time")
	gz, err := s.GetUser(ctx, z.ID)
	ok(t, err, "get user with zero time")
	if !gz.Created.IsZero() {
		t.Errorf("zero created = %v, want the zero time", gz.Created)
	}
}

// testConcurrentWriters runs writers in parallel; none may fail (SQLite's
// SQLITE_BUSY included) and every write must be visible afterwards.
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	const workers, perWorker = 8, 50
	sp := mkApp(t, s, "1")
	j := mkJob(t, s, sp.ID, "j1")
	ok(t, s.CreateGroup(ctx, newGroup("g", "g")), "create group")

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("u-%d-%03d", w, i)
				u := newUser(id, id+"@example.com")
				if err := s.CreateUser(ctx, u); err != nil {
					errs <- fmt.Errorf("create %s: %w", id, err)
					return
				}
				// Read-then-write from many goroutines at once.
				got, err := s.GetUser(ctx, id)
				if err != nil {
					errs <- fmt.Errorf("get %s: %w", id, err)
					return
				}
				got.Props["jobTitle"] = "updated"
				got.UserPrincipalName = id + "@contoso.com"
				if err := s.UpdateUser(ctx, got); err != nil {
					errs <- fmt.Errorf("update %s: %w", id, err)
					return
				}
				if err := s.AddMember(ctx, "g", id); err != nil {
					errs <- fmt.Errorf("add member %s: %w", id, err)
					return
				}
				a := newAnchor(j.ID, id, "t-"+id)
				if err := s.PutAnchor(ctx, a); err != nil {
					errs <- fmt.Errorf("put anchor %s: %w", id, err)
					return
				}
				if err := s.AddProvisioningLog(ctx, newLog("log-"+id, j.ID, sp.ID, at(i))); err != nil {
					errs <- fmt.Errorf("add log %s: %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	us, err := s.ListUsers(ctx, store.ListOptions{})
	ok(t, err, "list users")
	if len(us) != workers*perWorker {
		t.Fatalf("%d users, want %d", len(us), workers*perWorker)
	}
	for _, u := range us {
		if u.Props["jobTitle"] != "updated" || u.UserPrincipalName != u.ID+"@contoso.com" {
			t.Fatalf("user %s not updated: %+v", u.ID, u)
		}
	}
	ms, err := s.ListMembers(ctx, "g")
	ok(t, err, "list members")
	anchors, err := s.ListAnchors(ctx, j.ID)
	ok(t, err, "list anchors")
	logs, err := s.ListProvisioningLogs(ctx, j.ID, store.ListOptions{})
	ok(t, err, "list logs")
	if len(ms) != workers*perWorker || len(anchors) != workers*perWorker || len(logs) != workers*perWorker {
		t.Errorf("members %d, anchors %d, logs %d; want %d each", len(ms), len(anchors), len(logs), workers*perWorker)
	}

	// Every write recorded its changes, in the order each worker wrote:
	// the user created, updated, added to g (g, then the user).
	perUser := map[string][]change{}
	for _, c := range changesAfter(t, s, 0) { // checks that seqs strictly increase
		if c.ObjectType == store.ChangeUser {
			perUser[c.ObjectID] = append(perUser[c.ObjectID], change{c.ObjectType, c.ObjectID, c.Deleted, c.Resource})
		}
	}
	if len(perUser) != workers*perWorker {
		t.Errorf("changes name %d users, want %d", len(perUser), workers*perWorker)
	}
	for id, cs := range perUser {
		same(t, cs, users(id, id, id), "changes of user %s", id)
	}
}

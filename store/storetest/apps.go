package storetest

import (
	"testing"

	"provisiond/store"
)

func testServicePrincipalCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	app, sp := newApp("1")
	ok(t, s.CreateServicePrincipal(ctx, app, sp), "create service principal")

	got, err := s.GetServicePrincipal(ctx, sp.ID)
	ok(t, err, "get service principal")
	same(t, got, sp, "service principal")
	got, err = s.GetServicePrincipalByAppID(ctx, sp.AppID)
	ok(t, err, "get service principal by app id")
	same(t, got, sp, "service principal by app id")
	gotApp, err := s.GetApplication(ctx, app.ID)
	ok(t, err, "get application")
	same(t, gotApp, app, "application")

	_, err = s.GetServicePrincipal(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get missing service principal")
	_, err = s.GetServicePrincipalByAppID(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get service principal by missing app id")
	_, err = s.GetApplication(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get missing application")
	// The lookups are by their own key only.
	_, err = s.GetServicePrincipal(ctx, app.ID)
	isErr(t, err, store.ErrNotFound, "get service principal by application id")
	_, err = s.GetServicePrincipalByAppID(ctx, sp.ID)
	isErr(t, err, store.ErrNotFound, "get service principal by app id = its object id")
}

func testServicePrincipalAtomicCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	app, sp := newApp("1")
	ok(t, s.CreateServicePrincipal(ctx, app, sp), "create service principal")

	// Each case reuses one key of the existing pair; the call must fail
	// with ErrConflict and store neither of its two records.
	tests := []struct {
		name    string
		app     store.Application
		sp      store.ServicePrincipal
		freeApp bool // the case's application id is new, so must stay absent
		freeSP  bool
	}{
		{"sp id taken", store.Application{ID: "app-2", AppID: "appid-2"},
			store.ServicePrincipal{ID: "sp-1", AppID: "appid-2", ApplicationID: "app-2"}, true, false},
		{"application id taken", store.Application{ID: "app-1", AppID: "appid-2"},
			store.ServicePrincipal{ID: "sp-2", AppID: "appid-2", ApplicationID: "app-1"}, false, true},
		{"application appId taken", store.Application{ID: "app-2", AppID: "appid-1"},
			store.ServicePrincipal{ID: "sp-2", AppID: "appid-2", ApplicationID: "app-2"}, true, true},
		{"sp appId taken", store.Application{ID: "app-2", AppID: "appid-2"},
			store.ServicePrincipal{ID: "sp-2", AppID: "appid-1", ApplicationID: "app-2"}, true, true},
	}
	for _, tt := range tests {
		isErr(t, s.CreateServicePrincipal(ctx, tt.app, tt.sp), store.ErrConflict, "%s: create", tt.name)
		if tt.freeSP {
			_, err := s.GetServicePrincipal(ctx, tt.sp.ID)
			isErr(t, err, store.ErrNotFound, "%s: service principal of a failed create", tt.name)
		}
		if tt.freeApp {
			_, err := s.GetApplication(ctx, tt.app.ID)
			isErr(t, err, store.ErrNotFound, "%s: application of a failed create", tt.name)
		}
		_, err := s.GetServicePrincipalByAppID(ctx, "appid-2")
		isErr(t, err, store.ErrNotFound, "%s: appId of a failed create", tt.name)
	}

	// The original pair is untouched.
	got, err := s.GetServicePrincipal(ctx, sp.ID)
	ok(t, err, "get service principal")
	same(t, got, sp, "service principal")
	gotApp, err := s.GetApplication(ctx, app.ID)
	ok(t, err, "get application")
	same(t, gotApp, app, "application")
	list, err := s.ListServicePrincipals(ctx, store.ListOptions{})
	ok(t, err, "list service principals")
	same(t, list, []store.ServicePrincipal{sp}, "service principals")

	// A fresh pair still goes in.
	mkApp(t, s, "2")
}

func testServicePrincipalList(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []store.ServicePrincipal
	for _, n := range []string{"3", "1", "4", "2"} {
		mkApp(t, s, n)
	}
	for _, n := range []string{"1", "2", "3", "4"} {
		_, sp := newApp(n)
		want = append(want, sp)
	}
	got, err := s.ListServicePrincipals(ctx, store.ListOptions{})
	ok(t, err, "list service principals")
	same(t, got, want, "service principals")
	got, err = s.ListServicePrincipals(ctx, store.ListOptions{Limit: 2, After: "sp-1"})
	ok(t, err, "list service principals page")
	same(t, got, want[1:3], "service principals page")
	got, err = s.ListServicePrincipals(ctx, store.ListOptions{After: "sp-4"})
	ok(t, err, "list service principals past the end")
	same(t, got, nil, "service principals past the end")
}

func testDeleteServicePrincipalCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")), "create u1")
	ok(t, s.CreateGroup(ctx, newGroup("g1", "g1")), "create g1")

	// Two service principals with the same kinds of dependents; only the
	// first is deleted.
	type fixture struct {
		app     store.Application
		sp      store.ServicePrincipal
		jobs    []store.Job
		assigns []store.AppRoleAssignment
		anchors []store.Anchor
		logs    []store.ProvisioningLog
	}
	var fx [2]fixture
	for i, n := range []string{"1", "2"} {
		f := &fx[i]
		f.app, f.sp = newApp(n)
		ok(t, s.CreateServicePrincipal(ctx, f.app, f.sp), "create sp %s", n)
		ok(t, s.AddOwner(ctx, f.sp.ID, "u1"), "add owner to sp %s", n)
		ok(t, s.PutSecrets(ctx, f.sp.ID, []byte("sealed-"+n)), "put secrets of sp %s", n)
		for _, a := range []store.AppRoleAssignment{
			newAssignment("a"+n+"1", "u1", "role", f.sp.ID),
			{ID: "a" + n + "2", AppRoleID: "role", PrincipalID: "g1", PrincipalType: "Group", ResourceID: f.sp.ID, Created: at(1)},
		} {
			ok(t, s.CreateAppRoleAssignment(ctx, a), "assign on sp %s", n)
			f.assigns = append(f.assigns, a)
		}
		for _, jn := range []string{"a", "b"} {
			j := mkJob(t, s, f.sp.ID, "job-"+n+jn)
			f.jobs = append(f.jobs, j)
			a := newAnchor(j.ID, "u1", "t-"+n+jn)
			ok(t, s.PutAnchor(ctx, a), "put anchor")
			f.anchors = append(f.anchors, a)
			l := newLog("log-"+n+jn, j.ID, f.sp.ID, at(100))
			ok(t, s.AddProvisioningLog(ctx, l), "add log")
			f.logs = append(f.logs, l)
		}
	}

	gone, kept := fx[0], fx[1]
	ok(t, s.DeleteServicePrincipal(ctx, gone.sp.ID), "delete service principal")

	_, err := s.GetServicePrincipal(ctx, gone.sp.ID)
	isErr(t, err, store.ErrNotFound, "get deleted service principal")
	_, err = s.GetServicePrincipalByAppID(ctx, gone.sp.AppID)
	isErr(t, err, store.ErrNotFound, "get deleted service principal by app id")
	_, err = s.GetApplication(ctx, gone.app.ID)
	isErr(t, err, store.ErrNotFound, "get application of deleted service principal")
	owners, err := s.ListOwners(ctx, gone.sp.ID)
	ok(t, err, "list owners of deleted service principal")
	same(t, owners, nil, "owners of deleted service principal")
	sec, err := s.GetSecrets(ctx, gone.sp.ID)
	ok(t, err, "get secrets of deleted service principal")
	same(t, sec, nil, "secrets of deleted service principal")
	as, err := s.ListAppRoleAssignments(ctx, gone.sp.ID)
	ok(t, err, "list assignments of deleted service principal")
	same(t, as, nil, "assignments of deleted service principal")
	for _, a := range gone.assigns {
		_, err := s.GetAppRoleAssignment(ctx, a.ID)
		isErr(t, err, store.ErrNotFound, "get assignment %s of deleted service principal", a.ID)
	}
	js, err := s.ListJobs(ctx, gone.sp.ID)
	ok(t, err, "list jobs of deleted service principal")
	same(t, js, nil, "jobs of deleted service principal")
	for i, j := range gone.jobs {
		_, err := s.GetJob(ctx, gone.sp.ID, j.ID)
		isErr(t, err, store.ErrNotFound, "get job %s of deleted service principal", j.ID)
		anchors, err := s.ListAnchors(ctx, j.ID)
		ok(t, err, "list anchors of deleted job")
		same(t, anchors, nil, "anchors of deleted job %s", j.ID)
		logs, err := s.ListProvisioningLogs(ctx, j.ID, store.ListOptions{})
		ok(t, err, "list logs of deleted job")
		same(t, logs, gone.logs[i:i+1], "logs of deleted job %s, which outlive it", j.ID)
	}

	// The other service principal keeps everything; the principals keep
	// their other assignments.
	got, err := s.GetServicePrincipal(ctx, kept.sp.ID)
	ok(t, err, "get kept service principal")
	same(t, got, kept.sp, "kept service principal")
	gotApp, err := s.GetApplication(ctx, kept.app.ID)
	ok(t, err, "get kept application")
	same(t, gotApp, kept.app, "kept application")
	owners, err = s.ListOwners(ctx, kept.sp.ID)
	ok(t, err, "list kept owners")
	same(t, owners, []string{"u1"}, "kept owners")
	sec, err = s.GetSecrets(ctx, kept.sp.ID)
	ok(t, err, "get kept secrets")
	same(t, sec, []byte("sealed-2"), "kept secrets")
	as, err = s.ListAppRoleAssignments(ctx, kept.sp.ID)
	ok(t, err, "list kept assignments")
	same(t, as, kept.assigns, "kept assignments")
	as, err = s.ListAppRoleAssignmentsOf(ctx, "u1")
	ok(t, err, "list assignments of u1")
	same(t, as, kept.assigns[:1], "assignments of u1")
	js, err = s.ListJobs(ctx, kept.sp.ID)
	ok(t, err, "list kept jobs")
	same(t, js, kept.jobs, "kept jobs")
	anchors, err := s.ListAnchors(ctx, kept.jobs[0].ID)
	ok(t, err, "list kept anchors")
	same(t, anchors, kept.anchors[:1], "kept anchors")
	logs, err := s.ListProvisioningLogs(ctx, "", store.ListOptions{})
	ok(t, err, "list all logs")
	same(t, logs, []store.ProvisioningLog{kept.logs[1], kept.logs[0], gone.logs[1], gone.logs[0]}, "every log, kept")

	isErr(t, s.DeleteServicePrincipal(ctx, gone.sp.ID), store.ErrNotFound, "delete deleted service principal")

	// Every key of the deleted pair is free again.
	ok(t, s.CreateServicePrincipal(ctx, gone.app, gone.sp), "recreate service principal")
	js, err = s.ListJobs(ctx, gone.sp.ID)
	ok(t, err, "list jobs of recreated service principal")
	same(t, js, nil, "jobs of recreated service principal")
	mkJob(t, s, gone.sp.ID, gone.jobs[0].ID)
}

func testOwners(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")
	for _, o := range []string{"u3", "u1", "u2"} {
		ok(t, s.AddOwner(ctx, sp.ID, o), "add owner %s", o)
	}
	ok(t, s.AddOwner(ctx, sp2.ID, "u1"), "add owner to sp2")
	isErr(t, s.AddOwner(ctx, sp.ID, "u1"), store.ErrConflict, "add an owner twice")
	isErr(t, s.AddOwner(ctx, "nope", "u1"), store.ErrNotFound, "add an owner to a missing service principal")

	owners, err := s.ListOwners(ctx, sp.ID)
	ok(t, err, "list owners")
	same(t, owners, []string{"u1", "u2", "u3"}, "owners")
	owners, err = s.ListOwners(ctx, sp2.ID)
	ok(t, err, "list owners of sp2")
	same(t, owners, []string{"u1"}, "owners of sp2")

	ok(t, s.RemoveOwner(ctx, sp.ID, "u2"), "remove owner u2")
	isErr(t, s.RemoveOwner(ctx, sp.ID, "u2"), store.ErrNotFound, "remove an owner twice")
	isErr(t, s.RemoveOwner(ctx, sp2.ID, "u3"), store.ErrNotFound, "remove another's owner")
	isErr(t, s.RemoveOwner(ctx, "nope", "u1"), store.ErrNotFound, "remove an owner of a missing service principal")
	owners, err = s.ListOwners(ctx, sp.ID)
	ok(t, err, "list owners after a removal")
	same(t, owners, []string{"u1", "u3"}, "owners after a removal")
	owners, err = s.ListOwners(ctx, sp2.ID)
	ok(t, err, "list owners of sp2 after a removal")
	same(t, owners, []string{"u1"}, "owners of sp2 after a removal")
}

func testAppRoleAssignments(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp1 := mkApp(t, s, "1")
	sp2 := mkApp(t, s, "2")

	a1 := newAssignment("a3", "u1", "role-a", sp1.ID)
	a2 := newAssignment("a1", "u2", "role-a", sp1.ID) // same role, other principal
	a3 := newAssignment("a2", "u1", "role-b", sp1.ID) // same principal, other role
	a4 := newAssignment("a0", "u1", "role-a", sp2.ID) // same principal and role, other resource
	g := store.AppRoleAssignment{
		ID: "a4", AppRoleID: "role-a", PrincipalID: "g1", PrincipalType: "Group", ResourceID: sp2.ID, Created: at(9),
	}
	for _, a := range []store.AppRoleAssignment{a1, a2, a3, a4, g} {
		ok(t, s.CreateAppRoleAssignment(ctx, a), "create assignment %s", a.ID)
	}
	got, err := s.GetAppRoleAssignment(ctx, "a3")
	ok(t, err, "get assignment")
	same(t, got, a1, "assignment")
	got, err = s.GetAppRoleAssignment(ctx, "a4")
	ok(t, err, "get group assignment")
	same(t, got, g, "group assignment")
	_, err = s.GetAppRoleAssignment(ctx, "nope")
	isErr(t, err, store.ErrNotFound, "get missing assignment")

	isErr(t, s.CreateAppRoleAssignment(ctx, newAssignment("a9", "u1", "role-a", sp1.ID)), store.ErrConflict,
		"create the same principal, role and resource again")
	isErr(t, s.CreateAppRoleAssignment(ctx, newAssignment("a3", "u9", "role-z", sp2.ID)), store.ErrConflict,
		"create an assignment with a taken id")
	isErr(t, s.CreateAppRoleAssignment(ctx, newAssignment("a8", "u1", "role-a", "nope")), store.ErrNotFound,
		"create an assignment to a missing resource")
	for _, id := range []string{"a8", "a9"} {
		_, err := s.GetAppRoleAssignment(ctx, id)
		isErr(t, err, store.ErrNotFound, "get assignment %s of a failed create", id)
	}

	list, err := s.ListAppRoleAssignments(ctx, sp1.ID)
	ok(t, err, "list assignments of sp1")
	same(t, list, []store.AppRoleAssignment{a2, a3, a1}, "assignments of sp1")
	list, err = s.ListAppRoleAssignments(ctx, sp2.ID)
	ok(t, err, "list assignments of sp2")
	same(t, list, []store.AppRoleAssignment{a4, g}, "assignments of sp2")
	list, err = s.ListAppRoleAssignmentsOf(ctx, "u1")
	ok(t, err, "list assignments of u1")
	same(t, list, []store.AppRoleAssignment{a4, a3, a1}, "assignments of u1")
	list, err = s.ListAppRoleAssignmentsOf(ctx, "g1")
	ok(t, err, "list assignments of g1")
	same(t, list, []store.AppRoleAssignment{g}, "assignments of g1")
	list, err = s.ListAppRoleAssignmentsOf(ctx, "nobody")
	ok(t, err, "list assignments of nobody")
	same(t, list, nil, "assignments of nobody")

	ok(t, s.DeleteAppRoleAssignment(ctx, "a3"), "delete assignment")
	_, err = s.GetAppRoleAssignment(ctx, "a3")
	isErr(t, err, store.ErrNotFound, "get deleted assignment")
	isErr(t, s.DeleteAppRoleAssignment(ctx, "a3"), store.ErrNotFound, "delete deleted assignment")
	list, err = s.ListAppRoleAssignmentsOf(ctx, "u1")
	ok(t, err, "list assignments of u1")
	same(t, list, []store.AppRoleAssignment{a4, a3}, "assignments of u1 after delete")

	// The grant can be made again once deleted.
	ok(t, s.CreateAppRoleAssignment(ctx, newAssignment("a5", "u1", "role-a", sp1.ID)), "re-create grant")
}

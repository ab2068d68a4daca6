package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"provisiond/store"
)

// Run runs the conformance suite. newStore is called once per subtest and
// must return an empty store, closed by a t.Cleanup it registers.
//
// Besides the documented contract, the suite expects what the API layer
// relies on:
//   - updates, deletes and purges of an absent record (UpdateGroup,
//     UpdateJob, PurgeUser, PurgeGroup, DeleteServicePrincipal,
//     DeleteAppRoleAssignment, DeleteJob, DeleteAnchor) return ErrNotFound;
//   - GetGroup, GetApplication, GetAppRoleAssignment, GetJob and GetAnchor
//     return ErrNotFound when absent;
//   - AddProvisioningLog returns ErrConflict for a taken id;
//   - ListAnchors, ListEscrows and ListStagedDeletes are ordered by
//     SourceType, then SourceID;
//   - list results compare equal whether empty lists are nil or not, and
//     the same holds for Props maps, job documents and the lists in a
//     job's Status.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"UserCreateGet", testUserCreateGet},
		{"UserUPNUnique", testUserUPNUnique},
		{"UserUpdate", testUserUpdate},
		{"EditUserAndGroup", testEditUserAndGroup},
		{"ConcurrentEdits", testConcurrentEdits},
		{"UserSoftDelete", testUserSoftDelete},
		{"UserProps", testUserProps},
		{"UserPaging", testUserPaging},
		{"PurgeUser", testPurgeUser},
		{"GroupCreateGetUpdate", testGroupCreateGetUpdate},
		{"GroupSoftDeleteAndPaging", testGroupSoftDeleteAndPaging},
		{"PurgeGroup", testPurgeGroup},
		{"Members", testMembers},
		{"ServicePrincipalCreateGet", testServicePrincipalCreateGet},
		{"ServicePrincipalAtomicCreate", testServicePrincipalAtomicCreate},
		{"ServicePrincipalList", testServicePrincipalList},
		{"DeleteServicePrincipalCascades", testDeleteServicePrincipalCascades},
		{"Owners", testOwners},
		{"AppRoleAssignments", testAppRoleAssignments},
		{"Jobs", testJobs},
		{"UpdateJob", testUpdateJob},
		{"UpdateJobErrors", testUpdateJobErrors},
		{"JobStatusRoundTrip", testJobStatusRoundTrip},
		{"ConcurrentJobUpdates", testConcurrentJobUpdates},
		{"DeleteJobCascades", testDeleteJobCascades},
		{"Secrets", testSecrets},
		{"Anchors", testAnchors},
		{"ManyAtOnce", testManyAtOnce},
		{"AnchorsVersion", testAnchorsVersion},
		{"Escrows", testEscrows},
		{"StagedDeletes", testStagedDeletes},
		{"ProvisioningLogs", testProvisioningLogs},
		{"ProvisioningLogPaging", testProvisioningLogPaging},
		{"QueryProvisioningLogs", testQueryProvisioningLogs},
		{"QueryProvisioningLogPaging", testQueryProvisioningLogPaging},
		{"PruneProvisioningLogs", testPruneProvisioningLogs},
		{"CommitBatch", testCommitBatch},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ChangesRecorded", testChangesRecorded},
		{"ChangesFailedWrites", testChangesFailedWrites},
		{"ListChangesPaging", testListChangesPaging},
		{"PruneChanges", testPruneChanges},
		{"Subscribe", testSubscribe},
		{"JobWatermark", testJobWatermark},
		{"ClaimKeys", testClaimKeys},
		{"UseOnce", testUseOnce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// t0 is the base time of the fixtures; it has microseconds, which every
// backend keeps.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// at returns t0 plus n seconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// cmpOpts make empty and nil slices and maps equal; times compare with
// their Equal method.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// ok fails the test now if err is not nil.
func ok(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// isErr reports an error unless errors.Is(err, want).
func isErr(t *testing.T, err, want error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", fmt.Sprintf(what, args...), err, want)
	}
}

// same reports a difference between got and want.
func same[T any](t *testing.T, got, want T, what string, args ...any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s: mismatch (-want +got):\n%s", fmt.Sprintf(what, args...), d)
	}
}

func newUser(id, upn string) store.User {
	return store.User{
		ID:                id,
		UserPrincipalName: upn,
		AccountEnabled:    true,
		Props:             map[string]any{"displayName": "User " + id},
		Created:           at(1),
	}
}

func newGroup(id, name string) store.Group {
	return store.Group{
		ID:          id,
		DisplayName: name,
		Props:       map[string]any{"mailNickname": id},
		Created:     at(2),
	}
}

// newApp returns an application and its service principal; n makes the
// ids and appId unique.
func newApp(n string) (store.Application, store.ServicePrincipal) {
	app := store.Application{ID: "app-" + n, AppID: "appid-" + n, DisplayName: "App " + n, Created: at(3)}
	sp := store.ServicePrincipal{
		ID: "sp-" + n, AppID: app.AppID, ApplicationID: app.ID, DisplayName: app.DisplayName, Created: at(3),
	}
	return app, sp
}

func newJob(spID, id string) store.Job {
	return store.Job{
		ID:                 id,
		ServicePrincipalID: spID,
		TemplateID:         "scim",
		Schema:             []byte(`{"directories":[],"synchronizationRules":[]}`),
		Status:             store.Status{Code: store.StatusNotConfigured},
		Schedule:           store.Schedule{Interval: "PT40M", State: store.ScheduleDisabled},
		Settings:           []byte(`[{"key":"k","value":"v"}]`),
		Watermark:          "17",
		Created:            at(4),
		Updated:            at(5),
	}
}

func newAssignment(id, principalID, roleID, resourceID string) store.AppRoleAssignment {
	return store.AppRoleAssignment{
		ID:            id,
		AppRoleID:     roleID,
		PrincipalID:   principalID,
		PrincipalType: "User",
		ResourceID:    resourceID,
		Created:       at(6),
	}
}

func newAnchor(jobID, sourceID, targetID string) store.Anchor {
	return store.Anchor{
		JobID: jobID, SourceType: "User", SourceID: sourceID,
		TargetType: "urn:ietf:params:scim:schemas:core:2.0:User", TargetID: targetID, Updated: at(7),
	}
}

func newLog(id, jobID, spID string, activity time.Time) store.ProvisioningLog {
	return store.ProvisioningLog{
		ID: id, JobID: jobID, ServicePrincipalID: spID, ChangeID: "change-" + id, Activity: activity,
		Data: []byte(`{"id":"` + id + `"}`),
	}
}

// mkApp creates the application and service principal of newApp(n).
func mkApp(t *testing.T, s store.Store, n string) store.ServicePrincipal {
	t.Helper()
	app, sp := newApp(n)
	ok(t, s.CreateServicePrincipal(t.Context(), app, sp), "create service principal %s", sp.ID)
	return sp
}

// mkJob creates newJob(spID, id).
func mkJob(t *testing.T, s store.Store, spID, id string) store.Job {
	t.Helper()
	j := newJob(spID, id)
	ok(t, s.CreateJob(t.Context(), j), "create job %s", id)
	return j
}

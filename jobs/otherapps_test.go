package jobs

import (
	"strconv"
	"testing"

	"provisiond/directory"
	"provisiond/store"
)

// TestCycleLeavesOutOtherApplicationsAssignments: another application's
// assignment of the job's big group is no work for the job: its next
// cycle processes nothing, and its watermark moves past those changes, so
// that the cycle after it does not read them again.
func TestCycleLeavesOutOtherApplicationsAssignments(t *testing.T) {
	f := newCycleFixture(t, nil)
	ctx := t.Context()
	users := f.users(5)
	f.must(f.st.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "Team"}))
	for _, id := range users {
		f.must(f.st.AddMember(ctx, "g1", id))
	}
	f.okCycle() // the initial cycle
	f.must(f.st.CreateServicePrincipal(ctx, store.Application{ID: "app2", AppID: "appid2"}, store.ServicePrincipal{ID: "sp2", AppID: "appid2", ApplicationID: "app2"}))
	f.must(f.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a-g1", AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: "g1", PrincipalType: "Group", ResourceID: "sp2"}))
	last, err := f.st.LastChangeSeq(ctx)
	f.must(err)

	j := f.okCycle()
	if le := j.Status.LastExecution; le == nil || le.CountImported != 0 || le.CountExported != 0 {
		t.Errorf("the cycle after another application's assignment: %+v; want nothing imported or exported", le)
	}
	if j.Watermark != strconv.FormatInt(last, 10) {
		t.Errorf("watermark after the cycle = %q, want %d (past the other application's changes)", j.Watermark, last)
	}

	// The job's own assignment of the group is work: the group is read.
	f.must(f.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: "a-g1-mine", AppRoleID: directory.DefaultAppRoleID,
		PrincipalID: "g1", PrincipalType: "Group", ResourceID: fxSP}))
	if le := f.okCycle().Status.LastExecution; le == nil || le.CountImported == 0 {
		t.Errorf("the cycle after the job's own assignment of the group: %+v; want its changes imported", le)
	}
}

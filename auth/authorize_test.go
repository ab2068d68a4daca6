package auth

import "testing"

// TestAuthorize is the whole permission matrix: principal kind ×
// permission × directory role × op × ownership → allowed or denied (with
// the message naming what is missing).
func TestAuthorize(t *testing.T) {
	app := func(roles ...string) Principal { return Principal{TenantID: "t", ObjectID: "sp", Roles: roles} }
	user := func(scopes []string, wids ...string) Principal {
		return Principal{TenantID: "t", ObjectID: "u", Delegated: true, Scopes: scopes, DirectoryRoles: wids}
	}
	scp := func(s ...string) []string { return s }
	const (
		appAdmin   = RoleApplicationAdministrator
		cloudAdmin = RoleCloudApplicationAdministrator
		hybrid     = RoleHybridIdentityAdministrator
		global     = RoleGlobalAdministrator
		syncR      = "Synchronization.Read.All"
		syncRW     = "Synchronization.ReadWrite.All"
		ownedBy    = "Application.ReadWrite.OwnedBy"
	)
	const (
		allow = ""
		// Denial messages (after "Insufficient privileges to complete the operation. ").
		needSyncReadApp   = "The application needs the application permission Synchronization.Read.All or Synchronization.ReadWrite.All (or Application.ReadWrite.OwnedBy on an application it owns)."
		needSyncWriteApp  = "The application needs the application permission Synchronization.ReadWrite.All (or Application.ReadWrite.OwnedBy on an application it owns)."
		notOwnerSyncRead  = "Application.ReadWrite.OwnedBy grants access only to applications the caller owns; otherwise it needs the application permission Synchronization.Read.All or Synchronization.ReadWrite.All."
		notOwnerSyncWrite = "Application.ReadWrite.OwnedBy grants access only to applications the caller owns; otherwise it needs the application permission Synchronization.ReadWrite.All."
		needSyncReadScp   = "The application needs the delegated permission Synchronization.Read.All or Synchronization.ReadWrite.All."
		needSyncWriteScp  = "The application needs the delegated permission Synchronization.ReadWrite.All."
		needAppAdminRole  = "The signed-in user needs the directory role Application Administrator, Cloud Application Administrator or Global Administrator."
		needHybridRole    = "The signed-in user needs the directory role Hybrid Identity Administrator or Global Administrator."
		needUserWriteApp  = "The application needs the application permission User.ReadWrite.All or Directory.ReadWrite.All."
		needUserReadScp   = "The application needs the delegated permission User.Read.All, User.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All."
		needGroupWrite    = "The application needs the application permission Group.ReadWrite.All or Directory.ReadWrite.All."
		needMemberWrite   = "The application needs the application permission GroupMember.ReadWrite.All, Group.ReadWrite.All or Directory.ReadWrite.All."
		needAppWriteApp   = "The application needs the application permission Application.ReadWrite.All or Directory.ReadWrite.All (or Application.ReadWrite.OwnedBy on an application it owns)."
		needAppWriteScp   = "The application needs the delegated permission Application.ReadWrite.All or Directory.ReadWrite.All."
		needAppReadApp    = "The application needs the application permission Application.Read.All, Application.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All (or Application.ReadWrite.OwnedBy on an application it owns)."
		needAssignWrite   = "The application needs the application permission AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All or Directory.ReadWrite.All."
		needAssignRead    = "The application needs the application permission AppRoleAssignment.ReadWrite.All, Application.Read.All, Application.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All."
		needAuditApp      = "The application needs the application permission AuditLog.Read.All."
		needAuditScp      = "The application needs the delegated permission AuditLog.Read.All."
	)
	tests := []struct {
		name string
		p    Principal
		op   Op
		owns bool
		want string // allow, or the denial message after the common prefix
	}{
		// Synchronization reads.
		{"app Sync.Read reads", app(syncR), SyncRead, false, allow},
		{"app Sync.ReadWrite reads", app(syncRW), SyncRead, false, allow},
		{"app OwnedBy reads own", app(ownedBy), SyncRead, true, allow},
		{"app OwnedBy reads other", app(ownedBy), SyncRead, false, notOwnerSyncRead},
		{"app no permission reads", app(), SyncRead, true, needSyncReadApp},
		{"app unrelated permission reads", app("User.Read.All", "Directory.ReadWrite.All"), SyncRead, false, needSyncReadApp},
		{"app permission in scopes does not count", Principal{Scopes: scp(syncR)}, SyncRead, false, needSyncReadApp},
		{"app permission case-insensitive", app("synchronization.read.all"), SyncRead, false, allow},
		{"user Sync.Read reads, no role needed", user(scp(syncR)), SyncRead, false, allow},
		{"user Sync.ReadWrite reads", user(scp(syncRW)), SyncRead, false, allow},
		{"user no scope reads", user(nil, global), SyncRead, false, needSyncReadScp},
		{"user permission in roles does not count", Principal{Delegated: true, Roles: []string{syncR}}, SyncRead, false, needSyncReadScp},
		{"user OwnedBy is application-only", user(scp(ownedBy), appAdmin), SyncRead, true, needSyncReadScp},

		// Synchronization writes (app provisioning).
		{"app Sync.ReadWrite writes", app(syncRW), SyncWrite, false, allow},
		{"app Sync.Read cannot write", app(syncR), SyncWrite, false, needSyncWriteApp},
		{"app Sync.Read cannot write own", app(syncR), SyncWrite, true, needSyncWriteApp},
		{"app OwnedBy writes own", app(ownedBy), SyncWrite, true, allow},
		{"app OwnedBy writes other", app(ownedBy), SyncWrite, false, notOwnerSyncWrite},
		{"app Directory.ReadWrite cannot write sync", app("Directory.ReadWrite.All"), SyncWrite, false, needSyncWriteApp},
		{"app roles claim wids ignored", Principal{Roles: []string{syncR}, DirectoryRoles: []string{global}}, SyncWrite, false, needSyncWriteApp},
		{"user scope + Application Administrator", user(scp(syncRW), appAdmin), SyncWrite, false, allow},
		{"user scope + Cloud Application Administrator", user(scp(syncRW), cloudAdmin), SyncWrite, false, allow},
		{"user scope + Global Administrator", user(scp(syncRW), global), SyncWrite, false, allow},
		{"user scope + Hybrid Identity Administrator", user(scp(syncRW), hybrid), SyncWrite, false, needAppAdminRole},
		{"user scope, no role", user(scp(syncRW)), SyncWrite, false, needAppAdminRole},
		{"user scope, no role, owner", user(scp(syncRW)), SyncWrite, true, needAppAdminRole},
		{"user Sync.Read + Global Administrator", user(scp(syncR), global), SyncWrite, false, needSyncWriteScp},
		{"user role, no scope", user(nil, appAdmin), SyncWrite, false, needSyncWriteScp},
		{"user role name is not a wid", user(scp(syncRW), "Application Administrator"), SyncWrite, false, needAppAdminRole},

		// Synchronization writes on cloud sync jobs.
		{"cloud sync: app Sync.ReadWrite", app(syncRW), SyncWriteCloudSync, false, allow},
		{"cloud sync: app OwnedBy own", app(ownedBy), SyncWriteCloudSync, true, allow},
		{"cloud sync: app OwnedBy other", app(ownedBy), SyncWriteCloudSync, false, notOwnerSyncWrite},
		{"cloud sync: user + Hybrid Identity Administrator", user(scp(syncRW), hybrid), SyncWriteCloudSync, false, allow},
		{"cloud sync: user + Global Administrator", user(scp(syncRW), global), SyncWriteCloudSync, false, allow},
		{"cloud sync: user + Application Administrator", user(scp(syncRW), appAdmin), SyncWriteCloudSync, false, needHybridRole},
		{"cloud sync: user + Cloud Application Administrator", user(scp(syncRW), cloudAdmin), SyncWriteCloudSync, false, needHybridRole},
		{"cloud sync: user role, no scope", user(nil, hybrid), SyncWriteCloudSync, false, needSyncWriteScp},

		// Users.
		{"app User.Read reads users", app("User.Read.All"), UserRead, false, allow},
		{"app User.ReadWrite reads users", app("User.ReadWrite.All"), UserRead, false, allow},
		{"app Directory.Read reads users", app("Directory.Read.All"), UserRead, false, allow},
		{"app Directory.ReadWrite reads users", app("Directory.ReadWrite.All"), UserRead, false, allow},
		{"app Group.Read cannot read users", app("Group.Read.All"), UserRead, false, "The application needs the application permission User.Read.All, User.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All."},
		{"user User.Read reads users, no role", user(scp("User.Read.All")), UserRead, false, allow},
		{"user no scope cannot read users", user(scp(syncRW), global), UserRead, false, needUserReadScp},
		{"app User.ReadWrite writes users", app("User.ReadWrite.All"), UserWrite, false, allow},
		{"app Directory.ReadWrite writes users", app("Directory.ReadWrite.All"), UserWrite, false, allow},
		{"app User.Read cannot write users", app("User.Read.All"), UserWrite, false, needUserWriteApp},
		{"app Directory.Read cannot write users", app("Directory.Read.All"), UserWrite, false, needUserWriteApp},
		{"app OwnedBy cannot write users", app(ownedBy), UserWrite, true, needUserWriteApp},
		{"user User.ReadWrite writes users", user(scp("User.ReadWrite.All")), UserWrite, false, allow},

		// Groups and members.
		{"app Group.Read reads groups", app("Group.Read.All"), GroupRead, false, allow},
		{"app GroupMember.Read reads groups", app("GroupMember.Read.All"), GroupRead, false, allow},
		{"app Directory.Read reads groups", app("Directory.Read.All"), GroupRead, false, allow},
		{"app User.Read cannot read groups", app("User.Read.All"), GroupRead, false, "The application needs the application permission Group.Read.All, Group.ReadWrite.All, GroupMember.Read.All, GroupMember.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All."},
		{"app Group.ReadWrite writes groups", app("Group.ReadWrite.All"), GroupWrite, false, allow},
		{"app Directory.ReadWrite writes groups", app("Directory.ReadWrite.All"), GroupWrite, false, allow},
		{"app GroupMember.ReadWrite cannot write groups", app("GroupMember.ReadWrite.All"), GroupWrite, false, needGroupWrite},
		{"app Group.Read cannot write groups", app("Group.Read.All"), GroupWrite, false, needGroupWrite},
		{"app GroupMember.ReadWrite writes members", app("GroupMember.ReadWrite.All"), GroupMemberWrite, false, allow},
		{"app Group.ReadWrite writes members", app("Group.ReadWrite.All"), GroupMemberWrite, false, allow},
		{"app Directory.ReadWrite writes members", app("Directory.ReadWrite.All"), GroupMemberWrite, false, allow},
		{"app Group.Read cannot write members", app("Group.Read.All"), GroupMemberWrite, false, needMemberWrite},
		{"user GroupMember.ReadWrite writes members", user(scp("GroupMember.ReadWrite.All")), GroupMemberWrite, false, allow},

		// Applications and service principals.
		{"app Application.Read reads apps", app("Application.Read.All"), AppRead, false, allow},
		{"app Directory.Read reads apps", app("Directory.Read.All"), AppRead, false, allow},
		{"app OwnedBy reads own app", app(ownedBy), AppRead, true, allow},
		{"app no permission reads apps", app(), AppRead, false, needAppReadApp},
		{"app Application.ReadWrite writes apps", app("Application.ReadWrite.All"), AppWrite, false, allow},
		{"app Directory.ReadWrite writes apps", app("Directory.ReadWrite.All"), AppWrite, false, allow},
		{"app OwnedBy writes own app", app(ownedBy), AppWrite, true, allow},
		{"app OwnedBy writes other app", app(ownedBy), AppWrite, false, "Application.ReadWrite.OwnedBy grants access only to applications the caller owns; otherwise it needs the application permission Application.ReadWrite.All or Directory.ReadWrite.All."},
		{"app Application.Read cannot write apps", app("Application.Read.All"), AppWrite, true, needAppWriteApp},
		{"user Application.ReadWrite writes apps", user(scp("Application.ReadWrite.All")), AppWrite, false, allow},
		{"user OwnedBy cannot write own app", user(scp(ownedBy)), AppWrite, true, needAppWriteScp},

		// App role assignments.
		{"app AppRoleAssignment.ReadWrite reads assignments", app("AppRoleAssignment.ReadWrite.All"), AppRoleAssignmentRead, false, allow},
		{"app Application.Read reads assignments", app("Application.Read.All"), AppRoleAssignmentRead, false, allow},
		{"app Directory.Read reads assignments", app("Directory.Read.All"), AppRoleAssignmentRead, false, allow},
		{"app User.Read cannot read assignments", app("User.Read.All"), AppRoleAssignmentRead, false, needAssignRead},
		{"app AppRoleAssignment.ReadWrite writes assignments", app("AppRoleAssignment.ReadWrite.All"), AppRoleAssignmentWrite, false, allow},
		{"app Application.ReadWrite writes assignments", app("Application.ReadWrite.All"), AppRoleAssignmentWrite, false, allow},
		{"app Directory.ReadWrite writes assignments", app("Directory.ReadWrite.All"), AppRoleAssignmentWrite, false, allow},
		{"app Application.Read cannot write assignments", app("Application.Read.All"), AppRoleAssignmentWrite, false, needAssignWrite},
		{"app OwnedBy cannot write assignments", app(ownedBy), AppRoleAssignmentWrite, true, needAssignWrite},

		// Provisioning logs.
		{"app AuditLog.Read reads logs", app("AuditLog.Read.All"), AuditLogRead, false, allow},
		{"app Directory.ReadWrite cannot read logs", app("Directory.ReadWrite.All"), AuditLogRead, false, needAuditApp},
		{"app Sync.ReadWrite cannot read logs", app(syncRW), AuditLogRead, true, needAuditApp},
		{"user AuditLog.Read reads logs", user(scp("AuditLog.Read.All")), AuditLogRead, false, allow},
		{"user Global Administrator without scope", user(nil, global), AuditLogRead, false, needAuditScp},

		// Unknown op.
		{"unknown op", app(syncRW, "Directory.ReadWrite.All"), Op("Bogus"), false, `Unknown operation "Bogus".`},
	}
	for _, tt := range tests {
		err := Authorize(tt.p, tt.op, tt.owns)
		if tt.want == allow {
			if err != nil {
				t.Errorf("%s: Authorize(%s, owns=%v) = %v, want allowed", tt.name, tt.op, tt.owns, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Authorize(%s, owns=%v) allowed, want denied", tt.name, tt.op, tt.owns)
			continue
		}
		e, ok := err.(*Error)
		want := "Insufficient privileges to complete the operation. " + tt.want
		if !ok || e.Status != 403 || e.Code != "Authorization_RequestDenied" || e.Message != want {
			t.Errorf("%s: Authorize(%s, owns=%v) = %v\nwant 403 Authorization_RequestDenied: %s", tt.name, tt.op, tt.owns, err, want)
		}
	}

	// Every op is covered by the matrix.
	for op := range rules {
		found := false
		for _, tt := range tests {
			found = found || tt.op == op
		}
		if !found {
			t.Errorf("op %s has no matrix rows", op)
		}
	}
}

package auth

import (
	"fmt"
	"strings"
)

// Op is a kind of call provisiond serves; Authorize knows which permissions
// each needs.
type Op string

// Ops.
const (
	// SyncRead: list/get jobs and templates, get schema, functions and
	// filterOperators.
	SyncRead Op = "SyncRead"
	// SyncWrite: create/delete jobs, schema put/reset, secrets put,
	// start/pause/restart, validateCredentials, parseExpression, discover,
	// provisionOnDemand, acquireAccessToken, template updates, for app
	// provisioning jobs.
	SyncWrite Op = "SyncWrite"
	// SyncWriteCloudSync: the SyncWrite calls on cloud sync (Active
	// Directory to directory) jobs, where delegated callers need Hybrid
	// Identity Administrator instead of the application administrator roles.
	SyncWriteCloudSync Op = "SyncWriteCloudSync"

	UserRead         Op = "UserRead"
	UserWrite        Op = "UserWrite"
	GroupRead        Op = "GroupRead"
	GroupWrite       Op = "GroupWrite"
	GroupMemberWrite Op = "GroupMemberWrite"
	// AppRead: read applications and service principals (and their owners).
	AppRead Op = "AppRead"
	// AppWrite: instantiate an application template, delete a service
	// principal, add an owner.
	AppWrite               Op = "AppWrite"
	AppRoleAssignmentRead  Op = "AppRoleAssignmentRead"
	AppRoleAssignmentWrite Op = "AppRoleAssignmentWrite"
	// AuditLogRead: provisioning logs.
	AuditLogRead Op = "AuditLogRead"
)

// Permission names.
const (
	permSyncRead      = "Synchronization.Read.All"
	permSyncReadWrite = "Synchronization.ReadWrite.All"
	permOwnedBy       = "Application.ReadWrite.OwnedBy"
	permDirRead       = "Directory.Read.All"
	permDirReadWrite  = "Directory.ReadWrite.All"
	permAppRead       = "Application.Read.All"
	permAppReadWrite  = "Application.ReadWrite.All"
)

// rule is what one Op needs.
type rule struct {
	// perms: any of them suffices, as a delegated permission for delegated
	// callers and as an application permission for application callers.
	perms []string
	// ownedBy: application callers may instead hold
	// Application.ReadWrite.OwnedBy and own the target.
	ownedBy bool
	// roles: delegated callers must also hold one of these directory roles.
	roles []string
}

var rules = map[Op]rule{
	SyncRead: {perms: []string{permSyncRead, permSyncReadWrite}, ownedBy: true},
	SyncWrite: {perms: []string{permSyncReadWrite}, ownedBy: true,
		roles: []string{RoleApplicationAdministrator, RoleCloudApplicationAdministrator, RoleGlobalAdministrator}},
	SyncWriteCloudSync: {perms: []string{permSyncReadWrite}, ownedBy: true,
		roles: []string{RoleHybridIdentityAdministrator, RoleGlobalAdministrator}},
	UserRead:         {perms: []string{"User.Read.All", "User.ReadWrite.All", permDirRead, permDirReadWrite}},
	UserWrite:        {perms: []string{"User.ReadWrite.All", permDirReadWrite}},
	GroupRead:        {perms: []string{"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All", permDirRead, permDirReadWrite}},
	GroupWrite:       {perms: []string{"Group.ReadWrite.All", permDirReadWrite}},
	GroupMemberWrite: {perms: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", permDirReadWrite}},
	AppRead:          {perms: []string{permAppRead, permAppReadWrite, permDirRead, permDirReadWrite}, ownedBy: true},
	AppWrite:         {perms: []string{permAppReadWrite, permDirReadWrite}, ownedBy: true},
	AppRoleAssignmentRead: {perms: []string{"AppRoleAssignment.ReadWrite.All", permAppRead, permAppReadWrite,
		permDirRead, permDirReadWrite}},
	AppRoleAssignmentWrite: {perms: []string{"AppRoleAssignment.ReadWrite.All", permAppReadWrite, permDirReadWrite}},
	AuditLogRead:           {perms: []string{"AuditLog.Read.All"}},
}

// Authorize decides whether p may perform op. ownsTarget says whether p
// owns the application or service principal the call is about (it matters
// for Application.ReadWrite.OwnedBy). It returns nil, or an *Error with
// Status 403 and Code Authorization_RequestDenied whose message names the
// missing permission or directory role.
//
// Application callers need one of the op's permissions in Roles, or
// Application.ReadWrite.OwnedBy and ownsTarget where the op allows it.
// Delegated callers need one of the op's permissions in Scopes and, for
// synchronization writes, one of the required directory roles; the OwnedBy
// permission is application-only.
func Authorize(p Principal, op Op, ownsTarget bool) error {
	r, ok := rules[op]
	if !ok {
		return denied(fmt.Sprintf("%s Unknown operation %q.", msgInsufficient, op))
	}
	if p.Delegated {
		if !hasAny(p.Scopes, r.perms) {
			return denied(fmt.Sprintf("%s The application needs the delegated permission %s.", msgInsufficient, orList(r.perms)))
		}
		if len(r.roles) > 0 && !hasAny(p.DirectoryRoles, r.roles) {
			names := make([]string, len(r.roles))
			for i, id := range r.roles {
				names[i] = directoryRoleName(id)
			}
			return denied(fmt.Sprintf("%s The signed-in user needs the directory role %s.", msgInsufficient, orList(names)))
		}
		return nil
	}
	if hasAny(p.Roles, r.perms) {
		return nil
	}
	if r.ownedBy && hasAny(p.Roles, []string{permOwnedBy}) {
		if ownsTarget {
			return nil
		}
		return denied(fmt.Sprintf("%s %s grants access only to applications the caller owns; otherwise it needs the application permission %s.",
			msgInsufficient, permOwnedBy, orList(r.perms)))
	}
	want := orList(r.perms)
	if r.ownedBy {
		want += " (or " + permOwnedBy + " on an application it owns)"
	}
	return denied(fmt.Sprintf("%s The application needs the application permission %s.", msgInsufficient, want))
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

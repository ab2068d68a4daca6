package auth

import (
	"slices"
	"sort"
	"strings"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// TenantID is the caller's tenant (claim "tid").
	TenantID string
	// ObjectID is the caller's object id: the user, or the application's
	// service principal (claim "oid", else "sub").
	ObjectID string
	// AppID is the client application's id (claim "appid", else "azp").
	AppID string
	// Name is a display name for logs: the user principal name for users,
	// the application name for applications.
	Name string
	// Delegated is true for a user signed in through an application
	// (delegated permissions), false for an application acting as itself.
	Delegated bool
	// Roles are the application permissions (claim "roles"). Authorize
	// reads them only for application callers: in a delegated token "roles"
	// holds the user's app roles, not Graph permissions.
	Roles []string
	// Scopes are the delegated permissions (claim "scp", space-separated).
	Scopes []string
	// DirectoryRoles are the user's directory role template ids (claim
	// "wids"); see the Role constants.
	DirectoryRoles []string
}

// PersonalTenantID is the tenant of personal Microsoft accounts (MSA).
const PersonalTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// RejectPersonal returns a 403 Authorization_RequestDenied *Error ("Personal
// Microsoft accounts are not supported.") if p is a personal Microsoft
// account, and nil otherwise. The router applies it to synchronization
// calls, which Graph supports for work or school accounts only. It is a 403,
// not a 401, because the token is valid: the account kind is refused.
func RejectPersonal(p Principal) error {
	if strings.EqualFold(p.TenantID, PersonalTenantID) {
		return denied(msgPersonal)
	}
	return nil
}

// Directory role template ids (claim "wids") that matter to provisiond.
const (
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RoleHybridIdentityAdministrator   = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
)

// directoryRoles maps role display names to template ids.
var directoryRoles = map[string]string{
	"Application Administrator":       RoleApplicationAdministrator,
	"Cloud Application Administrator": RoleCloudApplicationAdministrator,
	"Hybrid Identity Administrator":   RoleHybridIdentityAdministrator,
	"Global Administrator":            RoleGlobalAdministrator,
}

// DirectoryRoleNames returns the names of the directory roles provisiond
// knows, sorted.
func DirectoryRoleNames() []string {
	names := make([]string, 0, len(directoryRoles))
	for n := range directoryRoles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DirectoryRoleID returns the template id of the directory role named name
// (case-insensitive); a template id is returned as is.
func DirectoryRoleID(name string) (id string, ok bool) {
	for n, id := range directoryRoles {
		if strings.EqualFold(n, name) || strings.EqualFold(id, name) {
			return id, true
		}
	}
	return "", false
}

// directoryRoleName returns the display name of a role template id.
func directoryRoleName(id string) string {
	for n, rid := range directoryRoles {
		if rid == id {
			return n
		}
	}
	return id
}

// hasAny reports whether have holds one of want, ignoring case.
func hasAny(have, want []string) bool {
	return slices.ContainsFunc(have, func(h string) bool {
		return slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(h, w) })
	})
}

// Package directory is the built-in directory as a provisioning source and
// as a provisioning target.
//
// As a source it presents the store's users and groups with Entra's
// attribute names (objectId, userPrincipalName, IsSoftDeleted,
// appRoleAssignments, ...) and answers whether an object is assigned to a
// job's application, directly or through a directly assigned group (nested
// groups do not count). It lists users and groups page by page
// (connector.Lister), ordered by id, for cycles that read everything in
// scope, and reports the store's change feed (connector.ChangeFeed, the
// watermark a decimal seq) for incremental ones.
//
// As a target (Target, for cloud-sync jobs from Active Directory or LDAP)
// it takes cloud sync's attribute names (AccountEnabled, Alias,
// OnPremisesImmutableId, ...), stores them as the Graph properties they
// stand for, marks what it writes as synced (onPremisesSyncEnabled,
// onPremisesLastSyncDateTime) and soft-deletes. Its writes go through the
// store, so they reach the change feed and the jobs that read it.
package directory

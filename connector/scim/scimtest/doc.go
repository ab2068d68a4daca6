// Package scimtest provides SCIM 2.0 servers for tests and demos.
//
// Server is an in-process, in-memory SCIM service provider (RFC 7643,
// RFC 7644) that accepts the traffic Microsoft Entra's provisioning service
// sends, Entra-legacy shapes included: users and groups stored as sent,
// the full filter grammar (ParseFilter), case-insensitive PATCH
// (DecodePatch, ApplyPatch), paging, attribute projection, discovery
// endpoints, bearer-token checks, a request log and fault hooks for tests
// (Fault answers an error; Disrupt can also delay, time out or drop a
// request, before or after it takes effect). Switches in Options emulate
// stricter real servers: NoPatch, NoFilter, HideMembers, StrictFilter,
// RequireEmail, PatchReturnsResource, CaseSensitiveRoutes,
// RejectUnknownMembers and NoUniqueness.
// It is an http.Handler serving /Users, /Groups, /ServiceProviderConfig,
// /Schemas and /ResourceTypes relative to where it is mounted; mount it
// below a prefix with http.StripPrefix (provisiond's --demo serves it under
// /demo/scim/v2).
//
// StartSCIMMY starts the third-party SCIMMY server (scripts/scimmy, Node.js)
// for interoperability tests.
package scimtest

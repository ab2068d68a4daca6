// Package scimserver is an in-process, in-memory SCIM 2.0 service provider
// (RFC 7643, RFC 7644) that accepts the traffic Microsoft Entra's
// provisioning service sends, Entra-legacy shapes included: users and
// groups stored as sent, the full filter grammar (ParseFilter),
// case-insensitive PATCH (DecodePatch, ApplyPatch), paging, attribute
// projection, discovery endpoints and bearer-token checks. Switches in
// Options emulate stricter real servers: NoPatch, NoFilter, HideMembers,
// StrictFilter, RequireEmail, PatchReturnsResource, CaseSensitiveRoutes,
// RejectUnknownMembers and NoUniqueness.
//
// Server is an http.Handler serving /Users, /Groups,
// /ServiceProviderConfig, /Schemas and /ResourceTypes relative to where it
// is mounted; mount it below a prefix with http.StripPrefix. provisiond
// --demo serves one as its demo SCIM app; tests use it through package
// scimtest, which adds a request log and fault injection.
package scimserver

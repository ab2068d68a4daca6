// Package scim is the SCIM 2.0 (RFC 7643, RFC 7644) target connector: a
// client that implements connector.Target against any SCIM service the way
// Microsoft Entra's provisioning service talks to one ("customappsso").
//
// Target attribute names are SCIM attribute paths as Entra's default
// mappings spell them (`userName`, `name.givenName`,
// `emails[type eq "work"].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`);
// ParsePath reads them, BuildResource turns flat attributes into the JSON
// resource Create posts, Flatten turns a server's resource back into flat
// attributes so the engine can diff, and PatchOps computes the RFC 7644
// PATCH operations Update sends.
//
// Every failure is a *connector.Error: non-2xx answers carry the HTTP
// status, the provisioning-log code and an Entra-style message quoting the
// response (the SCIM error body is also available as *ResponseError in
// Err); a 2xx answer that is not SCIM is SystemForCrossDomainIdentityManagementServiceIncompatible;
// transport failures are transient. The sub-package scimtest is an
// in-process SCIM server for tests and demos, and starts the third-party
// SCIMMY server for interoperability tests.
package scim

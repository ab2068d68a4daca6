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
// # Target profiles
//
// Real SCIM servers differ from the RFC and from each other. A Profile
// (Config.Profile) says how; ParseProfile reads it from a job's
// synchronizationJobSettings. Setting names are case-sensitive, values are
// not; other names are ignored and an unknown value is an error listing the
// allowed ones. The first value is the default.
//
//	| Setting            | Values                | Effect                                                                                 |
//	|--------------------|-----------------------|----------------------------------------------------------------------------------------|
//	| ScimPatchDialect   | rfc7644, entra-legacy | rfc7644: lower-case ops, JSON booleans, members removed with `members[value eq "id"]`. |
//	|                    |                       | entra-legacy: Entra's default shapes: `Add`/`Replace`/`Remove`, active as              |
//	|                    |                       | "True"/"False", members removed by                                                     |
//	|                    |                       | `{"op":"Remove","path":"members","value":[{"value":"id"}]}` and added with             |
//	|                    |                       | `"$ref":null`. RFC-strict servers (SCIMMY) refuse the string booleans with 400, and a  |
//	|                    |                       | server that ignores `value` in a remove drops every member: use it only for servers    |
//	|                    |                       | built for Entra.                                                                       |
//	| ScimUserUpdate     | patch, put            | put: PUT-only users (AWS-style): GET the user, apply the changes, PUT the whole user   |
//	|                    |                       | back.                                                                                  |
//	| ScimMembershipRead | group, userFilter     | group: members from GET /Groups/{id}. userFilter, for servers that leave members out   |
//	|                    |                       | there: GET /Users?filter=groups.value eq "<groupId>" (all pages); if the server        |
//	|                    |                       | refuses that filter, GET /Groups/{id}?attributes=members (remembered per client).      |
//	| ScimDiscovery      | on, off               | on: read /ServiceProviderConfig once per client (unreadable: assume the defaults) and  |
//	|                    |                       | honour it: patch.supported=false updates users and groups by PUT;                      |
//	|                    |                       | filter.supported=false makes Find list the resources and match on the client, up to    |
//	|                    |                       | Config.MaxScan (10,000) resources.                                                     |
//
// Whatever the profile says, a PATCH answered 405 or 501 switches that
// object type to PUT for the rest of the client's life, and a filter
// answered 400 invalidFilter is retried as a simpler one
// (`emails.value eq` for `emails[type eq "work"].value eq`) and then as a
// listing.
//
// # Listing
//
// List (connector.Lister) pages through /Users or /Groups with startIndex
// and count (RFC 7644 §3.4.2.4); the token is the next startIndex. It
// takes the page size the server answers with (and filter.maxResults),
// ends at totalResults, answers a page asked past the end with an empty
// last page (SCIMMY would answer the first page again), and shows groups'
// members as Get does: from the listing, or with ScimMembershipRead
// userFilter one member query per group.
//
// # Resilience
//
// Transient failures (network errors, timeouts, 408, 429, 5xx) are retried
// with exponential backoff and jitter, at most Config.MaxAttempts attempts
// (4), honouring Retry-After on 429 and 503 up to Config.MaxRetryWait (a
// longer one is left to the engine, in the error's RetryAfter). The
// caller's context deadline bounds all attempts together: each attempt
// gets min(Config.Timeout, the time left), no wait is started that would
// outlast the deadline, and a request the deadline cuts short ends with a
// transient error saying which request did not answer within how long, and
// after how many attempts. GET, PUT,
// PATCH and DELETE are retried; POST only when it failed to connect.
// Create retries a POST that may have reached the server only after
// searching for the object it would create (by userName, displayName or
// externalId), so a create whose answer was lost returns the object instead
// of making a duplicate. A 404 on Get, Update, Delete or a membership change
// is confirmed by a second GET before it is reported as KindNotFound.
// Changes to one object are serialised.
//
// Every failure is a *connector.Error: non-2xx answers carry the HTTP
// status, the provisioning-log code and an Entra-style message quoting the
// response (the SCIM error body is also available as *ResponseError in
// Err); a 2xx answer that is not SCIM is SystemForCrossDomainIdentityManagementServiceIncompatible;
// transport failures are transient. Messages quote at most 500 characters
// of a body, and only of an application/json or application/scim+json
// one: of any other they give the size and media type, so that a base
// address pointed at some other service does not read it.
//
// # Network guard
//
// With Config.Guard (package netguard) the client never calls a link-local
// or cloud metadata address, provisiond's own listen address, or (when the
// guard has target networks) an address outside them: New refuses such a
// literal address, and an HTTPClient dialling through the guard refuses
// any connection to one, after DNS and on redirects. A refusal is
// KindInvalid, CodeAddressRefused, with the guard's message.
//
// Sub-packages: scimjson holds the wire shapes the client and the server
// share; scimserver is an in-process SCIM server (provisiond --demo serves
// one), with switches that emulate strict real-world servers; scimtest
// wraps it for tests with a request log and fault injection, and starts
// the third-party SCIMMY server for interoperability tests.
package scim

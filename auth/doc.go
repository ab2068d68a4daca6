// Package auth turns bearer tokens into a Principal and decides what a
// Principal may do, the way Microsoft Graph does for the synchronization and
// directory APIs provisiond serves under /v1.0.
//
// # Tokens
//
// Two Authenticators verify Graph-compatible JWT access tokens:
//
//   - the embedded issuer (LoadOrCreateIssuer, Issuer.Authenticator): an
//     ECDSA P-256 key and a tenant id kept in the data directory. It mints
//     application tokens (MintApp, claim "roles") and delegated user tokens
//     (MintUser, claims "scp" and "wids") for the CLI and tests, and accepts
//     only ES256 tokens signed with its own key;
//   - an external OpenID Connect provider (NewOIDC): keys come from the
//     provider's JWKS (discovered through .well-known/openid-configuration and
//     refreshed when a token names an unknown key id); RS256 and ES256 only.
//
// Both check the signature, exp/nbf/iat with a 30 s leeway, the issuer, the
// audience (Graph's https://graph.microsoft.com or its app id for the embedded
// issuer) and the tenant ("tid" must match the tenant in the issuer URL). A
// rejection is an *Error with status 401 and code InvalidAuthenticationToken
// whose message says exactly why, and whose WWWAuthenticate method gives the
// Bearer challenge to send back. Tokens and keys are never logged or put
// into error messages.
//
// # Permissions
//
// Authorize applies Graph's permission tables to an Op: application callers
// need an application permission (claim "roles"), delegated callers a
// delegated permission (claim "scp"), and delegated synchronization writes
// also a directory role (claim "wids"): Application Administrator, Cloud
// Application Administrator or Global Administrator, or for cloud sync
// (Active Directory to directory) jobs Hybrid Identity Administrator or
// Global Administrator. Application.ReadWrite.OwnedBy counts only for
// applications the caller owns. Deviations from Graph, chosen for
// simplicity: delegated directory calls (users, groups, applications,
// assignments, logs) need only the delegated permission, no directory role;
// synchronization reads need no directory role either.
//
// A denial is an *Error with status 403 and code Authorization_RequestDenied
// ("Insufficient privileges to complete the operation. ..."), naming what is
// missing.
//
// RejectPersonal refuses personal Microsoft accounts (tenant
// 9188040d-6c67-4c5b-b112-36a304b66dad) with 403 Authorization_RequestDenied
// "Personal Microsoft accounts are not supported.": the token itself is valid
// (so not 401), but the synchronization API is work-or-school only, which is
// how Graph answers personal accounts on work-only APIs. The router applies
// it to synchronization calls.
package auth

// Package graphapi is provisiond's HTTP surface: Microsoft Graph compatible
// routes under /v1.0 for the built-in directory (users, groups, service
// principals, app role assignments) and the synchronization API (templates,
// jobs, schema, secrets, provisionOnDemand, provisioning logs).
//
// Handlers return errors; one adapter writes Graph's error envelope
// ({"error":{"code","message","innerError":{...}}}) with the right status.
// A normalising middleware makes routing as forgiving as Graph's: OData key
// syntax (servicePrincipals('id')), case-insensitive segment names, trailing
// slashes and bound-function parentheses (functions()).
package graphapi

// Package graphapi is provisiond's HTTP surface: Microsoft Graph compatible
// routes under /v1.0 for the built-in directory (users, groups, service
// principals, app role assignments) and the synchronization API (templates,
// jobs, schema, secrets, provisionOnDemand, provisioning logs).
//
// Handlers return errors; one adapter writes Graph's error envelope
// ({"error":{"code","message","innerError":{...}}}) with the right status.
// A normalising middleware makes routing as forgiving as Graph's: OData key
// syntax (servicePrincipals('id')), case-insensitive segment names, trailing
// slashes and bound-function parentheses (functions()); package odata parses
// those paths and the query options. Links (@odata.context, nextLink) are
// built on the configured public URL, never on the Host header, and point
// into the CSDL served at /v1.0/$metadata. HTTPServer and Listener run the
// API with connection limits and Graph errors even for what net/http
// answers by itself.
package graphapi

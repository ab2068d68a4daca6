// Package connectortest holds the conformance suites every connector
// implementation must pass, in the spirit of dex's storage/conformance: one
// suite per seam, run against each backend and against the fakes, so they
// all behave alike.
//
// RunTarget is the connector.Target suite. It writes the flat SCIM
// attribute names of Entra's default user and group mappings (userName,
// name.givenName, emails[type eq "work"].value, the enterprise extension,
// members) and gives every object a random suffix, so it can run against a
// long-lived server.
//
// RunSource is the connector.Source suite. It describes a small directory
// (SourceData: users, groups, nested groups, app role assignments to the
// application and to another one) that the caller stores in a fresh backend,
// then checks Get (attributes, soft deletion, members, KindNotFound) and
// Entitlement (direct and group assignments, nested groups not counting,
// roles without duplicates) the way the built-in directory answers them.
package connectortest

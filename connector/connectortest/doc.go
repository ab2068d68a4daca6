// Package connectortest holds the conformance suite every connector.Target
// implementation must pass (RunTarget), in the spirit of dex's
// storage/conformance: one suite, run against each backend and against the
// fakes, so they all behave alike.
//
// The suite writes the flat SCIM attribute names of Entra's default user
// and group mappings (userName, name.givenName, emails[type eq "work"].value,
// the enterprise extension, members) and gives every object a random suffix,
// so it can run against a long-lived server.
package connectortest

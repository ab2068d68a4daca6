// Package connectortest holds the conformance suites every connector
// implementation must pass, in the spirit of dex's storage/conformance: one
// suite per seam, run against each backend and against the fakes, so they
// all behave alike.
//
// RunTarget is the connector.Target suite. It writes the flat SCIM
// attribute names of Entra's default user and group mappings (userName,
// name.givenName, emails[type eq "work"].value, the enterprise extension,
// members) and gives every object a random suffix, so it can run against a
// long-lived server. A target that is a connector.Lister must list each of
// the users and groups it made exactly once, two per page, as Get returns
// them (groups with their members).
//
// RunSource is the connector.Source suite. It describes a small directory
// (SourceData: users, groups, nested groups, app role assignments to the
// application and to another one) that the caller stores in a fresh backend,
// then checks Get (attributes, soft deletion, members, KindNotFound) and
// Entitlement (direct and group assignments, nested groups not counting,
// roles without duplicates) the way the built-in directory answers them,
// and, for a connector.Lister, that paging at several page sizes lists
// every user and group once, soft-deleted ones included, as Get returns it;
// for a connector.ChangeFeed, that the feed from the beginning names every
// user and group, pages alike at any size, replays from every watermark it
// gave, ends with the watermark given, and refuses a max below 1 and a
// watermark it never gave (KindInvalid). RunSourceProfile runs it on a
// source that names attributes its own way (LDAP's sn, title, cn) and has
// no soft deletion or account state (SourceProfile).
package connectortest

// Package memtarget is an in-memory connector.Target that behaves like a
// SCIM 2.0 app: users and groups keyed by ids it makes up, stored as the
// flat attributes the engine writes, found by any attribute (names and
// values compared ignoring case, except the case-exact externalId), unique
// userNames (a duplicate is KindConflict), membership changed only through
// AddMembers and RemoveMembers, deleted users leaving their groups, and
// listings (connector.Lister) ordered by id with the last id as the token.
//
// It passes connectortest.RunTarget, so engine tests written against it
// hold for real targets. Tests can make calls fail with any connector error
// kind (FailNext, FailWhen, Failure) and read back the calls made (Calls).
package memtarget

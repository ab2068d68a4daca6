// Package memory implements store.Store in memory: the fake for tests and
// demos that need no database, held to the same storetest conformance suite
// as sqlstore, so code tested against it behaves alike on SQLite.
//
// It mirrors sqlstore's representation: times come back in UTC truncated to
// the microsecond, Props and job statuses are copied through JSON (so they
// decode to the same types), and every record handed in or out is a copy.
// One mutex guards everything; UpdateJob calls its fn under it, so fn must
// not call the Store. Directory writes append to the change feed under it
// too, so a write and its changes are seen together or not at all.
package memory

// Package storetest is the conformance suite for store.Store. Every backend
// (sqlstore, memory) runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := open(t) // an empty store
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks the documented behaviour of every method, the sentinel
// errors (matched with errors.Is), cascades, ordering and keyset paging,
// concurrent writers, atomic job updates (concurrent UpdateJob calls on one
// job all land), the typed job status and schedule, and that times
// round-trip at least to the microsecond in UTC, and the change feed: the
// exact changes each kind of directory write records (none for a failed
// write), strictly increasing seqs, paging, pruning, job watermarks and
// the signal Subscribe gives. It also pins down what the contract leaves
// implicit; see Run.
package storetest

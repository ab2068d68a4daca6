package engine

import "testing"

// SetLinkChunk makes group reconciliations go n members at a time until
// the test ends, so that a test covers many chunks with a few members.
func SetLinkChunk(t testing.TB, n int) {
	old := linkChunk
	linkChunk = n
	t.Cleanup(func() { linkChunk = old })
}

package jobs

import (
	"context"
	"testing"
	"time"

	"provisiond/schema"
)

// A chunk's worker waiting for one of its node's slots does not start its
// object once the cycle is stopped (a pause or a delete on another node
// cancels the chunk): before, it went on to export it when a slot freed.
// A nil Service makes any export panic.
func TestStoppedWorkerTakesNoSlot(t *testing.T) {
	slots := make(chan struct{}, 1)
	slots <- struct{}{} // the node's one slot is busy
	ctx, cancel := context.WithCancel(t.Context())
	p := &pool{c: &cycle{slots: slots}, ctx: ctx,
		om: &schema.CompiledObject{Mapping: &schema.ObjectMapping{SourceObjectName: "User"}}}

	done := make(chan struct{})
	go func() { defer close(done); p.one(item{id: "u1"}, false, false) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a worker waiting for a slot did not return when its cycle was stopped")
	}

	// The slot frees just as the cycle stops: the worker takes it, sees the
	// stop, and gives it back without exporting.
	<-slots
	p.one(item{id: "u2"}, false, false)
	select {
	case slots <- struct{}{}:
	default:
		t.Fatal("a stopped worker kept the slot it took")
	}
}

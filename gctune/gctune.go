// Package gctune gives the garbage collector a floor: it runs no more
// often than every MinHeap bytes of heap growth, however small the live
// heap is.
//
// A cycle keeps little alive (about 12 MB while 100,000 users flow
// through it) but allocates some 25 KB per object, so at GOGC=100 the
// collector ran every few hundred objects and took a tenth of
// provisiond's CPU. Above MinHeap/2 of live heap, GOGC=100 applies as
// usual, so a large heap grows no more than it would have.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// MinHeap is the heap a collection is let to reach before it starts, at
// least: memory provisiond may hold as garbage between two collections.
const MinHeap = 64 << 20

// basePercent is GOGC's default, which the tuner raises but never lowers.
const basePercent = 100

var start sync.Once

// Start sets the floor for the life of the process, and reports whether
// it did; calling it again does nothing more. An operator's GOGC
// environment variable wins: with it set, Start leaves the collector alone
// (GOMEMLIMIT applies either way).
func Start() bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	start.Do(func() { arm(&tuner{floor: MinHeap}) })
	return true
}

// tuner sets GOGC after every collection so that the next one starts at
// the larger of floor and what GOGC=100 gives.
type tuner struct {
	floor   uint64
	samples [3]metrics.Sample
	stopped atomic.Bool // for tests: the next collection restores GOGC=100
}

// The runtime's heap goal is live + (live + roots) × GOGC/100, where the
// roots are the globals and goroutine stacks it scans.
var sampled = [3]string{"/gc/heap/live:bytes", "/gc/scan/globals:bytes", "/gc/scan/stack:bytes"}

// heapMinimum is the runtime's smallest heap goal at GOGC=100, which it
// scales by GOGC like the rest: at GOGC=p the goal is never below
// heapMinimum×p/100, so p may not pass floor×100/heapMinimum.
const heapMinimum = 4 << 20

// percent is the GOGC whose heap goal, for a live heap of live and roots
// of roots, is the floor; basePercent once that goal is past the floor,
// or when the live heap is unknown.
func (t *tuner) percent(live, roots uint64) int {
	if live == 0 || live+(live+roots)*basePercent/100 >= t.floor {
		return basePercent
	}
	return int(min((t.floor-live)*100/(live+roots), t.floor*100/heapMinimum))
}

// measure reads the live heap and the roots of the last collection.
func (t *tuner) measure() (live, roots uint64) {
	for i, name := range sampled {
		t.samples[i].Name = name
	}
	metrics.Read(t.samples[:])
	var v [3]uint64
	for i, s := range t.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return v[0], v[1] + v[2]
}

// arm runs t once after the next collection, and so after every one: the
// finalizer of an object nothing refers to runs after the collection that
// found it unreachable.
func arm(t *tuner) {
	// With a pointer in it, the sentinel never shares a tiny-allocator
	// block (whose finalizers may never run).
	sentinel := &struct{ t *tuner }{t}
	runtime.SetFinalizer(sentinel, func(*struct{ t *tuner }) {
		if t.stopped.Load() {
			debug.SetGCPercent(basePercent)
			return
		}
		debug.SetGCPercent(t.percent(t.measure()))
		arm(t)
	})
}

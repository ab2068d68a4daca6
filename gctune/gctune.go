// Package gctune gives the garbage collector a floor: a collection starts
// once the heap reaches MinHeap, not before, however small the live heap
// is (down to a live heap of about MinHeap/5, below which the heap may
// grow to 5× it).
//
// A cycle keeps little alive (about 12 MB while 100,000 users flow
// through it) but allocates some 25 KB per object, so at GOGC=100 the
// collector ran every few hundred objects and took a tenth of
// provisiond's CPU. Once GOGC=100's own goal is past MinHeap (a live heap
// of a little under MinHeap/2), GOGC=100 applies as usual.
//
// The percent is set after each collection, by a finalizer, for the next
// one. A finalizer may run late: on a saturated machine the next
// collection can start first, with the percent worked out for a smaller
// live heap. maxPercent bounds that overshoot to 5× the live heap.
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
	stopped atomic.Bool  // for tests: the next collection restores GOGC=100
	runs    atomic.Int64 // for tests: how often the finalizer ran
}

// maxPercent is the highest GOGC the tuner sets: the heap goal is at
// most 5× the live heap, when the live heap grew before the percent
// caught up with it (and at least 16 MiB, the runtime's minimum goal of
// 4 MiB scaled by GOGC as the rest: GOEXPERIMENT=heapminimum512kib
// makes it 2 MiB).
const maxPercent = 400

// percent is the GOGC whose heap goal, for a live heap of live and roots
// of roots, is the floor, up to maxPercent; basePercent once that goal is
// past the floor, or when the live heap is unknown.
func (t *tuner) percent(live, roots uint64) int {
	if live == 0 || live+(live+roots)*basePercent/100 >= t.floor {
		return basePercent
	}
	return int(min((t.floor-live)*100/(live+roots), maxPercent))
}

// measure reads the live heap and the roots of the last collection: the
// runtime's heap goal is live + (live + roots) × GOGC/100, where the roots
// are the globals and goroutine stacks it scans.
func measure() (live, roots uint64) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/globals:bytes"}, {Name: "/gc/scan/stack:bytes"}}
	metrics.Read(samples)
	var v [3]uint64
	for i, s := range samples {
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
		defer t.runs.Add(1)
		if t.stopped.Load() {
			debug.SetGCPercent(basePercent)
			return
		}
		debug.SetGCPercent(t.percent(measure()))
		arm(t)
	})
}

package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	tu := &tuner{floor: 64 << 20}
	const mib = 1 << 20
	for _, c := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, basePercent},               // live heap unknown
		{1 << 10, 0, 1600},                // the runtime's minimum goal, 4 MiB × 16, is the floor
		{1 * mib, 0, 1600},                // 1 MiB too (63 × 1 MiB would do, but not past the minimum)
		{3 * mib, 1 * mib, 1525},          // 3 + 4 × 15.25 = 64
		{16 * mib, 0, 300},                // 16 MiB grows to 64 MiB
		{12 * mib, 4 * mib, 325},          // the roots count: 12 + 16 × 3.25 = 64
		{32 * mib, 0, basePercent},        // twice 32 MiB is the floor
		{24 * mib, 16 * mib, basePercent}, // 24 + 40 is the floor
		{1 << 30, 0, basePercent},         // past the floor, GOGC=100
	} {
		if got := tu.percent(c.live, c.roots); got != c.want {
			t.Errorf("percent(%d, %d) = %d, want %d", c.live, c.roots, got, c.want)
		}
	}
}

// TestFloorSpacesCollections: with the tuner armed, allocating 512 MiB
// while 1 MiB stays alive takes a handful of collections (one per 64 MiB),
// against one per few MiB without it.
func TestFloorSpacesCollections(t *testing.T) {
	if p := debug.SetGCPercent(basePercent); p != basePercent {
		debug.SetGCPercent(p)
		t.Skipf("GOGC is %d here; the test measures against GOGC=100", p)
	}
	keep := make([][]byte, 32)
	for i := range keep {
		keep[i] = make([]byte, 32<<10)
	}
	churn := func() uint32 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range 16 << 10 {
			keep[i%len(keep)] = make([]byte, 32<<10)
		}
		runtime.ReadMemStats(&after)
		return after.NumGC - before.NumGC
	}
	without := churn()

	tu := &tuner{floor: 64 << 20}
	arm(tu)
	runtime.GC() // runs the first finalizer, which sets the percent
	with := churn()
	tu.stopped.Store(true)
	runtime.GC()
	runtime.GC()
	runtime.KeepAlive(keep)

	t.Logf("collections for 512 MiB: %d at GOGC=100, %d with a 64 MiB floor", without, with)
	if with < 4 || with > 16 {
		t.Errorf("with a 64 MiB floor: %d collections for 512 MiB, want about 8", with)
	}
	if without < 3*with {
		t.Errorf("at GOGC=100: %d collections, not 3× the %d with the floor", without, with)
	}
	if p := debug.SetGCPercent(basePercent); p != basePercent {
		t.Errorf("after stop: GOGC %d, want %d restored", p, basePercent)
	}
}

// TestGOGCWins: with GOGC set, Start does not tune.
func TestGOGCWins(t *testing.T) {
	t.Setenv("GOGC", "100")
	if Start() {
		t.Error("Start tunes with GOGC set")
	}
}

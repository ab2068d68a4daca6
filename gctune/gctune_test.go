package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	tu := &tuner{floor: 64 << 20}
	const mib = 1 << 20
	for _, c := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, basePercent},               // live heap unknown
		{1 << 10, 0, maxPercent},          // a goal of at most 5× the live heap (and 16 MiB)
		{3 * mib, 1 * mib, maxPercent},    // 3 + 4 × 15.25 would be 64
		{12 * mib, 1 * mib, 400},          // 12 + 13 × 4 = 64
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

// TestFloorSetsHeapGoal: with the tuner armed, the runtime's heap goal
// is the floor while the live heap is small (12 MiB alive: 24 MiB at
// GOGC=100), GOGC=100's own goal once that is past the floor (40 MiB
// alive), and GOGC=100 again once the tuner stops. How many collections a
// goal gives is the runtime's affair, and swings with the machine's load
// (an earlier form of this test counted them, and failed on busy CI
// machines); BenchmarkCycle shows what the floor saves.
func TestFloorSetsHeapGoal(t *testing.T) {
	if p := debug.SetGCPercent(basePercent); p != basePercent {
		debug.SetGCPercent(p)
		t.Skipf("GOGC is %d here; the test measures against GOGC=100", p)
	}
	alive := func(mib int) [][]byte {
		keep := make([][]byte, mib*32)
		for i := range keep {
			keep[i] = make([]byte, 32<<10)
		}
		return keep
	}
	goal := func() float64 {
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return float64(s[0].Value.Uint64()) / (1 << 20)
	}
	small := alive(12)
	tu := &tuner{floor: 64 << 20}
	arm(tu)
	runtime.GC()
	waitRun(t, tu, 1) // the finalizer set the percent for the next collection
	if g := goal(); g < 58 || g > 70 {
		t.Errorf("heap goal with 12 MiB alive: %.1f MiB, want the 64 MiB floor", g)
	}
	large := alive(40)
	n := tu.runs.Load()
	runtime.GC()
	waitRun(t, tu, n+1)
	if g := goal(); g < 100 {
		t.Errorf("heap goal with 52 MiB alive: %.1f MiB, want GOGC=100's (about 104 MiB)", g)
	}
	if p := debug.SetGCPercent(basePercent); p != basePercent {
		t.Errorf("with the live heap past half the floor: GOGC %d, want %d", p, basePercent)
	}
	runtime.KeepAlive(large)
	tu.stopped.Store(true)
	n = tu.runs.Load()
	runtime.GC()
	waitRun(t, tu, n+1)
	runtime.KeepAlive(small)
	if p := debug.SetGCPercent(basePercent); p != basePercent {
		t.Errorf("after stop: GOGC %d, want %d restored", p, basePercent)
	}
}

// waitRun waits until tu's finalizer has run n times.
func waitRun(t *testing.T, tu *tuner, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tu.runs.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the tuner ran %d times in 10 s, want %d", tu.runs.Load(), n)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestGOGCWins: with GOGC set, Start does not tune.
func TestGOGCWins(t *testing.T) {
	t.Setenv("GOGC", "100")
	if Start() {
		t.Error("Start tunes with GOGC set")
	}
}

package jobs

import (
	"testing"
	"time"
)

// A River job is orphaned only once it has stayed unlocked for
// orphanGrace: a first look, or a look soon after, is not enough (its
// worker may have just returned), and being locked again starts over.
func TestOrphanedAfterGrace(t *testing.T) {
	u := unlockedSince{}
	if u.orphaned(1, true) || u.orphaned(1, true) {
		t.Fatal("orphaned at the first looks")
	}
	u[1] = time.Now().Add(-orphanGrace) // unlocked for the whole grace
	if u.orphaned(1, false) {
		t.Fatal("orphaned while locked")
	}
	if u.orphaned(1, true) {
		t.Fatal("orphaned at once after being locked again")
	}
	u[1] = time.Now().Add(-orphanGrace)
	if !u.orphaned(1, true) {
		t.Fatal("not orphaned after the grace")
	}
	if _, kept := u[1]; kept {
		t.Error("an orphan is still remembered once reported")
	}
}

package ids

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var v4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUUID()
		if !v4.MatchString(id) {
			t.Fatalf("NewUUID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewUUID() repeated %q", id)
		}
		seen[id] = true
	}
}

var v7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewTimeUUID(t *testing.T) {
	at := time.UnixMilli(0x0123456789ab)
	id := timeUUID(at)
	if !v7.MatchString(id) || !strings.HasPrefix(id, "01234567-89ab-7") {
		t.Fatalf("timeUUID(%v) = %q; want a version 7 UUID starting with the milliseconds 01234567-89ab", at, id)
	}
	// Later milliseconds sort later, whatever the random bits.
	prev := timeUUID(at)
	for i := 1; i <= 1000; i++ {
		next := timeUUID(at.Add(time.Duration(i) * time.Millisecond))
		if next <= prev {
			t.Fatalf("%q (ms +%d) does not sort after %q", next, i, prev)
		}
		prev = next
	}
	if a, b := NewTimeUUID(), NewTimeUUID(); a == b || !v7.MatchString(a) {
		t.Errorf("NewTimeUUID() gave %q and %q; want two different version 7 UUIDs", a, b)
	}
}

package sqlstore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"provisiond/store"
)

// TestAnchorsByRange: GetAnchors reads a chunk of ids as one range of the
// primary key; it returns only the anchors asked for, whether the range
// holds few others (kept out by the check) or many (the range is cut short
// and the chunk read by IN lists), in chunks of any size.
func TestAnchorsByRange(t *testing.T) {
	ctx := t.Context()
	s := storeWithJobs(t, "j1", "j2")
	id := func(i int) string { return fmt.Sprintf("u%05d", i) }
	var b store.Batch
	at := time.UnixMicro(time.Now().UnixMicro())
	for i := range 2000 {
		// Every id of j1 as User, and as Group; and of another job: none
		// of them must be returned for j1's users.
		for _, k := range []struct{ job, typ string }{{"j1", "User"}, {"j1", "Group"}, {"j2", "User"}} {
			b.Anchors = append(b.Anchors, store.Anchor{JobID: k.job, SourceType: k.typ, SourceID: id(i),
				TargetType: k.typ, TargetID: k.job + "-" + k.typ + "-" + id(i), Updated: at})
		}
	}
	if err := s.CommitBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	every := func(from, to, step int, extra ...string) []string {
		var out []string
		for i := from; i < to; i += step {
			out = append(out, id(i))
		}
		return append(out, extra...)
	}
	for _, c := range []struct {
		name string
		ask  []string
	}{
		{"a dense chunk", every(100, 600, 1)},
		{"dense chunks, more than one", every(0, 1500, 1)},
		{"every other: the others in the range are left out", every(0, 400, 2)},
		{"every tenth: the range is cut short", every(0, 2000, 10)},
		{"dense, then sparse", every(0, 1000, 1, every(1000, 2000, 50)...)},
		{"absent ids among them, and twice", every(0, 600, 3, "u00001x", "u99999", "a", id(5), id(5))},
		{"one", []string{id(1999)}},
		{"none", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.GetAnchors(ctx, "j1", "User", c.ask)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, a := range c.ask {
				var n int
				if _, err := fmt.Sscanf(a, "u%05d", &n); err == nil && len(a) == 6 && n < 2000 {
					want = append(want, a)
				}
			}
			want = slices.Compact(slices.Sorted(slices.Values(want)))
			var ids []string
			for _, a := range got {
				if a.JobID != "j1" || a.SourceType != "User" || a.TargetID != "j1-User-"+a.SourceID || !a.Updated.Equal(at) {
					t.Errorf("anchor %+v: not j1's user anchor as committed", a)
				}
				ids = append(ids, a.SourceID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, want) {
				t.Errorf("GetAnchors returned %d anchors, want %d:\n got %v\nwant %v", len(ids), len(want), ids, want)
			}
		})
	}
}

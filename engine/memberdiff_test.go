package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"provisiond/schema"
	"provisiond/store"
)

// chunkState answers GetAnchors with an anchor per id (target "t-"+id)
// and says which chunk it read on reads.
type chunkState struct {
	State
	reads chan int
	n     int
}

func (s *chunkState) GetAnchors(_ context.Context, jobID, sourceType string, ids []string) ([]store.Anchor, error) {
	s.n++
	s.reads <- s.n
	as := make([]store.Anchor, len(ids))
	for i, id := range ids {
		as[i] = store.Anchor{JobID: jobID, SourceType: sourceType, SourceID: id, TargetType: "User", TargetID: "t-" + id}
	}
	return as, nil
}

// waitingWriter records AddMembers and, for its first, waits until the
// second chunk's anchors are read: with the write and the next read
// taking turns, that never happens.
type waitingWriter struct {
	reads   chan int
	added   [][]string
	timeout bool
}

func (w *waitingWriter) AddMembers(_ context.Context, _ string, ids []string) error {
	if len(w.added) == 0 {
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case n := <-w.reads:
				if n >= 2 {
					break wait
				}
			case <-deadline:
				w.timeout = true
				break wait
			}
		}
	}
	w.added = append(w.added, slices.Clone(ids))
	return nil
}

func (w *waitingWriter) RemoveMembers(context.Context, string, []string) error { return nil }

// TestMemberDiffOverlapsReadsAndWrites: a big group's first chunk is
// written while the second chunk's anchors are read, and every chunk
// still goes, in order, each once, with the counts of all of them.
func TestMemberDiffOverlapsReadsAndWrites(t *testing.T) {
	old := linkChunk
	linkChunk = 3
	t.Cleanup(func() { linkChunk = old })

	reads := make(chan int, 16)
	st := &chunkState{reads: reads}
	job := &Job{ID: "j", State: st}
	r := &run{u: &unit{job: job}, job: job}
	w := &waitingWriter{reads: reads}
	uom := &schema.CompiledObject{Mapping: &schema.ObjectMapping{SourceObjectName: "User", TargetObjectName: "User"}}
	d := r.newMemberDiff(uom, w, "g", nil)

	var members []string
	for i := range 8 {
		members = append(members, fmt.Sprint("u", i))
	}
	if err := d.add(t.Context(), members); err != nil {
		t.Fatal(err)
	}
	if w.timeout {
		t.Error("the first chunk's write waited 10 s for the second chunk's read: reads and writes take turns")
	}
	want := [][]string{{"t-u0", "t-u1", "t-u2"}, {"t-u3", "t-u4", "t-u5"}, {"t-u6", "t-u7"}}
	if !slices.EqualFunc(w.added, want, slices.Equal) {
		t.Errorf("AddMembers calls %v, want %v", w.added, want)
	}
	if d.added != 8 || len(d.changes) != 8 || d.err != nil {
		t.Errorf("added %d, changes %d, err %v; want 8, 8, nil", d.added, len(d.changes), d.err)
	}
}

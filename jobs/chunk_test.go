package jobs

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/store"
)

// inlineSpreader works a cycle's chunks when the cycle waits for them, in
// this process, one after the other; each result goes through JSON, as it
// does through River's recorded output.
type inlineSpreader struct {
	svc    *Service
	next   int64
	worked int
	// twice works each chunk a first time and drops its result, as a
	// node that stopped after committing the chunk's work, then again.
	twice bool
}

func (*inlineSpreader) Schedule(context.Context, string, string, time.Time) error { return nil }
func (*inlineSpreader) Stop(context.Context, string, string) error                { return nil }
func (*inlineSpreader) spreading() bool                                           { return true }
func (*inlineSpreader) beginCycle(context.Context, string, string) (func(), error) {
	return func() {}, nil
}

func (s *inlineSpreader) addChunk(context.Context, chunkArgs) (int64, error) {
	s.next++
	return s.next, nil
}

func (s *inlineSpreader) waitChunks(ctx context.Context, _ string, pending map[int64]chunkArgs, done func(chunkResult)) error {
	for _, id := range slices.Sorted(func(yield func(int64) bool) {
		for id := range pending {
			if !yield(id) {
				return
			}
		}
	}) {
		a := pending[id]
		if s.twice {
			if _, err := s.svc.runChunk(ctx, a); err != nil {
				return err
			}
			a.Listed, a.Again = false, true
		}
		r, err := s.svc.runChunk(ctx, a)
		if err != nil {
			return err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var back chunkResult
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		done(back)
		s.worked++
	}
	return nil
}

// A job's cycles in chunks of 3 objects end as the same cycles in one
// piece: the same figures (a failing create escrowed), the same escrows,
// the same held deletes and quarantine over the threshold, the same
// provisioning logs and target. With every chunk worked twice (the first
// attempt's work committed, its result lost, as when a node stops), the
// cycles still count the same exports: the second attempt finds them done.
func TestChunkedCyclesMatchWhole(t *testing.T) {
	type outcome struct {
		initial, guarded store.Execution
		escrows          []string
		staged           int
		quarantine       string
		logged           map[string]int
		active           int
	}
	run := func(t *testing.T, chunked bool, twice ...bool) (outcome, int) {
		f := newCycleFixture(t, map[string]string{DeleteThresholdSetting: "5"})
		sp := &inlineSpreader{svc: f.svc, twice: len(twice) > 0}
		if chunked {
			f.svc.sched, f.svc.chunk = sp, 3
		}
		ids := f.users(10)
		f.tgt.FailWhen(func(c memtarget.Call) *connector.Error {
			if c.Op == memtarget.OpCreate && attrHas(c.Attrs, "userName", "user05") {
				return memtarget.Failure(connector.KindInvalid, 0)
			}
			return nil
		})
		var o outcome
		o.initial = *f.okCycle().Status.LastExecution
		for _, e := range f.escrows() {
			o.escrows = append(o.escrows, e.SourceID+" "+e.Code)
		}
		f.unassign(ids)
		j := f.okCycle()
		o.guarded = *j.Status.LastExecution
		o.staged = len(f.staged())
		if j.Status.Quarantine != nil {
			o.quarantine = j.Status.Quarantine.Reason
		}
		o.logged = f.loggedActions()
		o.active, _ = f.activeUsers()
		return o, sp.worked
	}
	whole, _ := run(t, false)
	chunked, worked := run(t, true)
	again, _ := run(t, true, true)
	if again.initial.CountExported != whole.initial.CountExported || again.guarded.CountExported != whole.guarded.CountExported {
		t.Errorf("exported with every chunk worked twice: %d then %d; in one piece %d then %d", again.initial.CountExported,
			again.guarded.CountExported, whole.initial.CountExported, whole.guarded.CountExported)
	}
	// 10 users in chunks of 3, twice (the initial cycle, the 10 unassigned).
	if worked != 8 {
		t.Errorf("%d chunks were worked, want 8", worked)
	}
	figures := func(e store.Execution) [6]int64 {
		return [6]int64{e.CountImported, e.CountEntitled, e.CountExported, e.CountEscrowed, e.CountEscrowedRaw, e.CountImportedDeltas}
	}
	if figures(whole.initial) != figures(chunked.initial) || whole.initial.State != chunked.initial.State {
		t.Errorf("initial cycle in chunks: %s %v; in one piece: %s %v", chunked.initial.State, figures(chunked.initial), whole.initial.State, figures(whole.initial))
	}
	if whole.initial.CountEscrowed != 1 || whole.initial.CountExported != 9 {
		t.Errorf("initial cycle: %v; want 9 exported and user05 escrowed", figures(whole.initial))
	}
	if figures(whole.guarded) != figures(chunked.guarded) {
		t.Errorf("cycle of the unassigned users in chunks: %v; in one piece: %v", figures(chunked.guarded), figures(whole.guarded))
	}
	if !slices.Equal(whole.escrows, chunked.escrows) || len(whole.escrows) != 1 {
		t.Errorf("escrows in chunks %v, in one piece %v; want user05's", chunked.escrows, whole.escrows)
	}
	if whole.staged != 9 || chunked.staged != 9 || whole.quarantine != ReasonTooManyDeletes || chunked.quarantine != ReasonTooManyDeletes {
		t.Errorf("held deletes: in chunks %d (%q), in one piece %d (%q); want 9 over the threshold of 5, quarantined",
			chunked.staged, chunked.quarantine, whole.staged, whole.quarantine)
	}
	if len(whole.logged) == 0 || !mapsEqual(whole.logged, chunked.logged) {
		t.Errorf("provisioning logs by action: in chunks %v, in one piece %v", chunked.logged, whole.logged)
	}
	if whole.active != 9 || chunked.active != 9 {
		t.Errorf("active target users: in chunks %d, in one piece %d; want 9", chunked.active, whole.active)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A chunk's figures add to the cycle's.
func TestCountsAddResult(t *testing.T) {
	var n counts
	n.imported.Add(2)
	n.addResult(chunkResult{Imported: 3, Entitled: 3, Exported: 2, Escrowed: 1, Skipped: 0, BaseFailed: 1})
	n.addResult(chunkResult{Imported: 4, Entitled: 3, Skipped: 1, Escrowed: 1, RefFailed: 1})
	got := [7]int64{n.imported.Load(), n.entitled.Load(), n.exported.Load(), n.escrowed.Load(), n.skipped.Load(), n.baseFailed.Load(), n.refFailed.Load()}
	if want := [7]int64{9, 6, 2, 2, 1, 1, 1}; got != want {
		t.Errorf("counts after two chunks: %v, want %v", got, want)
	}
}

func attrHas(a connector.Attributes, name, part string) bool {
	v, _ := a.Get(name)
	return strings.Contains(v, part)
}

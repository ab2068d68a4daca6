package engine_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/store"
	"provisiond/store/sqlstore"
)

var bigGroupMembers = flag.Int("biggroup.members", 100_000, "BenchmarkAllMembers: members of the group")

// BenchmarkAllMembers reconciles a group of -biggroup.members members, as
// a cycle does, three times: the initial cycle (the group is created and
// every member added), a cycle with nothing to do (every member already
// in the target), and one after half the members left the source group.
// It reports, for each, the peak of the live heap above what it was before
// (peak-MB: what the engine keeps, plus what the in-memory target keeps of
// the members it is given and the source's member list) and the bytes
// allocated (alloc-MB), most of them garbage from reading anchors.
// The members' anchors are in a SQLite store, so that reading them
// allocates as it does in a cycle. The fixture's in-memory target holds
// about 1 KB per user, and what is allocated while a collection marks
// counts as live, so with a million members the figures carry some 100
// MB of noise; the e2e BenchmarkCycle measures the process.
//
//	go test ./engine -run '^$' -bench AllMembers -benchtime 1x -biggroup.members 1000000
func BenchmarkAllMembers(b *testing.B) {
	n := *bigGroupMembers
	for range b.N {
		b.StopTimer()
		f, g := bigGroupFixture(b, n)
		req := engine.Request{ObjectType: "Group", ObjectID: g, AllMembers: true}
		var out *engine.Outcome
		phase := func(name string, check func()) {
			b.StartTimer()
			var err error
			peak, alloc := measureHeap(func() { out, err = f.eng.Process(b.Context(), f.job, req) })
			must(b, err)
			b.StopTimer()
			if out.Status == engine.StatusFailure {
				b.Fatalf("%s: %s %s", name, out.Code, out.Message)
			}
			check()
			b.ReportMetric(peak/(1<<20), name+"-peak-MB")
			b.ReportMetric(alloc/(1<<20), name+"-alloc-MB")
		}
		members := func(want int) {
			obj, err := f.tgt.Get(b.Context(), "Group", out.TargetID)
			must(b, err)
			if got := len(obj.Attrs["members"]); got != want {
				b.Fatalf("target group has %d members, want %d", got, want)
			}
		}
		phase("initial", func() { members(n) })
		phase("insync", func() { members(n) })
		for i := range n / 2 {
			must(b, f.st.RemoveMember(b.Context(), g, memberID(i)))
		}
		phase("leave", func() { members(n - n/2) })
	}
}

func memberID(i int) string { return fmt.Sprintf("u-%08d", i) }

// bigGroupFixture is a fixture whose assigned group has n members, each
// provisioned (a target user and an anchor in a SQLite store).
func bigGroupFixture(b *testing.B, n int) (*fixture, string) {
	f := newFixture(b, nil)
	ctx := b.Context()
	sq, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "state.db"), nil)
	must(b, err)
	b.Cleanup(func() { sq.Close() })
	must(b, sq.CreateServicePrincipal(ctx,
		store.Application{ID: "app-1", AppID: "appid-1", DisplayName: "SCIM app", Created: epoch},
		store.ServicePrincipal{ID: spID, AppID: "appid-1", ApplicationID: "app-1", DisplayName: "SCIM app", Created: epoch}))
	must(b, sq.CreateJob(ctx, store.Job{ID: jobID, ServicePrincipalID: spID, TemplateID: "scim", Created: epoch, Updated: epoch}))
	f.useState(sq)
	g := "g-big"
	must(b, f.st.CreateGroup(ctx, store.Group{ID: g, DisplayName: "big", Created: epoch}))
	f.assign(g)
	var batch store.Batch
	for i := range n {
		id := memberID(i)
		must(b, f.st.AddMember(ctx, g, id))
		u, err := f.tgt.Create(ctx, "User", connector.Attributes{"userName": {id + "@contoso.test"}})
		must(b, err)
		batch.Anchors = append(batch.Anchors, store.Anchor{JobID: jobID, SourceType: "User", SourceID: id,
			TargetType: "User", TargetID: u.ID, Updated: epoch})
		if len(batch.Anchors) == 10_000 || i == n-1 {
			must(b, sq.CommitBatch(ctx, batch))
			batch.Anchors = batch.Anchors[:0]
		}
	}
	return f, g
}

// measureHeap runs do and returns the peak of the live heap above what it
// was before, and the bytes do allocated. The live heap is what the last
// garbage collection marked; while do runs, the collector runs after every
// 10% of growth (GOGC=10) rather than 100%, so that the peak of what do
// keeps is seen however much the fixture holds, and the garbage do makes
// does not count (a process's resident memory follows its live heap).
func measureHeap(do func()) (peak, alloc float64) {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(samples)
	base, allocs := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	top := base
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		s := samples[:1:1]
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			top = max(top, s[0].Value.Uint64())
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	do()
	stop()
	wg.Wait()
	metrics.Read(samples)
	top = max(top, samples[0].Value.Uint64())
	return float64(top - base), float64(samples[1].Value.Uint64() - allocs)
}

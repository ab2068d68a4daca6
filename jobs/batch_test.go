package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/engine"
	"provisiond/ids"
	"provisiond/schema"
	"provisiond/store"
	"provisiond/store/memory"
)

// batchFixture is a memory store with job "j"; userAnchor makes one of its
// user anchors.
func batchFixture(t *testing.T) *memory.Store {
	t.Helper()
	st := memory.New()
	if err := st.CreateServicePrincipal(t.Context(), store.Application{ID: "a", AppID: "a"}, store.ServicePrincipal{ID: "sp", AppID: "a", ApplicationID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateJob(t.Context(), store.Job{ID: "j", ServicePrincipalID: "sp"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func userAnchor(src, tgt string) store.Anchor {
	return store.Anchor{JobID: "j", SourceType: "User", SourceID: src, TargetType: "U", TargetID: tgt, Updated: time.Unix(1, 0).UTC()}
}

// TestBatchState: a cycle's kept writes are read back before they are
// committed, deletes answer as the store would, nothing reaches the store
// before a flush or a full batch, and a flush commits all of it.
func TestBatchState(t *testing.T) {
	ctx := t.Context()
	st := batchFixture(t)
	stored := userAnchor("u-stored", "t0")
	if err := st.PutAnchor(ctx, stored); err != nil {
		t.Fatal(err)
	}
	b := newBatchState(st)
	if err := b.PutAnchor(ctx, userAnchor("u1", "t1")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: "l1", JobID: "j", ServicePrincipalID: "sp"}); err != nil {
		t.Fatal(err)
	}
	if a, err := b.GetAnchor(ctx, "j", "User", "u1"); err != nil || a.TargetID != "t1" {
		t.Errorf("kept anchor = %+v, %v", a, err)
	}
	if _, err := st.GetAnchor(ctx, "j", "User", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store has the kept anchor before a flush: %v", err)
	}
	if err := b.DeleteAnchor(ctx, "j", "User", "u-stored"); err != nil {
		t.Errorf("delete a stored anchor: %v", err)
	}
	if _, err := b.GetAnchor(ctx, "j", "User", "u-stored"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted anchor reads %v, want ErrNotFound", err)
	}
	for _, id := range []string{"u-stored", "absent"} {
		if err := b.DeleteAnchor(ctx, "j", "User", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete %s again: %v, want ErrNotFound", id, err)
		}
	}
	// GetAnchorsByTarget flushes: it sees the kept writes, and so does
	// the store.
	as, err := b.GetAnchorsByTarget(ctx, "j", "U", []string{"t1", "t0"})
	if err != nil || len(as) != 1 || as[0].SourceID != "u1" {
		t.Errorf("anchors by target = %+v, %v; want only u1", as, err)
	}
	if as, _ := st.ListAnchors(ctx, "j"); len(as) != 1 || as[0].SourceID != "u1" {
		t.Errorf("stored anchors after the flush = %+v", as)
	}
	// A full batch commits by itself, in the background.
	for i := range batchSize {
		if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: fmt.Sprint("log", i), JobID: "j", ServicePrincipalID: "sp"}); err != nil {
			t.Fatal(err)
		}
	}
	b.bg.Wait()
	p, err := st.QueryProvisioningLogs(ctx, store.LogQuery{Count: true})
	if err != nil || p.Count != batchSize+1 {
		t.Errorf("stored logs = %d, %v; want %d (l1 and a full batch)", p.Count, err, batchSize+1)
	}
	if err := b.Flush(ctx); err != nil {
		t.Errorf("flush of nothing: %v", err)
	}
}

// failingStore fails CommitBatch while fail is set, and counts anchor reads.
type failingStore struct {
	store.Store
	fail  atomic.Bool
	reads atomic.Int64
}

func (f *failingStore) CommitBatch(ctx context.Context, b store.Batch) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Store.CommitBatch(ctx, b)
}

func (f *failingStore) GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (store.Anchor, error) {
	f.reads.Add(1)
	return f.Store.GetAnchor(ctx, jobID, sourceType, sourceID)
}

// TestBatchStateFailureAndPreload: a background commit that fails loses
// nothing (its writes are read back and committed by the next flush, under
// newer ones), a flush reports a failure that lasts, and the preloaded
// anchors of a page answer without a read each, as the store would, and
// give way to the cycle's own writes.
func TestBatchStateFailureAndPreload(t *testing.T) {
	ctx := t.Context()
	mem := batchFixture(t)
	if err := mem.PutAnchor(ctx, userAnchor("u-stored", "t0")); err != nil {
		t.Fatal(err)
	}
	st := &failingStore{Store: mem}
	b := newBatchState(st)

	if err := b.Preload(ctx, "j", "User", []string{"u-stored", "u-new", "u-gone"}); err != nil {
		t.Fatal(err)
	}
	if a, err := b.GetAnchor(ctx, "j", "User", "u-stored"); err != nil || a.TargetID != "t0" {
		t.Errorf("preloaded anchor = %+v, %v", a, err)
	}
	if _, err := b.GetAnchor(ctx, "j", "User", "u-new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a preloaded absent anchor reads %v, want ErrNotFound", err)
	}
	if n := st.reads.Load(); n != 0 {
		t.Errorf("%d anchor reads for preloaded objects, want 0", n)
	}
	if _, err := b.GetAnchor(ctx, "j", "User", "u-other"); !errors.Is(err, store.ErrNotFound) || st.reads.Load() != 1 {
		t.Errorf("an anchor not preloaded: %v after %d reads, want ErrNotFound after 1", err, st.reads.Load())
	}

	st.fail.Store(true)
	if err := b.PutAnchor(ctx, userAnchor("u-new", "t1")); err != nil {
		t.Fatal(err)
	}
	for i := range batchSize {
		if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: fmt.Sprint("log", i), JobID: "j", ServicePrincipalID: "sp"}); err != nil {
			t.Fatal(err)
		}
	}
	b.bg.Wait() // the background commit failed
	if err := b.DeleteAnchor(ctx, "j", "User", "u-stored"); err != nil {
		t.Errorf("delete a preloaded anchor: %v", err)
	}
	if err := b.PutAnchor(ctx, userAnchor("u-new", "t2")); err != nil { // newer than the failed batch's
		t.Fatal(err)
	}
	if a, err := b.GetAnchor(ctx, "j", "User", "u-new"); err != nil || a.TargetID != "t2" {
		t.Errorf("anchor after the failed commit = %+v, %v; want t2", a, err)
	}
	if err := b.Flush(ctx); err == nil {
		t.Error("flush while the store fails: no error")
	}
	st.fail.Store(false)
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("flush once the store works: %v", err)
	}
	if a, err := mem.GetAnchor(ctx, "j", "User", "u-new"); err != nil || a.TargetID != "t2" {
		t.Errorf("stored anchor = %+v, %v; want t2", a, err)
	}
	if _, err := mem.GetAnchor(ctx, "j", "User", "u-stored"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted anchor is still stored: %v", err)
	}
	p, err := mem.QueryProvisioningLogs(ctx, store.LogQuery{Count: true})
	if err != nil || p.Count != batchSize {
		t.Errorf("stored logs = %d, %v; want %d", p.Count, err, batchSize)
	}
	// The preloaded page gave way to the writes: u-new reads as written.
	if a, err := b.GetAnchor(ctx, "j", "User", "u-new"); err != nil || a.TargetID != "t2" {
		t.Errorf("anchor after the flush = %+v, %v; want t2", a, err)
	}
}

// pausingStore holds GetAnchors until released, after reading.
type pausingStore struct {
	store.Store
	read, release chan struct{}
}

func (p *pausingStore) GetAnchors(ctx context.Context, jobID, sourceType string, ids []string) ([]store.Anchor, error) {
	as, err := p.Store.GetAnchors(ctx, jobID, sourceType, ids)
	p.read <- struct{}{}
	<-p.release
	return as, err
}

// TestBatchStatePreloadRacesWrite: a worker writes an anchor while the
// next page's preload is reading it, and the write is committed before
// the preload ends: the preload must not bring back the value it read.
// The page before stays preloaded until the next one.
func TestBatchStatePreloadRacesWrite(t *testing.T) {
	ctx := t.Context()
	mem := batchFixture(t)
	for _, a := range []store.Anchor{userAnchor("u1", "old"), userAnchor("u2", "t2"), userAnchor("u3", "t3")} {
		if err := mem.PutAnchor(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	st := &pausingStore{Store: mem, read: make(chan struct{}), release: make(chan struct{})}
	b := newBatchState(st)
	go func() { <-st.read; st.release <- struct{}{} }()
	if err := b.Preload(ctx, "j", "User", []string{"u3"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Preload(ctx, "j", "User", []string{"u1", "u2"}) }()
	<-st.read // the preload has read u1 = old
	if err := b.PutAnchor(ctx, userAnchor("u1", "new")); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil { // u1 = new is in the store, not kept
		t.Fatal(err)
	}
	st.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a, err := b.GetAnchor(ctx, "j", "User", "u1"); err != nil || a.TargetID != "new" {
		t.Errorf("u1 after a write during its preload = %+v, %v; want target new", a, err)
	}
	if _, kept := b.kept(store.AnchorKey{JobID: "j", SourceType: "User", SourceID: "u2"}); !kept {
		t.Error("u2 was not preloaded")
	}
	if a, kept := b.kept(store.AnchorKey{JobID: "j", SourceType: "User", SourceID: "u3"}); !kept || a.TargetID != "t3" {
		t.Errorf("the page before: u3 = %+v, kept %v; want preloaded t3", a, kept)
	}
}

// A job deleted during its cycle takes its anchors, but the logs of what
// the cycle wrote before are committed all the same: they outlive the job.
func TestBatchOfADeletedJobKeepsItsLogs(t *testing.T) {
	ctx := t.Context()
	st := batchFixture(t)
	b := newBatchState(st)
	if err := b.PutAnchor(ctx, userAnchor("u1", "t1")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"l1", "l2"} {
		if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: id, JobID: "j", ServicePrincipalID: "sp", Activity: time.Unix(2, 0).UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteJob(ctx, "sp", "j"); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Flush of a deleted job's batch = %v, want ErrNotFound", err)
	}
	logs, err := st.ListProvisioningLogs(ctx, "j", store.ListOptions{})
	if err != nil || len(logs) != 2 {
		t.Errorf("the deleted job's logs: %d, %v; want both", len(logs), err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Errorf("a second Flush = %v, want nil: the first left nothing to commit", err)
	}
	if logs, _ := st.ListProvisioningLogs(ctx, "j", store.ListOptions{}); len(logs) != 2 {
		t.Errorf("after a second Flush, %d logs; want the two, once each", len(logs))
	}
}

// blockedStore holds every CommitBatch until release is closed.
type blockedStore struct {
	store.Store
	release chan struct{}
}

func (s *blockedStore) CommitBatch(ctx context.Context, b store.Batch) error {
	<-s.release
	return s.Store.CommitBatch(ctx, b)
}

// A pool's feed waits for the commits when the batch keeps two batches
// more than the one being committed, and not before: what a cycle keeps
// in memory is bounded when its store is slower than its target.
func TestFeedWaitsForCommitsFallingBehind(t *testing.T) {
	ctx := t.Context()
	st := &blockedStore{Store: batchFixture(t), release: make(chan struct{})}
	b := newBatchState(st)
	p := &pool{ctx: ctx, job: &engine.Job{ID: "j"}, om: &schema.CompiledObject{Mapping: &schema.ObjectMapping{SourceObjectName: "User"}},
		batch: b, work: make(chan item)}
	logs := func(n int) {
		for range n {
			if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: ids.NewTimeUUID(), JobID: "j", ServicePrincipalID: "sp"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	logs(batchSize) // a batch, whose commit is held once it has taken the writes
	for b.backlog() > 0 {
		time.Sleep(time.Millisecond)
	}
	logs(2*batchSize - 1) // two batches kept but one
	release := sync.OnceFunc(func() { close(st.release) })
	t.Cleanup(release)
	fed := make(chan bool, 2)
	go func() { fed <- p.feed(nil) }()
	select {
	case ok := <-fed:
		if !ok {
			t.Fatalf("feed stopped: %v", p.firstErr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("feed waited for the commits with less than two batches kept")
	}
	logs(1)
	go func() { fed <- p.feed(nil) }()
	select {
	case <-fed:
		t.Fatal("feed returned while the batch kept two batches and the commits were held")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if ok := <-fed; !ok {
		t.Fatalf("feed stopped: %v", p.firstErr)
	}
	if n := b.backlog(); n != 0 {
		t.Errorf("after the feed's flush the batch keeps %d writes, want 0", n)
	}
	page, err := st.QueryProvisioningLogs(ctx, store.LogQuery{Count: true})
	if err != nil || page.Count != 3*batchSize {
		t.Errorf("stored logs = %d, %v; want %d", page.Count, err, 3*batchSize)
	}
}

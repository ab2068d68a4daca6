package jobs

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"provisiond/store"
	"provisiond/store/memory"
)

// TestBatchState: a cycle's kept writes are read back before they are
// committed, deletes answer as the store would, nothing reaches the store
// before a flush or a full batch, and a flush commits all of it.
func TestBatchState(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	if err := st.CreateServicePrincipal(ctx, store.Application{ID: "a", AppID: "a"}, store.ServicePrincipal{ID: "sp", AppID: "a", ApplicationID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateJob(ctx, store.Job{ID: "j", ServicePrincipalID: "sp"}); err != nil {
		t.Fatal(err)
	}
	anchor := func(src, tgt string) store.Anchor {
		return store.Anchor{JobID: "j", SourceType: "User", SourceID: src, TargetType: "U", TargetID: tgt, Updated: time.Unix(1, 0).UTC()}
	}
	stored := anchor("u-stored", "t0")
	if err := st.PutAnchor(ctx, stored); err != nil {
		t.Fatal(err)
	}
	b := newBatchState(st)
	if err := b.PutAnchor(ctx, anchor("u1", "t1")); err != nil {
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
	// ListAnchors flushes: it sees the kept writes, and so does the store.
	as, err := b.ListAnchors(ctx, "j")
	if err != nil || len(as) != 1 || as[0].SourceID != "u1" {
		t.Errorf("anchors listed = %+v, %v; want only u1", as, err)
	}
	if as, _ := st.ListAnchors(ctx, "j"); len(as) != 1 || as[0].SourceID != "u1" {
		t.Errorf("stored anchors after the flush = %+v", as)
	}
	// A full batch commits by itself.
	for i := range batchSize {
		if err := b.AddProvisioningLog(ctx, store.ProvisioningLog{ID: fmt.Sprint("log", i), JobID: "j", ServicePrincipalID: "sp"}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.QueryProvisioningLogs(ctx, store.LogQuery{Count: true})
	if err != nil || p.Count != batchSize+1 {
		t.Errorf("stored logs = %d, %v; want %d (l1 and a full batch)", p.Count, err, batchSize+1)
	}
	if err := b.Flush(ctx); err != nil {
		t.Errorf("flush of nothing: %v", err)
	}
}

package sqlstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"provisiond/ids"
	"provisiond/store"
)

// BenchmarkCommitLogs commits a cycle's provisioning logs as its
// write-behind batches do, 500 a batch, each a user create event with ids
// of its own: what storing the logs costs per object (ns/op is per log).
func BenchmarkCommitLogs(b *testing.B) {
	s := storeWithJobs(b, "j")
	event, err := os.ReadFile(filepath.Join("testdata", "cycle_user_create.json"))
	if err != nil {
		b.Fatal(err)
	}
	event = bytes.TrimSpace(event)
	const objectID, changeID = "3e7a9c1b-5d2f-4b8e-a6c4-1f9d7e5b3a20", "8c1d4e2a-7b3f-4a6c-9e1d-2f5a8b7c3d01"
	cycleID := ids.NewTimeUUID()
	at := time.Now()
	commitEach(b, s, 500, func(batch *store.Batch, i int) {
		src, change := ids.NewUUID(), ids.NewUUID()
		data := bytes.ReplaceAll(bytes.ReplaceAll(event, []byte(objectID), []byte(src)), []byte(changeID), []byte(change))
		batch.Logs = append(batch.Logs, store.ProvisioningLog{ID: ids.NewTimeUUID(), JobID: "j", ServicePrincipalID: "sp",
			ChangeID: change, Activity: at.Add(time.Duration(i) * time.Millisecond), CycleID: cycleID, Action: "Create",
			Status: "Success", SourceID: src, SourceName: fmt.Sprintf("Bench User %d", i), TargetID: ids.NewUUID(), Data: data})
	})
}

// commitEach runs b's loop, each iteration adding one row to a batch with
// add (i counts the iterations), and commits the batch every perBatch
// rows, as a cycle's write-behind batches do, and once more at the end.
func commitEach(b *testing.B, s *Store, perBatch int, add func(batch *store.Batch, i int)) {
	var batch store.Batch
	commit := func() {
		if err := s.CommitBatch(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		batch = store.Batch{Anchors: batch.Anchors[:0], Logs: batch.Logs[:0]}
	}
	for i := 0; b.Loop(); i++ {
		add(&batch, i)
		if len(batch.Anchors)+len(batch.Logs) == perBatch {
			commit()
		}
	}
	commit()
}

// BenchmarkCommitAnchors commits a cycle's anchors as its write-behind
// batches do, 2,048 a batch, with random source and target ids (as UUIDs
// come): what storing the anchors costs per object (ns/op is per anchor).
// Their indexes are written in random order, so the cost per anchor grows
// with their size: run it with -benchtime 100000x for a 100,000-user
// cycle's.
func BenchmarkCommitAnchors(b *testing.B) {
	jobID := ids.NewUUID()
	s := storeWithJobs(b, jobID)
	at := time.Now()
	commitEach(b, s, 2048, func(batch *store.Batch, _ int) {
		batch.Anchors = append(batch.Anchors, store.Anchor{JobID: jobID, SourceType: "User", SourceID: ids.NewUUID(),
			TargetType: "User", TargetID: ids.NewUUID(), Updated: at})
	})
}

// BenchmarkCommitAnchorsBesideAnother commits a second job's initial
// cycle's anchors (source ids in order, as a cycle lists them; target ids
// random), 2,048 a batch, into a store that holds 100,000 anchors of
// another job: what an application's cycle costs with others beside it.
// Run it with -benchtime 100000x. In the index of target keys a job's
// anchors keep to a range of their own, so this costs what the first
// job's cycle did, not what a cycle over both jobs' anchors would.
func BenchmarkCommitAnchorsBesideAnother(b *testing.B) {
	for _, others := range []int{0, 100000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			first, second := ids.NewUUID(), ids.NewUUID()
			s := storeWithJobs(b, first, second)
			if others > 0 {
				storeUserAnchors(b, s, first, others)
			}
			at := time.Now()
			commitEach(b, s, 2048, func(batch *store.Batch, i int) {
				batch.Anchors = append(batch.Anchors, store.Anchor{JobID: second, SourceType: "User", SourceID: fmt.Sprintf("%09d", i),
					TargetType: "User", TargetID: ids.NewUUID(), Updated: at})
			})
		})
	}
}

// BenchmarkGetAnchors reads pages of 500 anchors, as a cycle does for a
// page of a listing or a chunk of a big group's members, out of 100,000:
// by range (GetAnchors) and, as the baseline, by IN lists.
func BenchmarkGetAnchors(b *testing.B) {
	ctx := b.Context()
	s := storeWithJobs(b, "j")
	src := storeUserAnchors(b, s, "j", 100000)
	for _, read := range []struct {
		name string
		get  func(ids []string) ([]store.Anchor, error)
	}{
		{"range", func(ids []string) ([]store.Anchor, error) { return s.GetAnchors(ctx, "j", "User", ids) }},
		{"in", func(ids []string) ([]store.Anchor, error) {
			return s.anchorsIn(ctx, "j", "User", ids)
		}},
	} {
		b.Run(read.name, func(b *testing.B) {
			page := 0
			for b.Loop() {
				from := page * 500 % len(src)
				page++
				if as, err := read.get(src[from : from+500]); err != nil || len(as) != 500 {
					b.Fatalf("%d anchors, %v; want 500", len(as), err)
				}
			}
		})
	}
}

// storeUserAnchors stores n anchors of users of job jobID, with random
// source and target ids, in one batch, and returns their source ids in
// order (a cycle lists the directory in id order).
func storeUserAnchors(b *testing.B, s *Store, jobID string, n int) []string {
	src := make([]string, n)
	for i := range src {
		src[i] = ids.NewUUID()
	}
	slices.Sort(src)
	var batch store.Batch
	for _, id := range src {
		batch.Anchors = append(batch.Anchors, store.Anchor{JobID: jobID, SourceType: "User", SourceID: id,
			TargetType: "User", TargetID: ids.NewUUID(), Updated: time.Now()})
	}
	if err := s.CommitBatch(b.Context(), batch); err != nil {
		b.Fatal(err)
	}
	return src
}

// storeWithJobs returns a store on a temporary file with service
// principal "sp" and its jobs jobIDs.
func storeWithJobs(t testing.TB, jobIDs ...string) *Store {
	s := openTemp(t)
	if err := s.CreateServicePrincipal(t.Context(), store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range jobIDs {
		if err := s.CreateJob(t.Context(), store.Job{ID: id, ServicePrincipalID: "sp", TemplateID: "scim"}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

package sqlstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"provisiond/ids"
	"provisiond/store"
)

// BenchmarkCommitLogs commits a cycle's provisioning logs as its
// write-behind batches do, 500 a batch, each a user create event with ids
// of its own: what storing the logs costs per object (ns/op is per log).
func BenchmarkCommitLogs(b *testing.B) {
	ctx := b.Context()
	s := benchStore(b, "j")
	event, err := os.ReadFile(filepath.Join("testdata", "cycle_user_create.json"))
	if err != nil {
		b.Fatal(err)
	}
	event = bytes.TrimSpace(event)
	const objectID, changeID = "3e7a9c1b-5d2f-4b8e-a6c4-1f9d7e5b3a20", "8c1d4e2a-7b3f-4a6c-9e1d-2f5a8b7c3d01"
	cycleID := ids.NewTimeUUID()
	const perBatch = 500
	var batch store.Batch
	at := time.Now()
	i := 0
	for b.Loop() {
		src, change := ids.NewUUID(), ids.NewUUID()
		data := bytes.ReplaceAll(bytes.ReplaceAll(event, []byte(objectID), []byte(src)), []byte(changeID), []byte(change))
		batch.Logs = append(batch.Logs, store.ProvisioningLog{ID: ids.NewTimeUUID(), JobID: "j", ServicePrincipalID: "sp",
			ChangeID: change, Activity: at.Add(time.Duration(i) * time.Millisecond), CycleID: cycleID, Action: "Create",
			Status: "Success", SourceID: src, SourceName: fmt.Sprintf("Bench User %d", i), TargetID: ids.NewUUID(), Data: data})
		i++
		if len(batch.Logs) == perBatch {
			if err := s.CommitBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch.Logs = batch.Logs[:0]
		}
	}
	if err := s.CommitBatch(ctx, batch); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommitAnchors commits a cycle's anchors as its write-behind
// batches do, 2,048 a batch, with random source and target ids (as UUIDs
// come): what storing the anchors costs per object (ns/op is per anchor).
// Their indexes are written in random order, so the cost per anchor grows
// with their size: run it with -benchtime 100000x for a 100,000-user
// cycle's.
func BenchmarkCommitAnchors(b *testing.B) {
	ctx := b.Context()
	jobID := ids.NewUUID()
	s := benchStore(b, jobID)
	const perBatch = 2048
	var batch store.Batch
	at := time.Now()
	for b.Loop() {
		batch.Anchors = append(batch.Anchors, store.Anchor{JobID: jobID, SourceType: "User", SourceID: ids.NewUUID(),
			TargetType: "User", TargetID: ids.NewUUID(), Updated: at})
		if len(batch.Anchors) == perBatch {
			if err := s.CommitBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch.Anchors = batch.Anchors[:0]
		}
	}
	if err := s.CommitBatch(ctx, batch); err != nil {
		b.Fatal(err)
	}
}

// benchStore returns a store on a temporary file with service principal
// "sp" and its job jobID.
func benchStore(b *testing.B, jobID string) *Store {
	s := openTemp(b)
	if err := s.CreateServicePrincipal(b.Context(), store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateJob(b.Context(), store.Job{ID: jobID, ServicePrincipalID: "sp", TemplateID: "scim"}); err != nil {
		b.Fatal(err)
	}
	return s
}

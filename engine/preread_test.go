package engine_test

import (
	"context"
	"sync/atomic"
	"testing"

	"provisiond/connector"
	"provisiond/engine"
)

// countingSource counts the reads of the source it wraps.
type countingSource struct {
	connector.Source
	gets atomic.Int64
}

func (c *countingSource) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	c.gets.Add(1)
	return c.Source.Get(ctx, objectType, id)
}

// Entitlement keeps the wrapped source's assignments visible.
func (c *countingSource) Entitlement(ctx context.Context, objectType, id string) (connector.Entitlement, error) {
	return c.Source.(connector.Entitler).Entitlement(ctx, objectType, id)
}

// A request that carries the source object (a cycle's listing) is not read
// again, and gives the same outcome as one the engine reads itself.
func TestRequestWithObjectIsNotReadAgain(t *testing.T) {
	f := newFixture(t, nil)
	id := f.user("ada", nil)
	f.assign(id)
	src := &countingSource{Source: f.job.Source}
	f.job.Source = src
	obj, err := src.Source.Get(t.Context(), "User", id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.eng.Process(t.Context(), f.job, engine.Request{ObjectType: "User", ObjectID: id, Object: &obj})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate {
		t.Fatalf("outcome %s/%s, want Success/Create", out.Status, out.Action)
	}
	if n := src.gets.Load(); n != 0 {
		t.Errorf("the source was read %d times for a request that carried its object", n)
	}
	// Without the object, the engine reads it: in sync now.
	out, err = f.eng.Process(t.Context(), f.job, engine.Request{ObjectType: "User", ObjectID: id})
	if err != nil {
		t.Fatal(err)
	}
	if out.Code != "RedundantExport" || src.gets.Load() != 1 {
		t.Errorf("second request: %s with %d reads, want RedundantExport after one read", out.Code, src.gets.Load())
	}
}

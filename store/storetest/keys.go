package storetest

import (
	"errors"
	"sync"
	"testing"

	"provisiond/store"
)

func testClaimKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Concurrent first claims with different keys: exactly one wins.
	fps := []string{"fp-a", "fp-b", "fp-c", "fp-d"}
	errs := make([]error, len(fps))
	var wg sync.WaitGroup
	for i, fp := range fps {
		wg.Go(func() { errs[i] = s.ClaimKeys(ctx, fp) })
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner == "":
			winner = fps[i]
		case err == nil:
			t.Errorf("both %s and %s were accepted", winner, fps[i])
		case !errors.Is(err, store.ErrKeysDiffer):
			t.Errorf("claim %s: %v, want ErrKeysDiffer or nil", fps[i], err)
		}
	}
	if winner == "" {
		t.Fatal("no claim was accepted")
	}
	if err := s.ClaimKeys(ctx, winner); err != nil {
		t.Errorf("claiming the recorded keys again: %v", err)
	}
	if err := s.ClaimKeys(ctx, "other"); !errors.Is(err, store.ErrKeysDiffer) {
		t.Errorf("claiming other keys: %v, want ErrKeysDiffer", err)
	}
}

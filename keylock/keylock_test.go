package keylock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestDuplicateKeysTakenOnce(t *testing.T) {
	var l Locks
	unlock, err := l.Lock(context.Background(), "g", "g", "u")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Len(); got != 2 {
		t.Fatalf("Len() = %d while holding g and u, want 2", got)
	}
	unlock()
	unlock() // a second call is harmless
	if got := l.Len(); got != 0 {
		t.Fatalf("Len() = %d after unlock, want 0", got)
	}
}

func TestWaiterGivesUpWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Locks
		unlock, err := l.Lock(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := l.Lock(ctx, "a", "k"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock on a held key = %v, want DeadlineExceeded", err)
		}
		// "a" was taken before "k" blocked: it must have been released.
		u2, err := l.Lock(context.Background(), "a")
		if err != nil {
			t.Fatal(err)
		}
		u2()
		unlock()
		if got := l.Len(); got != 0 {
			t.Fatalf("Len() = %d, want 0", got)
		}
	})
}

func TestOverlappingKeysInAnyOrderDoNotDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Locks
		var wg sync.WaitGroup
		count := 0
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys := []string{"x", "y"}
				if i%2 == 1 {
					keys = []string{"y", "x"}
				}
				unlock, err := l.Lock(context.Background(), keys...)
				if err != nil {
					t.Error(err)
					return
				}
				count++ // guarded by x and y
				time.Sleep(time.Millisecond)
				unlock()
			}()
		}
		wg.Wait()
		if count != 50 {
			t.Fatalf("count = %d, want 50", count)
		}
	})
}

func TestMutualExclusion(t *testing.T) {
	var l Locks
	var wg sync.WaitGroup
	inside := 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := l.Lock(context.Background(), "k")
			if err != nil {
				t.Error(err)
				return
			}
			inside++
			if inside != 1 {
				t.Errorf("%d holders of one key", inside)
			}
			inside--
			unlock()
		}()
	}
	wg.Wait()
}

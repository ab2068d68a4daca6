package memory_test

import (
	"testing"

	"provisiond/store"
	"provisiond/store/memory"
	"provisiond/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

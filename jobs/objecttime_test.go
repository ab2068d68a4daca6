package jobs

import (
	"testing"
	"time"

	"provisiond/connector"
)

// A group listed with its members gets one object's time per 5,000 of
// them on top of its own; other objects, and groups the engine reads
// itself, one object's time.
func TestObjectTimeout(t *testing.T) {
	group := func(n int) item {
		return item{id: "g", obj: &connector.Object{ID: "g", Attrs: connector.Attributes{"members": make([]string, n)}}}
	}
	for _, tt := range []struct {
		name string
		it   item
		want int // times cycleObjectTimeout
	}{
		{"not read yet", item{id: "g"}, 1},
		{"a user", item{id: "u", obj: &connector.Object{ID: "u", Attrs: connector.Attributes{"userName": {"ada"}}}}, 1},
		{"4,999 members", group(4999), 1},
		{"5,000 members", group(5000), 2},
		{"a million members", group(1_000_000), 201},
	} {
		if got := objectTimeout(tt.it); got != cycleObjectTimeout*time.Duration(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, cycleObjectTimeout*time.Duration(tt.want))
		}
	}
}

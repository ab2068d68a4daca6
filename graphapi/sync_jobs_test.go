package graphapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"provisiond/store"
)

// TestJobItemKeepsNumbers: a job goes through the query options as a map,
// and comes out with its counts as written: not through float64, which
// holds integers exactly only up to 2^53.
func TestJobItemKeepsNumbers(t *testing.T) {
	j := store.Job{ID: "scim.1", TemplateID: "scim", Status: store.Status{Code: store.StatusActive,
		LastExecution: &store.Execution{CountExported: 1_000_000, CountImported: 1<<53 + 1, TimeBegan: time.Unix(1, 0).UTC()}}}
	item, err := jobItem(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(viewJob(j))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"countExported":1000000`, `"countImported":9007199254740993`} {
		if !strings.Contains(string(got), s) || !strings.Contains(string(want), s) {
			t.Errorf("job as a map %s\nwant it to hold %s, as the job does: %s", got, s, want)
		}
	}
}

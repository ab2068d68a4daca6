package connectortest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"provisiond/connector"
)

// readFeed reads the feed from watermark to its end, max at a time, and
// returns the changes and the watermark after each page. It fails the
// test on an error, a page larger than max, an empty page that moves the
// watermark, and a feed that does not end.
func readFeed(t *testing.T, cf connector.ChangeFeed, watermark string, max int) (changes []connector.Change, marks []string) {
	t.Helper()
	for range maxPages {
		page, next, err := cf.Changes(t.Context(), watermark, max)
		if err != nil {
			t.Fatalf("Changes(%q, %d) = %v", watermark, max, err)
		}
		if len(page) > max {
			t.Errorf("Changes(%q, %d) returned %d changes", watermark, max, len(page))
		}
		if len(page) == 0 {
			if next != watermark {
				t.Errorf("Changes(%q, %d) returned no changes and watermark %q, want the one given", watermark, max, next)
			}
			return changes, marks
		}
		for _, c := range page {
			if c.ID == "" || c.ObjectType == "" {
				t.Errorf("Changes(%q, %d) returned %+v", watermark, max, c)
			}
		}
		changes = append(changes, page...)
		marks = append(marks, next)
		watermark = next
	}
	t.Fatalf("Changes(max %d) did not end after %d pages", max, maxPages)
	return nil, nil
}

// testSourceChangeFeed reads the feed of the source setup filled: from the
// beginning it names every user and group, the same changes at any page
// size; from any watermark it gave it replays the rest; past the end it
// returns nothing and the watermark given; it refuses a max below 1 and a
// watermark it never gave.
func (ss *sourceSuite) testSourceChangeFeed(t *testing.T, s connector.Source, ids map[string]string) {
	cf, ok := s.(connector.ChangeFeed)
	if !ok {
		t.Skipf("%T has no change feed (not a connector.ChangeFeed)", s)
	}
	all, marks := readFeed(t, cf, "", 1) // a watermark after each change
	if len(all) == 0 {
		t.Fatal("the feed from the beginning is empty; want every user and group named")
	}

	named := map[string]bool{}
	for _, c := range all {
		named[fmt.Sprint(connector.ClassOf(s, c.ObjectType), c.ID)] = true
	}
	for _, u := range ss.d.Users {
		if !named[fmt.Sprint(connector.ClassUser, ids[u.Key])] {
			t.Errorf("the feed from the beginning does not name user %s", u.Key)
		}
	}
	for _, g := range ss.d.Groups {
		if !named[fmt.Sprint(connector.ClassGroup, ids[g.Key])] {
			t.Errorf("the feed from the beginning does not name group %s", g.Key)
		}
	}

	opts := cmpopts.EquateEmpty()
	for _, max := range []int{2, 3, len(all), len(all) + 100} {
		got, _ := readFeed(t, cf, "", max)
		if d := cmp.Diff(all, got, opts); d != "" {
			t.Errorf("the feed read %d at a time differs from it read 1 at a time (-1 +%d):\n%s", max, max, d)
		}
	}
	// Each watermark replays what follows it, at any page size.
	for i, mark := range marks {
		for _, max := range []int{1, 4} {
			got, _ := readFeed(t, cf, mark, max)
			if d := cmp.Diff(all[i+1:], got, opts); d != "" {
				t.Errorf("the feed from watermark %q (after change %d), %d at a time (-want +got):\n%s", mark, i, max, d)
			}
		}
	}
	end := marks[len(marks)-1]
	for range 2 {
		if page, next, err := cf.Changes(t.Context(), end, 10); err != nil || len(page) != 0 || next != end {
			t.Errorf("Changes(the last watermark %q) = %v, %q, %v; want nothing and the same watermark", end, page, next, err)
		}
	}

	for _, max := range []int{0, -1} {
		if _, _, err := cf.Changes(t.Context(), "", max); connector.KindOf(err) != connector.KindInvalid {
			t.Errorf("Changes(max %d): err = %v, want KindInvalid", max, err)
		}
	}
	if _, _, err := cf.Changes(t.Context(), "not a watermark!", 10); connector.KindOf(err) != connector.KindInvalid {
		t.Errorf("Changes(a watermark the source never gave): err = %v, want KindInvalid", err)
	}
}

package connectortest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
)

// maxPages bounds a listing, so that a Lister whose tokens never end fails
// the test instead of hanging it.
const maxPages = 10000

// listAll pages through every object of the type, pageSize at a time. It
// fails the test on an error, a page larger than pageSize, a token that
// comes back, an object of another type or without an id, and an object
// listed twice.
func listAll(t *testing.T, l connector.Lister, typ string, pageSize int) []connector.Object {
	t.Helper()
	var (
		all    []connector.Object
		seen   = map[string]bool{}
		tokens = map[string]bool{"": true}
		token  string
	)
	for range maxPages {
		page, err := l.List(t.Context(), typ, token, pageSize)
		if err != nil {
			t.Fatalf("List(%s, token %q, pageSize %d) = %v", typ, token, pageSize, err)
		}
		if len(page.Objects) > pageSize {
			t.Errorf("List(%s, token %q, pageSize %d) returned %d objects", typ, token, pageSize, len(page.Objects))
		}
		for _, o := range page.Objects {
			if o.ID == "" || !strings.EqualFold(o.Type, typ) {
				t.Errorf("List(%s) returned %q %q", typ, o.Type, o.ID)
			}
			if seen[o.ID] {
				t.Errorf("List(%s, pageSize %d) returned %s twice", typ, pageSize, o.ID)
			}
			seen[o.ID] = true
			all = append(all, o)
		}
		if page.Next == "" {
			return all
		}
		if tokens[page.Next] {
			t.Fatalf("List(%s, pageSize %d) returned token %q again", typ, pageSize, page.Next)
		}
		tokens[page.Next], token = true, page.Next
	}
	t.Fatalf("List(%s, pageSize %d) did not end after %d pages", typ, pageSize, maxPages)
	return nil
}

// checkListed checks that listed holds each of want (ids, with what to call
// them) exactly once (listAll saw to that), and, when exact, nothing else;
// and that each of want is listed as Get returns it.
func checkListed(t *testing.T, what string, listed []connector.Object, want map[string]string, exact bool,
	get func(t *testing.T, id string) connector.Object) {
	t.Helper()
	byID := map[string]connector.Object{}
	for _, o := range listed {
		byID[o.ID] = o
	}
	for id, name := range want {
		o, ok := byID[id]
		if !ok {
			t.Errorf("%s: %s (%s) not listed", what, name, id)
			continue
		}
		if d := cmp.Diff(get(t, id), o); d != "" {
			t.Errorf("%s: %s listed unlike Get returns it (-Get +List):\n%s", what, name, d)
		}
		delete(byID, id)
	}
	if exact && len(byID) > 0 {
		var extra []string
		for id := range byID {
			extra = append(extra, id)
		}
		t.Errorf("%s: listed %v besides the objects there are", what, extra)
	}
}

// checkListRefuses checks the calls every Lister refuses with KindInvalid.
func checkListRefuses(t *testing.T, l connector.Lister) {
	t.Helper()
	for _, tt := range []struct {
		typ      string
		pageSize int
		what     string
	}{
		{connector.TypeUser, 0, "a page size of 0"},
		{connector.TypeGroup, -1, "a negative page size"},
		{"Printer", 10, "an unknown object type"},
	} {
		if _, err := l.List(t.Context(), tt.typ, "", tt.pageSize); connector.KindOf(err) != connector.KindInvalid {
			t.Errorf("List(%s) = %v, want KindInvalid", tt.what, err)
		}
	}
}

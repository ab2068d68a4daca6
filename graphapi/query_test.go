package graphapi

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		raw  string
		want query
	}{
		{"", query{}},
		{"$top=5&$count=TRUE&other=1", query{top: 5, count: true}},
		{"$select=DISPLAYNAME, id,displayName", query{sel: []string{"displayName", "id"}}},
		{"$select=extension_0123456789abcdef0123456789abcdef_costCenter", query{sel: []string{"extension_0123456789abcdef0123456789abcdef_costCenter"}}},
		{"$filter=" + url.QueryEscape("userPrincipalName eq 'a@b.c'"), query{filter: []cond{{prop: "userPrincipalName", val: "a@b.c"}}}},
		{"$FILTER=" + url.QueryEscape("AccountEnabled EQ True and (mail eq null and (startsWith(DisplayName, 'O''N')))"), query{filter: []cond{
			{prop: "accountEnabled", val: true}, {prop: "mail"}, {prop: "displayName", prefix: true, val: "O'N"},
		}}},
		{"$filter=" + url.QueryEscape("id eq 0c4b4b7e-0000-4000-8000-00000000000a"), query{filter: []cond{{prop: "id", val: "0c4b4b7e-0000-4000-8000-00000000000a"}}}},
		{"$skiptoken=" + encodeSkipToken("abc"), query{after: "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseOptions(tt.raw, userFields, true)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(query{}, cond{})); d != "" {
				t.Errorf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		filter, want string
	}{
		{"displayName", "'displayName' must be followed by eq and a value"},
		{"displayName eq", "'displayName eq' must be followed by a value"},
		{"displayName gt 'a'", "the operator 'gt'"},
		{"not displayName eq 'a'", "'not'"},
		{"displayName eq 'a' and", "expected a property name at position 22 but found the end of the expression"},
		{"displayName eq 'a' or mail eq 'b'", "'or' at position 19"},
		{"(displayName eq 'a'", "expected ')' at position 19"},
		{"startswith(displayName 'a')", "expected ','"},
		{"startswith(displayName,x)", "quoted string prefix"},
		{"startswith(accountEnabled,'t')", "startswith on 'accountEnabled' (Edm.Boolean)"},
		{"startswith(displayName,'a'", "to close startswith"},
		{"contains(displayName,'a')", "the function 'contains'"},
		{"assignedLicenses/any(x:x eq 'a')", "unexpected character '/'"},
		{"displayName eq 'é'x", "'x' at position"},
		{"eq eq 'a'", "'eq' at position 0"},
		{"displayName eq -1", "the value '-1'"},
		{strings.Repeat("(", 40) + "displayName eq 'a'" + strings.Repeat(")", 40), "nest deeper than 32"},
		{"displayName eq ☃", "unexpected character '☃'"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := parseFilter(tt.filter, userFields)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if e.Code != "Request_UnsupportedQuery" || !strings.HasPrefix(e.Message, "Unsupported query.") || !strings.Contains(e.Message, tt.want) {
				t.Errorf("got %s %q, want Request_UnsupportedQuery containing %q", e.Code, e.Message, tt.want)
			}
		})
	}
}

func TestApplyPaging(t *testing.T) {
	var items []map[string]any
	for i := 9; i >= 0; i-- { // out of order: apply sorts by id
		items = append(items, map[string]any{"id": fmt.Sprintf("id%02d", i), "displayName": fmt.Sprintf("n%d", i%3), "accountEnabled": i%2 == 0})
	}
	q, err := parseOptions("$top=2&$count=true&$select=displayName&$filter="+url.QueryEscape("displayName eq 'N1'"), userFields, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for pages := 0; ; pages++ {
		p := q.apply(items)
		if p.count != 3 {
			t.Errorf("count %d, want 3", p.count)
		}
		for _, it := range p.items {
			if len(it) != 2 {
				t.Errorf("projected item %v, want id and displayName", it)
			}
			got = append(got, it["id"].(string))
		}
		if p.next == "" || pages > 3 {
			break
		}
		if q.after, err = decodeSkipToken(p.next); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"id01", "id04", "id07"}, got); d != "" {
		t.Errorf("paged ids (-want +got):\n%s", d)
	}

	// list reads the store in batches and stops once the page is full.
	calls := 0
	p, err := query{top: 3}.list(func(after string, limit int) ([]map[string]any, error) {
		calls++
		sorted := sortByID(items)
		var out []map[string]any
		for _, it := range sorted {
			if idOf(it) > after && len(out) < limit {
				out = append(out, it)
			}
		}
		return out, nil
	})
	if err != nil || len(p.items) != 3 || p.next != encodeSkipToken("id02") || calls != 1 {
		t.Errorf("list = %v, next %q, %d calls, %v", p.items, p.next, calls, err)
	}
}

func TestNextLink(t *testing.T) {
	r := httptest.NewRequest("GET", "http://graph.example/v1.0/users?$top=2&$select=id,displayName&$skiptoken=old&x=a+b", nil)
	got := nextLink(r, "TOKEN")
	want := "http://graph.example/v1.0/users?$select=id%2CdisplayName&$top=2&x=a+b&$skiptoken=TOKEN"
	if got != want {
		t.Errorf("nextLink = %q, want %q", got, want)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$top=10&$select=id,displayName&$count=true",
		"$filter=" + url.QueryEscape("startswith(displayName,'a') and (accountEnabled eq true and mail eq null)"),
		"$filter=" + url.QueryEscape("userPrincipalName eq 'O''Neil@x.com'"),
		"$filter=" + url.QueryEscape("id eq 0c4b4b7e-0000-4000-8000-00000000000a"),
		"$skiptoken=" + encodeSkipToken("x"),
		"$filter=((((",
		"$select=,",
		"$top=-1&$top=2",
		"%zz",
	} {
		f.Add(s)
	}
	items := []map[string]any{
		{"id": "a", "displayName": "Alice", "accountEnabled": true},
		{"id": "b", "displayName": nil, "businessPhones": []any{"1"}},
		{"id": "c", "mail": 5.0},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseOptions(raw, userFields, true)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		p := q.apply(items)
		if len(p.items) > q.size() {
			t.Fatalf("page of %d items exceeds size %d", len(p.items), q.size())
		}
		if q.top != 0 && (q.top < 1 || q.top > maxPageSize) {
			t.Fatalf("accepted $top %d", q.top)
		}
	})
}

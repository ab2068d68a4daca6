package odata

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// userFields is a small microsoft.graph.user for the tests.
var userFields = NewFields("microsoft.graph.user", map[string]Kind{
	"id": KindString, "displayName": KindString, "userPrincipalName": KindString, "mail": KindString,
	"accountEnabled": KindBool, "businessPhones": KindStrings, "passwordProfile": KindObject,
}, true)

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want Query
	}{
		{"", Query{}},
		{"$top=5&$count=TRUE&other=1", Query{Top: 5, Count: true}},
		{"$select=DISPLAYNAME, id,displayName", Query{Select: []string{"displayName", "id"}}},
		{"$select=extension_0123456789abcdef0123456789abcdef_costCenter", Query{Select: []string{"extension_0123456789abcdef0123456789abcdef_costCenter"}}},
		{"$filter=" + url.QueryEscape("userPrincipalName eq 'a@b.c'"), Query{Filter: []Cond{{Prop: "userPrincipalName", Val: "a@b.c"}}}},
		{"$FILTER=" + url.QueryEscape("AccountEnabled EQ True and (mail eq null and (startsWith(DisplayName, 'O''N')))"), Query{Filter: []Cond{
			{Prop: "accountEnabled", Val: true}, {Prop: "mail"}, {Prop: "displayName", Prefix: true, Val: "O'N"},
		}}},
		{"$filter=" + url.QueryEscape("id eq 0c4b4b7e-0000-4000-8000-00000000000a"), Query{Filter: []Cond{{Prop: "id", Val: "0c4b4b7e-0000-4000-8000-00000000000a"}}}},
		{"$skiptoken=" + EncodeSkipToken("abc"), Query{After: "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw, userFields)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		raw, code, want string
		entity          bool
	}{
		{"%zz", "BadRequest", "malformed", false},
		{"$top=0", "Request_BadRequest", "Invalid page size specified: '0'", false},
		{"$top=1000", "Request_BadRequest", "between 1 and 999", false},
		{"$top=1&$TOP=2", "BadRequest", "more than once", false},
		{"$select=nope", "Request_BadRequest", "Could not find a property named 'nope' on type 'microsoft.graph.user'", false},
		{"$select=id,,mail", "BadRequest", "single commas", false},
		{"$count=maybe", "BadRequest", "true or false", false},
		{"$skiptoken=xyz", "BadRequest", "$skiptoken", false},
		{"$orderby=id", "BadRequest", "not supported by this service", false},
		{"$top=1", "BadRequest", "only $select", true},
		{"$filter=" + url.QueryEscape("accountEnabled eq 'x'"), "BadRequest", "Edm.Boolean", false},
		{"$filter=" + url.QueryEscape("mail eq true"), "BadRequest", "Edm.String", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			parse := Parse
			if tt.entity {
				parse = ParseEntity
			}
			_, err := parse(tt.raw, userFields)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", e.Code, e.Message, tt.code, tt.want)
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
		{"businessPhones eq 'a'", "filtering on 'businessPhones' (Collection(Edm.String))"},
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
	for i := 9; i >= 0; i-- { // out of order: Apply sorts by id
		items = append(items, map[string]any{"id": fmt.Sprintf("id%02d", i), "displayName": fmt.Sprintf("n%d", i%3), "accountEnabled": i%2 == 0})
	}
	q, err := Parse("$top=2&$count=true&$select=displayName&$filter="+url.QueryEscape("displayName eq 'N1'"), userFields)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for pages := 0; ; pages++ {
		p := q.Apply(items)
		if p.Count != 3 {
			t.Errorf("count %d, want 3", p.Count)
		}
		for _, it := range p.Items {
			if len(it) != 2 {
				t.Errorf("projected item %v, want id and displayName", it)
			}
			got = append(got, it["id"].(string))
		}
		if p.Next == "" || pages > 3 {
			break
		}
		if q.After, err = DecodeSkipToken(p.Next); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"id01", "id04", "id07"}, got); d != "" {
		t.Errorf("paged ids (-want +got):\n%s", d)
	}

	// List reads the store in batches and stops once the page is full.
	sorted := slices.Clone(items)
	slices.Reverse(sorted)
	calls := 0
	p, err := Query{Top: 3}.List(func(after string, limit int) ([]map[string]any, error) {
		calls++
		var out []map[string]any
		for _, it := range sorted {
			if idOf(it) > after && len(out) < limit {
				out = append(out, it)
			}
		}
		return out, nil
	})
	if err != nil || len(p.Items) != 3 || p.Next != EncodeSkipToken("id02") || calls != 1 {
		t.Errorf("List = %v, next %q, %d calls, %v", p.Items, p.Next, calls, err)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$top=10&$select=id,displayName&$count=true",
		"$filter=" + url.QueryEscape("startswith(displayName,'a') and (accountEnabled eq true and mail eq null)"),
		"$filter=" + url.QueryEscape("userPrincipalName eq 'O''Neil@x.com'"),
		"$filter=" + url.QueryEscape("id eq 0c4b4b7e-0000-4000-8000-00000000000a"),
		"$skiptoken=" + EncodeSkipToken("x"),
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
		q, err := Parse(raw, userFields)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		p := q.Apply(items)
		if len(p.Items) > q.Size() {
			t.Fatalf("page of %d items exceeds size %d", len(p.Items), q.Size())
		}
		if q.Top != 0 && (q.Top < 1 || q.Top > MaxPageSize) {
			t.Fatalf("accepted $top %d", q.Top)
		}
	})
}

package odata

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// logFields is a small provisioningObjectSummary with a comparison
// $filter and $orderby, as auditLogs/provisioning declares it.
var logFields = NewFields("microsoft.graph.provisioningObjectSummary", map[string]Kind{
	"id": KindString, "activityDateTime": KindString, "jobId": KindString, "sourceIdentity": KindObject,
}, false).WithFilter(NewFields("microsoft.graph.provisioningObjectSummary", map[string]Kind{
	"activityDateTime": KindDateTime, "jobId": KindString, "sourceIdentity/id": KindString,
}, false)).WithOrderBy("activityDateTime")

func TestParseWhere(t *testing.T) {
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	cmpJob := func(op, v string) Expr { return Expr{Op: op, Prop: "jobId", Val: v} }
	tests := []struct {
		filter string
		want   Expr
	}{
		{"jobId eq 'j1'", cmpJob("eq", "j1")},
		{"JOBID NE 'j1'", cmpJob("ne", "j1")},
		{"jobId gt 'a' and jobId lt 'b'", Expr{Op: "and", Args: []Expr{cmpJob("gt", "a"), cmpJob("lt", "b")}}},
		{"jobId ge 'a' or jobId le 'b' or jobId eq null", Expr{Op: "or", Args: []Expr{cmpJob("ge", "a"), cmpJob("le", "b"), {Op: "eq", Prop: "jobId"}}}},
		// and binds tighter than or; parentheses regroup.
		{"jobId eq 'a' or jobId eq 'b' and jobId eq 'c'", Expr{Op: "or", Args: []Expr{cmpJob("eq", "a"),
			{Op: "and", Args: []Expr{cmpJob("eq", "b"), cmpJob("eq", "c")}}}}},
		{"(jobId eq 'a' or jobId eq 'b') and jobId eq 'c'", Expr{Op: "and", Args: []Expr{
			{Op: "or", Args: []Expr{cmpJob("eq", "a"), cmpJob("eq", "b")}}, cmpJob("eq", "c")}}},
		{"startswith(sourceIdentity/id,'u') and contains(jobId,'x')", Expr{Op: "and", Args: []Expr{
			{Op: "startswith", Prop: "sourceIdentity/id", Val: "u"}, {Op: "contains", Prop: "jobId", Val: "x"}}}},
		{"activityDateTime ge 2026-01-02T00:00:00Z", Expr{Op: "ge", Prop: "activityDateTime", Val: day}},
		{"activityDateTime lt 2026-01-02T01:00:00+01:00", Expr{Op: "lt", Prop: "activityDateTime", Val: day}},
		{"activityDateTime le 2026-01-02", Expr{Op: "le", Prop: "activityDateTime", Val: day}},
		{"activityDateTime gt '2026-01-02T00:00:00.000Z'", Expr{Op: "gt", Prop: "activityDateTime", Val: day}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			q, err := Parse("$filter="+url.QueryEscape(tt.filter), logFields)
			if err != nil {
				t.Fatal(err)
			}
			if q.Filter != nil {
				t.Errorf("Filter = %v, want only Where", q.Filter)
			}
			if d := cmp.Diff(&tt.want, q.Where); d != "" {
				t.Errorf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseWhereErrors(t *testing.T) {
	tests := []struct{ filter, code, want string }{
		{"nope eq 'a'", "Request_BadRequest", "Could not find a property named 'nope' on type 'microsoft.graph.provisioningObjectSummary'"},
		{"sourceIdentity/nope eq 'a'", "Request_BadRequest", "'sourceIdentity/nope'"},
		{"jobId has 'a'", "Request_UnsupportedQuery", "the operator 'has'"},
		{"jobId eq 'a' xor jobId eq 'b'", "Request_UnsupportedQuery", "'xor' at position 13"},
		{"not jobId eq 'a'", "Request_UnsupportedQuery", "'not' is not supported"},
		{"endswith(jobId,'a')", "Request_UnsupportedQuery", "the function 'endswith'"},
		{"contains(jobId,1)", "Request_UnsupportedQuery", "contains needs a quoted string"},
		{"contains(activityDateTime,'1')", "Request_UnsupportedQuery", "contains on 'activityDateTime' (Edm.DateTimeOffset)"},
		{"activityDateTime ge 'yesterday'", "BadRequest", "Edm.DateTimeOffset"},
		{"activityDateTime ge 2026-13-01", "BadRequest", "Edm.DateTimeOffset"},
		{"activityDateTime eq null", "BadRequest", "Edm.DateTimeOffset"},
		{"jobId eq 2026-01-01", "Request_UnsupportedQuery", "the value '2026-01-01'"},
		{"jobId eq true", "BadRequest", "Edm.String"},
		{"jobId eq 'a' or", "Request_UnsupportedQuery", "expected a property name"},
		{"jobId eq 'a", "Request_UnsupportedQuery", "no closing quote"},
		{strings.Repeat("(", 40) + "jobId eq 'a'" + strings.Repeat(")", 40), "Request_UnsupportedQuery", "nest deeper than 32"},
		{"  ", "BadRequest", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := Parse("$filter="+url.QueryEscape(tt.filter), logFields)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", e.Code, e.Message, tt.code, tt.want)
			}
			if e.Code == "Request_UnsupportedQuery" && !strings.Contains(e.Message, "contains(<property>") {
				t.Errorf("message %q does not state the comparison grammar", e.Message)
			}
		})
	}
}

func TestParseOrderBy(t *testing.T) {
	for raw, want := range map[string]Query{
		"$orderby=activityDateTime":              {OrderBy: "activityDateTime"},
		"$orderby=ACTIVITYDATETIME%20desc":       {OrderBy: "activityDateTime", Desc: true},
		"$orderby=activityDateTime%20Asc":        {OrderBy: "activityDateTime"},
		"$orderby=%20activityDateTime%20%20desc": {OrderBy: "activityDateTime", Desc: true},
	} {
		got, err := Parse(raw, logFields)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", raw, d)
		}
	}
	for raw, msg := range map[string]string{
		"$orderby=jobId":                           "supported on activityDateTime only, not on 'jobId'",
		"$orderby=activityDateTime%20up":           "direction 'up'",
		"$orderby=activityDateTime,jobId":          "one property",
		"$orderby=":                                "one property",
		"$orderby=activityDateTime%20desc%20extra": "one property",
	} {
		_, err := Parse(raw, logFields)
		if e, ok := err.(*Error); !ok || e.Code != "BadRequest" || !strings.Contains(e.Message, msg) {
			t.Errorf("%s: error %v, want BadRequest containing %q", raw, err, msg)
		}
	}
	if _, err := Parse("$orderby=displayName", userFields); err == nil || !strings.Contains(err.Error(), "not supported by this service") {
		t.Errorf("$orderby on fields without it: %v, want not supported", err)
	}
}

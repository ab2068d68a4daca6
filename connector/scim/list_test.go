package scim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// pager is an http.RoundTripper serving GET /Users from users u1…u<total>
// the way servers page, quirks included: itemsPerPage always echoes the
// count asked for (as SCIMMY does).
type pager struct {
	total int
	// maxPage caps the resources of a page below the count asked for; 0
	// serves as many as asked.
	maxPage int
	// maxResults is /ServiceProviderConfig's filter.maxResults; 0 leaves
	// it out.
	maxResults int
	// quirk: "pastEndFirstPage" answers a startIndex past the end with the
	// first page (SCIMMY); "ignoreStartIndex" always serves from 1 and
	// says so; "ignoreCount" serves every resource from startIndex on;
	// "emptyPages" serves none, whatever totalResults says; "noPaging"
	// ignores startIndex and count and serves everything.
	quirk string

	mu      sync.Mutex
	queries []string // "startIndex=…&count=…" of each GET /Users
}

func (p *pager) RoundTrip(r *http.Request) (*http.Response, error) {
	var body any
	switch {
	case strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig"):
		filter := map[string]any{"supported": true}
		if p.maxResults > 0 {
			filter["maxResults"] = p.maxResults
		}
		body = map[string]any{"filter": filter, "patch": map[string]any{"supported": true}}
	case strings.HasSuffix(r.URL.Path, "/Users"):
		q := r.URL.Query()
		p.mu.Lock()
		p.queries = append(p.queries, "startIndex="+q.Get("startIndex")+"&count="+q.Get("count"))
		p.mu.Unlock()
		start, _ := strconv.Atoi(q.Get("startIndex"))
		count, _ := strconv.Atoi(q.Get("count"))
		echo := start
		switch p.quirk {
		case "pastEndFirstPage":
			if start > p.total {
				start = 1
			}
		case "ignoreStartIndex":
			start, echo = 1, 1
		case "ignoreCount":
			count = p.total
		case "noPaging":
			start, echo, count = 1, 1, p.total
		}
		n := count
		if p.maxPage > 0 {
			n = min(n, p.maxPage)
		}
		resources := []any{}
		for i := start; i <= p.total && len(resources) < n && p.quirk != "emptyPages"; i++ {
			resources = append(resources, map[string]any{"id": fmt.Sprintf("u%d", i), "userName": fmt.Sprintf("user%d@example.com", i)})
		}
		body = map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"totalResults": p.total, "itemsPerPage": count, "startIndex": echo, "Resources": resources}
	default:
		return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	b, _ := json.Marshal(body)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/scim+json"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func (p *pager) sent() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.queries)
}

func pagerClient(t testing.TB, p http.RoundTripper) *scim.Client {
	t.Helper()
	c, err := scim.New(scim.Config{BaseAddress: "https://scim.example.test/scim/v2", HTTPClient: &http.Client{Transport: p}, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listIDs pages through the users pageSize at a time and returns their
// ids, page by page, and the tokens List returned.
func listIDs(t *testing.T, c *scim.Client, pageSize int) (pages [][]string, tokens []string) {
	t.Helper()
	token := ""
	for range 100 {
		page, err := c.List(t.Context(), "User", token, pageSize)
		if err != nil {
			t.Fatalf("List(token %q) = %v", token, err)
		}
		var ids []string
		for _, o := range page.Objects {
			ids = append(ids, o.ID)
		}
		pages, tokens = append(pages, ids), append(tokens, page.Next)
		if token = page.Next; token == "" {
			return pages, tokens
		}
	}
	t.Fatal("List did not end after 100 pages")
	return nil, nil
}

func TestListPaging(t *testing.T) {
	for _, tt := range []struct {
		name       string
		p          *pager
		pageSize   int
		wantPages  [][]string
		wantTokens []string
		wantSent   []string
	}{
		{"as asked", &pager{total: 5}, 2,
			[][]string{{"u1", "u2"}, {"u3", "u4"}, {"u5"}}, []string{"3", "5", ""},
			[]string{"startIndex=1&count=2", "startIndex=3&count=2", "startIndex=5&count=2"}},
		{"last page full", &pager{total: 4}, 2,
			[][]string{{"u1", "u2"}, {"u3", "u4"}}, []string{"3", ""},
			[]string{"startIndex=1&count=2", "startIndex=3&count=2"}},
		{"server pages are smaller", &pager{total: 7, maxPage: 2}, 3,
			[][]string{{"u1", "u2"}, {"u3", "u4"}, {"u5", "u6"}, {"u7"}}, []string{"3", "5", "7", ""},
			[]string{"startIndex=1&count=3", "startIndex=3&count=3", "startIndex=5&count=3", "startIndex=7&count=3"}},
		{"server ignores count", &pager{total: 5, quirk: "ignoreCount"}, 2,
			[][]string{{"u1", "u2", "u3", "u4", "u5"}}, []string{""},
			[]string{"startIndex=1&count=2"}},
		{"server does not page", &pager{total: 3, quirk: "noPaging"}, 2,
			[][]string{{"u1", "u2", "u3"}}, []string{""},
			[]string{"startIndex=1&count=2"}},
		{"filter.maxResults caps the count", &pager{total: 3, maxResults: 2}, 50,
			[][]string{{"u1", "u2"}, {"u3"}}, []string{"3", ""},
			[]string{"startIndex=1&count=2", "startIndex=3&count=2"}},
		{"empty", &pager{total: 0}, 10,
			[][]string{nil}, []string{""},
			[]string{"startIndex=1&count=10"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pages, tokens := listIDs(t, pagerClient(t, tt.p), tt.pageSize)
			if d := cmp.Diff(tt.wantPages, pages); d != "" {
				t.Errorf("pages (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantTokens, tokens); d != "" {
				t.Errorf("tokens (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantSent, tt.p.sent()); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

// A page asked for past the end (the listing shrank since the token was
// made) is the empty last page, although SCIMMY answers it with the first.
func TestListPastTheEnd(t *testing.T) {
	p := &pager{total: 3, quirk: "pastEndFirstPage"}
	page, err := pagerClient(t, p).List(t.Context(), "User", "5", 2)
	if err != nil || len(page.Objects) != 0 || page.Next != "" {
		t.Errorf("List(past the end) = %v, %v; want an empty last page", page, err)
	}
}

// A server that does not page as asked fails the listing instead of
// listing objects twice or leaving some out.
func TestListServerDoesNotPage(t *testing.T) {
	for _, tt := range []struct {
		quirk, token, want string
	}{
		{"ignoreStartIndex", "3", "answered startIndex 1"},
		{"emptyPages", "", "no resources, but totalResults is 4"},
	} {
		_, err := pagerClient(t, &pager{total: 4, quirk: tt.quirk}).List(t.Context(), "User", tt.token, 2)
		var ce *connector.Error
		if connector.KindOf(err) != connector.KindInvalid || !errors.As(err, &ce) || ce.Code != scim.CodeServiceIncompatible ||
			!strings.Contains(ce.Message, tt.want) {
			t.Errorf("List from a server that %s = %v; want KindInvalid, %s, saying %q", tt.quirk, err, scim.CodeServiceIncompatible, tt.want)
		}
	}
}

// Bad arguments are refused before anything is sent.
func TestListRefusesBadArguments(t *testing.T) {
	p := &pager{total: 3}
	c := pagerClient(t, p)
	for _, tt := range []struct {
		typ, token string
		pageSize   int
	}{
		{"User", "abc", 2}, {"User", "0", 2}, {"User", "-3", 2}, {"User", "1.5", 2}, {"User", " 2", 2},
		{"User", "", 0}, {"Group", "", -1}, {"Printer", "", 2},
	} {
		if _, err := c.List(t.Context(), tt.typ, tt.token, tt.pageSize); connector.KindOf(err) != connector.KindInvalid {
			t.Errorf("List(%q, token %q, pageSize %d) = %v, want KindInvalid", tt.typ, tt.token, tt.pageSize, err)
		}
	}
	if sent := p.sent(); len(sent) != 0 {
		t.Errorf("requests sent for bad arguments: %v", sent)
	}
}

// List goes through the client's retries, and reports what cannot be
// retried with its kind.
func TestListRetriesAndErrors(t *testing.T) {
	h := newHarness(t, scimtest.Options{Disrupt: script(
		&rule{method: http.MethodGet, prefix: "/Users", query: "startIndex=1", times: 2, d: scimtest.Disruption{Status: http.StatusServiceUnavailable}},
		&rule{method: http.MethodGet, prefix: "/Users", query: "startIndex=2", d: scimtest.Disruption{Status: http.StatusUnauthorized}},
	)}, nil)
	u1 := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"l1@example.com"}})
	mustCreate(t, h.client, "User", connector.Attributes{"userName": {"l2@example.com"}})
	n := len(h.srv.Requests())
	page, err := h.client.List(t.Context(), "User", "", 1)
	if err != nil || len(page.Objects) != 1 || page.Objects[0].ID != u1.ID || page.Next != "2" {
		t.Fatalf("List after two 503s = %+v, %v; want the first user and token 2", page, err)
	}
	diffLines(t, "requests", []string{"GET /Users 503", "GET /Users 503", "GET /Users 200"}, trace(h, n))
	if _, err := h.client.List(t.Context(), "User", page.Next, 1); connector.KindOf(err) != connector.KindUnauthorized {
		t.Errorf("List answered 401 = %v, want KindUnauthorized", err)
	}
}

// With MembershipRead=userFilter a page of groups is read without members
// and each group's members as Get reads them.
func TestListGroupsMembershipByUserFilter(t *testing.T) {
	h := newHarness(t, scimtest.Options{Options: scimserver.Options{HideMembers: true}}, nil)
	h.client = newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token,
		Profile: scim.Profile{MembershipRead: scim.MembershipByUserFilter, NoDiscovery: true}})
	u := mustCreate(t, h.client, "User", connector.Attributes{"userName": {"lm@example.com"}})
	g1 := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"L1"}})
	g2 := mustCreate(t, h.client, "Group", connector.Attributes{"displayName": {"L2"}})
	if err := h.client.AddMembers(t.Context(), g2.ID, []string{u.ID}); err != nil {
		t.Fatal(err)
	}
	n := len(h.srv.Requests())
	page, err := h.client.List(t.Context(), "Group", "", 10)
	if err != nil || len(page.Objects) != 2 || page.Next != "" {
		t.Fatalf("List(Group) = %+v, %v; want both groups on one page", page, err)
	}
	if m := page.Objects[0].Attrs["members"]; len(m) != 0 {
		t.Errorf("members of L1 = %v, want none", m)
	}
	if m := page.Objects[1].Attrs["members"]; !slices.Equal(m, []string{u.ID}) {
		t.Errorf("members of L2 = %v, want %s", m, u.ID)
	}
	got := methods(h, n)
	for i := range got {
		got[i] = strings.NewReplacer(g1.ID, "{g1}", g2.ID, "{g2}").Replace(got[i])
	}
	diffLines(t, "requests", []string{
		"GET /Groups?count=10&excludedAttributes=members&startIndex=1",
		"GET /Users?attributes=groups&filter=groups.value+eq+%22{g1}%22",
		"GET /Users?attributes=groups&filter=groups.value+eq+%22{g2}%22",
	}, got)
}

// SCIMMY answers a startIndex past the end with the first page; List
// answers it with the empty last page.
func TestListSCIMMYPastTheEnd(t *testing.T) {
	base, token := scimtest.StartSCIMMY(t)
	c := newClient(t, base, token)
	for range 2 {
		mustCreate(t, c, "User", connectortest.NewUserAttrs())
	}
	page, err := c.List(t.Context(), "User", "", 1)
	if err != nil || len(page.Objects) != 1 || page.Next != "2" {
		t.Fatalf("List(first page) = %+v, %v", page, err)
	}
	page, err = c.List(t.Context(), "User", "3", 1)
	if err != nil || len(page.Objects) != 0 || page.Next != "" {
		t.Errorf("List(startIndex 3 of 2) = %+v, %v; want an empty last page", page, err)
	}
}

// FuzzListResponse: whatever a server answers, List returns a connector
// error or a page of distinct objects with ids, whose token moves forward.
func FuzzListResponse(f *testing.F) {
	f.Add(`{"totalResults":3,"startIndex":1,"itemsPerPage":2,"Resources":[{"id":"a"},{"id":"b"}]}`, "", 2)
	f.Add(`{"totalResults":3,"startIndex":3,"Resources":[{"id":"c"}]}`, "3", 2)
	f.Add(`{"totalResults":1,"Resources":[{"id":"a"},{"id":"a"},{"id":"b"}]}`, "", 5)
	f.Add(`{"totalResults":"9","Resources":{}}`, "", 1)
	f.Add(`{"Resources":[{"id":7},{"id":null}],"startIndex":-4}`, "1", 3)
	f.Add(`[]`, "x", 1)
	f.Fuzz(func(t *testing.T, body, token string, pageSize int) {
		c := answering(t, func(*http.Request) string { return body })
		page, err := c.List(t.Context(), "User", token, pageSize)
		if err != nil {
			if connector.KindOf(err) == connector.KindUnknown {
				t.Errorf("List = %v, not a connector error", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, o := range page.Objects {
			if o.ID == "" || seen[o.ID] {
				t.Errorf("object id %q empty or repeated", o.ID)
			}
			seen[o.ID] = true
		}
		start := 1
		if token != "" {
			start, _ = strconv.Atoi(token)
		}
		if page.Next != "" {
			if next, err := strconv.Atoi(page.Next); err != nil || next <= start {
				t.Errorf("token %q after startIndex %d", page.Next, start)
			}
		}
	})
}

type roundTrip func(*http.Request) *http.Response

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r), nil }

// answering is a client of a server that answers every request 200 with
// the SCIM body body gives.
func answering(t *testing.T, body func(*http.Request) string) *scim.Client {
	t.Helper()
	rt := roundTrip(func(r *http.Request) *http.Response {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/scim+json"}},
			Body: io.NopCloser(strings.NewReader(body(r))), Request: r}
	})
	c, err := scim.New(scim.Config{BaseAddress: "https://scim.example.test/scim/v2", HTTPClient: &http.Client{Transport: rt},
		Sleep: noSleep, Profile: scim.Profile{NoDiscovery: true}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestResponseTooLarge: an answer larger than the client reads of one
// response is refused as such, not as the parse error of a cut body; a
// group's GET, members inline, may be larger and is read whole.
func TestResponseTooLarge(t *testing.T) {
	const members = 700_000 // about 34 MB
	group := `{"id":"g1","displayName":"Big","members":[` + strings.Repeat(`{"value":"2819c223-7f76-453a-919d-413861904646"},`, members-1) + `{"value":"last"}]}`
	user := `{"id":"u1","userName":"ada","title":"` + strings.Repeat("x", 33<<20) + `"}`
	c := answering(t, func(r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/scim/v2/Groups") {
			return group
		}
		return user
	})
	_, err := c.Get(t.Context(), "User", "u1")
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "larger than 32 MB") {
		t.Fatalf("GET of a %d MB user = %v; want KindInvalid saying it is larger than 32 MB", len(user)>>20, err)
	}
	g, err := c.Get(t.Context(), "Group", "g1")
	if err != nil {
		t.Fatalf("GET of a %d MB group: %v", len(group)>>20, err)
	}
	if got := g.Attrs["members"]; len(got) != 2 || got[0] != "2819c223-7f76-453a-919d-413861904646" || got[1] != "last" {
		t.Errorf("members of the big group = %d values (first %.2q), want its 2 distinct ids", len(got), got)
	}
	if g.Attrs["displayName"][0] != "Big" {
		t.Errorf("displayName = %q", g.Attrs["displayName"])
	}
}

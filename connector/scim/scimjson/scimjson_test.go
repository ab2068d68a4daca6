package scimjson

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorBody(t *testing.T) {
	b, err := json.Marshal(NewError(404, "", "Resource 1 not found"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"schemas":["` + ErrorSchema + `"],"status":"404","detail":"Resource 1 not found"}`; string(b) != want {
		t.Errorf("NewError = %s, want %s", b, want)
	}
	for _, tc := range []struct{ body, status string }{
		{`{"status":"409","scimType":"uniqueness","detail":"d"}`, "409"},
		{`{"status":409,"scimType":"uniqueness","detail":"d"}`, "409"}, // a number, as some servers send
		{`{"status":{"code":409},"scimType":"uniqueness","detail":"d"}`, ""},
		{`{"status":null,"scimType":"uniqueness","detail":"d"}`, ""},
	} {
		var e Error
		if err := json.Unmarshal([]byte(tc.body), &e); err != nil {
			t.Errorf("%s: %v", tc.body, err)
		}
		want := Error{Status: Status(tc.status), ScimType: "uniqueness", Detail: "d"}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.body, diff)
		}
	}
}

func TestListResponse(t *testing.T) {
	b, _ := json.Marshal(NewListResponse(3, 2, nil))
	if want := `{"schemas":["` + ListResponseSchema + `"],"totalResults":3,"startIndex":2,"itemsPerPage":0,"Resources":[]}`; string(b) != want {
		t.Errorf("NewListResponse = %s, want %s", b, want)
	}
}

func TestResourceHelpers(t *testing.T) {
	m, err := DecodeObject([]byte(`{"UserName":"a","schemas":["` + UserSchema + `"],"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Lookup(m, "userName"); !ok || v != "a" {
		t.Errorf("Lookup(userName) = %v, %v", v, ok)
	}
	if k := Key(m, "username"); k != "UserName" {
		t.Errorf("Key(username) = %q", k)
	}
	if k := Key(m, "title"); k != "title" {
		t.Errorf("Key(title) = %q", k)
	}
	if _, ok := m["n"].(json.Number); !ok {
		t.Errorf("n = %T, want json.Number", m["n"])
	}
	AddSchema(m, EnterpriseUserSchema)
	AddSchema(m, EnterpriseUserSchema)
	if got := Compact(m["schemas"]); got != `["`+UserSchema+`","`+EnterpriseUserSchema+`"]` {
		t.Errorf("schemas = %s", got)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"a":1} {}`, `{"a":`} {
		if _, err := DecodeObject([]byte(bad)); err == nil {
			t.Errorf("DecodeObject(%q) = nil error", bad)
		}
	}
	if !OnlyLabels(map[string]any{"Type": "work", "primary": true}) || OnlyLabels(map[string]any{"type": "work", "value": "x"}) {
		t.Error("OnlyLabels is wrong")
	}
}

// FuzzDecodeError checks that any body decodes into an Error without a
// panic, and that a decoded status survives a round trip.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{`{"status":"400","scimType":"invalidFilter"}`, `{"status":400}`, `{"status":[1]}`, `{"status":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var e Error
		if json.Unmarshal(body, &e) != nil {
			return
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", e, err)
		}
		var again Error
		if err := json.Unmarshal(b, &again); err != nil || again.Status != e.Status {
			t.Fatalf("round trip of %s: %+v, %v", b, again, err)
		}
	})
}

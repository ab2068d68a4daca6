package scim

import (
	"encoding/json"
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// FuzzCreatedID: the id a POST's answer is read for agrees with the full
// decoding of the resource (a string or number id, named once), and a
// body that is not one JSON object is refused as incompatible.
func FuzzCreatedID(f *testing.F) {
	for _, s := range []string{
		`{"id":"2819c223","userName":"ada","meta":{"resourceType":"User"}}`,
		`{"schemas":[],"id":7}`, `{"id":-1.5e3}`, `{"id":""}`, `{"id":null}`, `{"id":true}`,
		`{"Id":"x"}`, `{"id":"a","ID":"b"}`, `{"id":"\u00e9\ud800"}`, `null`, `[]`, `"id"`, `{}`,
		`{"id":"a"} {"id":"b"}`, `{"id":"a"`, ` {"id":"a"} `, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := createdID("POST", "/Users", &response{status: 201, body: body})
		if err != nil && connector.KindOf(err) != connector.KindInvalid {
			t.Fatalf("createdID(%q) = %v, not an incompatible answer (KindInvalid)", body, err)
		}
		m, derr := scimjson.DecodeObject(body)
		if derr != nil {
			if err == nil {
				t.Fatalf("createdID(%q) = %q, but it is not a JSON object: %v", body, id, derr)
			}
			return
		}
		names := 0
		for k := range m {
			if strings.EqualFold(k, "id") {
				names++
			}
		}
		var want string
		switch v := m["id"].(type) {
		case string:
			want = v
		case json.Number:
			want = v.String()
		}
		switch {
		case names == 0 && err == nil:
			t.Fatalf("createdID(%q) = %q from a resource without an id", body, id)
		case names == 1 && want != "" && (err != nil || id != want):
			t.Fatalf("createdID(%q) = %q, %v; want %q", body, id, err, want)
		case err == nil && id == "":
			t.Fatalf("createdID(%q) gave an empty id", body)
		}
	})
}

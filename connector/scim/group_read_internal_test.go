package scim

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// FuzzFlattenGroup: streaming a group's members gives what decoding the
// whole resource and flattening it gives, and refuses what that refuses.
func FuzzFlattenGroup(f *testing.F) {
	for _, s := range []string{
		`{"id":"g1","displayName":"Eng","members":[{"value":"u1","display":"Ada"},{"value":"u2"},{"value":"u1"}]}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g","Members":[{"value":"a","type":"User"},{"value":"b","$ref":"x"}],"meta":{"resourceType":"Group"}}`,
		`{"id":"g","members":null}`, `{"id":"g","members":"u1"}`, `{"id":"g","members":{"value":"u1"}}`, `{"id":"g","members":[]}`,
		`{"id":"g","members":[1,true,null,"x",[{"value":"y"}]]}`, `{"id":7,"members":[{"value":7}]}`, `{"members":[{"value":"u"}]}`,
		`{"id":"g","members":[{"value":"u"}]} x`, `{"id":"g","members":[{"value":"u"}`, `[]`, `null`, ``, `{"id":"g"}]`,
		`{"id":"g","urn:ietf:params:scim:schemas:extension:x:2.0:Group":{"owner":{"value":"m"}},"members" : [ {"value":"u"} ]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, attrs, err := flattenGroup(body)
		m, derr := scimjson.DecodeObject(body)
		if derr != nil {
			if err == nil {
				t.Fatalf("flattenGroup(%q) = %q, %v; but it is not a JSON object: %v", body, id, attrs, derr)
			}
			return
		}
		wantID, _ := scalarString(m["id"])
		if wantID == "" {
			if err == nil {
				t.Fatalf("flattenGroup(%q) = %q without an id", body, id)
			}
			return
		}
		if bytes.Count(bytes.ToLower(body), []byte("members")) > 1 {
			return // a repeated members attribute keeps both here, the last when decoded whole
		}
		if err != nil || id != wantID {
			t.Fatalf("flattenGroup(%q) = %q, %v; want id %q", body, id, err, wantID)
		}
		sorted := func(a connector.Attributes) connector.Attributes {
			for k, v := range a {
				a[k] = slices.Sorted(slices.Values(v))
			}
			return a
		}
		if diff := cmp.Diff(sorted(Flatten(m)), sorted(attrs)); diff != "" {
			t.Fatalf("flattenGroup(%q) (-whole +streamed):\n%s", body, diff)
		}
	})
}

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

// createdBody is a user as a SCIM server answers its creation.
const createdBody = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
	`"id":"8f14e45f-ceea-467f-a0e1-9c1d5e2a7b3c","externalId":"3e7a9c1b-5d2f-4b8e-a6c4-1f9d7e5b3a20","userName":"bench.user.4711@contoso.example",` +
	`"active":true,"displayName":"Bench User 4711","name":{"givenName":"Bench","familyName":"User 4711","formatted":"Bench User 4711"},` +
	`"emails":[{"value":"bench.user.4711@contoso.example","type":"work","primary":true}],"title":"Engineer",` +
	`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Research","employeeNumber":"4711"},` +
	`"meta":{"resourceType":"User","created":"2026-12-01T15:42:21.123456789Z","lastModified":"2026-12-01T15:42:21.123456789Z",` +
	`"location":"http://127.0.0.1:40123/scim/v2/Users/8f14e45f-ceea-467f-a0e1-9c1d5e2a7b3c","version":"W/\"1\""}}`

// BenchmarkCreatedID: what reading a created user's id costs a cycle per
// object.
func BenchmarkCreatedID(b *testing.B) {
	resp := &response{status: 201, body: []byte(createdBody)}
	for b.Loop() {
		if id, err := createdID("POST", "/Users", resp); err != nil || id != "8f14e45f-ceea-467f-a0e1-9c1d5e2a7b3c" {
			b.Fatal(id, err)
		}
	}
}

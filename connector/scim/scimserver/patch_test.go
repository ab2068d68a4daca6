package scimserver

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector/scim/scimjson"
)

func patchOf(ops string) []byte {
	return []byte(`{"schemas":["` + scimjson.PatchOpSchema + `"],"Operations":[` + ops + `]}`)
}

func TestApplyPatch(t *testing.T) {
	const base = `{"userName":"bob","active":true,"title":"Dev",
	  "name":{"givenName":"Bob","familyName":"B"},
	  "emails":[{"type":"work","value":"bob@w","primary":true}],
	  "members":[{"value":"a"},{"value":"b"}]}`
	tests := []struct {
		name string
		ops  string
		want string // the whole resource after the patch
	}{
		{
			name: "Entra default casing and string boolean",
			ops:  `{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"nickName","value":"Bobby"}`,
			want: `{"userName":"bob","active":false,"title":"Dev","nickName":"Bobby","name":{"givenName":"Bob","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}],"members":[{"value":"a"},{"value":"b"}]}`,
		},
		{
			name: "path-less replace with dotted keys",
			ops: `{"op":"replace","value":{"name.givenName":"Rob","active":"True","title":"Lead",
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"9"}}`,
			want: `{"userName":"bob","active":true,"title":"Lead","name":{"givenName":"Rob","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}],"members":[{"value":"a"},{"value":"b"}],
			  "schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"9"}}`,
		},
		{
			name: "path-less add with an extension object",
			ops:  `{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m"}}}}`,
			want: `{"userName":"bob","active":true,"title":"Dev","name":{"givenName":"Bob","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}],"members":[{"value":"a"},{"value":"b"}],
			  "schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m"}}}`,
		},
		{
			name: "filtered replace, filtered add creates, remove sub",
			ops: `{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@w"},
			  {"op":"add","path":"emails[type eq \"other\"].value","value":"o@x"},
			  {"op":"remove","path":"title"},{"op":"remove","path":"name.familyName"}`,
			want: `{"userName":"bob","active":true,"name":{"givenName":"Bob"},
			  "emails":[{"type":"work","value":"new@w","primary":true},{"type":"other","value":"o@x"}],
			  "members":[{"value":"a"},{"value":"b"}]}`,
		},
		{
			name: "remove a filtered value drops the element",
			ops:  `{"op":"remove","path":"emails[type eq \"work\"].value"},{"op":"remove","path":"emails[type eq \"home\"]"}`,
			want: `{"userName":"bob","active":true,"title":"Dev","name":{"givenName":"Bob","familyName":"B"},
			  "members":[{"value":"a"},{"value":"b"}]}`,
		},
		{
			name: "add members skips present ones",
			ops:  `{"op":"add","path":"members","value":[{"value":"b"},{"value":"c"}]}`,
			want: `{"userName":"bob","active":true,"title":"Dev","name":{"givenName":"Bob","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}],"members":[{"value":"a"},{"value":"b"},{"value":"c"}]}`,
		},
		{
			name: "remove member by filter and by Entra-legacy value array",
			ops: `{"op":"remove","path":"members[value eq \"a\"]"},{"op":"remove","path":"members[value eq \"zz\"]"},
			  {"op":"Remove","path":"members","value":[{"$ref":null,"value":"b"}]}`,
			want: `{"userName":"bob","active":true,"title":"Dev","name":{"givenName":"Bob","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}]}`,
		},
		{
			name: "replace a complex attribute merges sub-attributes",
			ops:  `{"op":"replace","path":"name","value":{"givenName":"Robert"}}`,
			want: `{"userName":"bob","active":true,"title":"Dev","name":{"givenName":"Robert","familyName":"B"},
			  "emails":[{"type":"work","value":"bob@w","primary":true}],"members":[{"value":"a"},{"value":"b"}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := scimjson.DecodeObject([]byte(base))
			ops, err := DecodePatch(patchOf(tc.ops))
			if err != nil {
				t.Fatalf("DecodePatch: %v", err)
			}
			if err := ApplyPatch(res, ops); err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			want, _ := scimjson.DecodeObject([]byte(tc.want))
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("after patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	tests := []struct {
		body     string
		scimType string
	}{
		{`not json`, "invalidSyntax"},
		{`{"Operations":[]}`, "invalidSyntax"},
		{string(patchOf(`{"op":"move","path":"a"}`)), "invalidSyntax"},
		{string(patchOf(`{"op":"add","path":"a"}`)), "invalidValue"},
		{string(patchOf(`{"op":"remove"}`)), "noTarget"},
		{string(patchOf(`{"op":"replace","value":"x"}`)), "invalidValue"},
		{string(patchOf(`{"op":"replace","path":"emails[type eq","value":"x"}`)), "invalidPath"},
		{string(patchOf(`{"op":"replace","path":"emails[type eq \"home\"].value","value":"x"}`)), "noTarget"},
		{string(patchOf(`{"op":"replace","path":"active","value":"maybe"}`)), "invalidValue"},
		{string(patchOf(`{"op":"replace","path":"id","value":"x"}`)), "mutability"},
		{string(patchOf(`{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:schemas","value":[]}`)), "mutability"},
		{string(patchOf(`{"op":"remove","path":"urn:ietf:params:scim:schemas:core:2.0:User:meta"}`)), "mutability"},
		{string(patchOf(`{"op":"add","path":"emails.value","value":"x"}`)), "invalidPath"},
	}
	for _, tc := range tests {
		res, _ := scimjson.DecodeObject([]byte(`{"userName":"u","emails":[{"type":"work","value":"w"}]}`))
		ops, err := DecodePatch([]byte(tc.body))
		if err == nil {
			err = ApplyPatch(res, ops)
		}
		e, ok := err.(*Error)
		if !ok || e.Status != 400 || e.ScimType != tc.scimType {
			t.Errorf("%s: error %v, want 400 %s", tc.body, err, tc.scimType)
		}
	}
}

// FuzzDecodePatch checks that decoding and applying any PatchOp body never
// panics and leaves a resource that still encodes as JSON.
func FuzzDecodePatch(f *testing.F) {
	for _, ops := range []string{
		`{"op":"Replace","path":"active","value":"False"}`,
		`{"op":"add","value":{"name.givenName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}}`,
		`{"op":"remove","path":"members[value eq \"a\"]"}`,
		`{"op":"Remove","path":"members","value":[{"value":"b"}]}`,
		`{"op":"add","path":"emails[type eq \"other\" and primary eq true].value","value":"o"}`,
		`{"op":"replace","path":"name","value":{"givenName":"g"}}`,
		`{"op":"remove","path":"emails.value"}`,
	} {
		f.Add(string(patchOf(ops)))
	}
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := DecodePatch([]byte(body))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("DecodePatch error %T is not a SCIM error", err)
			}
			return
		}
		res, _ := scimjson.DecodeObject([]byte(`{"userName":"u","active":true,"name":{"givenName":"g"},
		  "emails":[{"type":"work","value":"w"}],"members":[{"value":"a"},{"value":"b"}],
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}`))
		if err := ApplyPatch(res, ops); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("ApplyPatch error %T is not a SCIM error", err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("patched resource does not encode: %v", err)
		}
	})
}

// FuzzPatchCopy: applying any PatchOp to patchCopy's copy never changes
// the stored resource, and patches it as a deep copy would.
func FuzzPatchCopy(f *testing.F) {
	for _, ops := range []string{
		`{"op":"add","path":"members","value":[{"value":"c"},{"value":"a"}]}`,
		`{"op":"Remove","path":"members","value":[{"value":"b"}]}`,
		`{"op":"remove","path":"members[value eq \"a\"]"}`,
		`{"op":"remove","path":"members[value eq \"a\"].display"}`,
		`{"op":"add","path":"members[value eq \"a\"]","value":{"display":"A"}}`,
		`{"op":"replace","path":"members[value eq \"b\"].display","value":"B"}`,
		`{"op":"add","value":{"members":[{"value":"d"}],"name.givenName":"x"}}`,
		`{"op":"add","path":"members","value":[{"value":"e"}]},{"op":"replace","path":"members[value eq \"e\"].display","value":"E"}`,
		`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m"}}`,
		`{"op":"add","path":"emails[type eq \"work\"].value","value":"w2"},{"op":"replace","path":"id","value":"x"}`,
		`{"op":"replace","path":"name","value":{"givenName":"g2"}},{"op":"remove","path":"emails.value"}`,
		`{"op":"add","path":"members","value":[{"value":"z"}]},{"op":"replace","path":"members[value eq \"a\"].display","value":"X"},{"op":"replace","path":"id","value":"x"}`,
		`{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:Group":{"name":{"givenName":"x"}}}},{"op":"replace","path":"id","value":"x"}`,
	} {
		f.Add(string(patchOf(ops)))
	}
	const stored = `{"id":"1","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g","userName":"u",
	  "name":{"givenName":"g"},"emails":[{"type":"work","value":"w","primary":true}],
	  "members":[{"value":"a","display":"a"},{"value":"b","type":"User"},{"value":"a","type":"Group"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","manager":{"value":"n"}},
	  "meta":{"resourceType":"Group","version":"W/\"1\""}}`
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := DecodePatch([]byte(body))
		if err != nil {
			return
		}
		old, _ := scimjson.DecodeObject([]byte(stored))
		want, _ := scimjson.DecodeObject([]byte(stored))
		wantErr := ApplyPatch(want, ops)
		got := patchCopy(old, ops)
		gotErr := ApplyPatch(got, ops)
		if untouched, _ := scimjson.DecodeObject([]byte(stored)); !cmp.Equal(old, untouched) {
			t.Fatalf("patching the copy changed the stored resource: %s", cmp.Diff(untouched, old))
		}
		if (gotErr == nil) != (wantErr == nil) || wantErr == nil && !cmp.Equal(got, want) {
			t.Fatalf("patched copy = %v, %v; a deep copy gave %v, %v", got, gotErr, want, wantErr)
		}
	})
}

// TestPatchCopyNamesEveryCase: a resource stored with one name in two
// cases keeps both unchanged through a failed PATCH, whichever of them
// ApplyPatch's lookup finds (map order: tried many times).
func TestPatchCopyNamesEveryCase(t *testing.T) {
	const stored = `{"id":"1","displayName":"g","members":[{"value":"a","display":"a"}],"Members":[{"value":"a","display":"a"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}},
	  "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}`
	ops, err := DecodePatch(patchOf(`{"op":"replace","path":"MEMBERS[value eq \"a\"].display","value":"X"},
	  {"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"displayName":"M"}},
	  {"op":"replace","path":"id","value":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		old, _ := scimjson.DecodeObject([]byte(stored))
		if err := ApplyPatch(patchCopy(old, ops), ops); err == nil {
			t.Fatal("the PATCH changing id succeeded")
		}
		if untouched, _ := scimjson.DecodeObject([]byte(stored)); !cmp.Equal(old, untouched) {
			t.Fatalf("a failed PATCH changed the stored resource: %s", cmp.Diff(untouched, old))
		}
	}
}

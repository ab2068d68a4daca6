package scim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	m, err := scimjson.DecodeObject([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func TestFlatten(t *testing.T) {
	res := decode(t, `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "`+EnterpriseUserSchema+`"],
	  "id": "u1", "meta": {"resourceType": "User"},
	  "UserName": "ada@example.com", "active": false, "externalId": "ada",
	  "name": {"givenName": "Ada", "familyname": "Lovelace"},
	  "emails": [{"type": "Work", "value": "ada@example.com", "primary": true},
	             {"type": "other", "value": "a1@example.org"}, {"type": "other", "value": "a2@example.org"}],
	  "phoneNumbers": [{"type": "mobile", "value": "+1"}],
	  "addresses": [{"type": "work", "locality": "London", "postalCode": "NW1"}],
	  "roles": [{"value": "admin"}, {"value": "admin"}],
	  "nickName": null, "loginCount": 42,
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
	    "department": "Engines", "manager": {"value": "m1", "displayName": "Babbage", "$ref": "../Users/m1"}},
	  "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:costCode": "CC-1"
	}`)
	want := connector.Attributes{
		"userName":                             {"ada@example.com"},
		"active":                               {"False"},
		"externalId":                           {"ada"},
		"name.givenName":                       {"Ada"},
		"name.familyName":                      {"Lovelace"},
		`emails[type eq "work"].value`:         {"ada@example.com"},
		`emails[type eq "work"].primary`:       {"True"},
		`emails[type eq "other"].value`:        {"a1@example.org", "a2@example.org"},
		`phoneNumbers[type eq "mobile"].value`: {"+1"},
		`addresses[type eq "work"].locality`:   {"London"},
		`addresses[type eq "work"].postalCode`: {"NW1"},
		"roles":                                {"admin"},
		"loginCount":                           {"42"},
		EnterpriseUserSchema + ":department":   {"Engines"},
		EnterpriseUserSchema + ":manager":      {"m1"},
		"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:costCode": {"CC-1"},
	}
	if diff := cmp.Diff(want, Flatten(res)); diff != "" {
		t.Errorf("Flatten (-want +got):\n%s", diff)
	}
}

// A dotted key flattens to the name of the object it stands for, spelled
// the same (the fuzzer found "x.NAme" kept as given, where {"x":{"NAme":…}}
// flattens to "x.name").
func TestFlattenDottedKeys(t *testing.T) {
	res := decode(t, `{"NAME.GIVENNAME": "Ada", "x.NAme": "0", "emails[type eq \"Work\"].value": "a@example.com",
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Manager": "m1", "a b": "kept"}`)
	want := connector.Attributes{
		"name.givenName":                  {"Ada"},
		"x.name":                          {"0"},
		`emails[type eq "work"].value`:    {"a@example.com"},
		EnterpriseUserSchema + ":manager": {"m1"},
		"a b":                             {"kept"},
	}
	if diff := cmp.Diff(want, Flatten(res)); diff != "" {
		t.Errorf("Flatten (-want +got):\n%s", diff)
	}
	nested := Flatten(decode(t, `{"x": {"NAme": "0"}, "name": {"GivenName": "Ada"}}`))
	if !cmp.Equal(nested["x.name"], want["x.name"]) || !cmp.Equal(nested["name.givenName"], want["name.givenName"]) {
		t.Errorf("nested: %v, want the dotted keys' names", nested)
	}
}

func TestFlattenGroupMembers(t *testing.T) {
	res := decode(t, `{"id":"g1","displayName":"Eng","members":[{"value":"u1","display":"Ada"},{"value":"u2"},{"value":"u1"}]}`)
	want := connector.Attributes{"displayName": {"Eng"}, "members": {"u1", "u2"}}
	if diff := cmp.Diff(want, Flatten(res)); diff != "" {
		t.Errorf("Flatten (-want +got):\n%s", diff)
	}
}

func TestBuildResource(t *testing.T) {
	attrs := connector.Attributes{
		"userName":                             {"ada@example.com"},
		"active":                               {"True"},
		"externalId":                           {"ada"},
		"name.givenName":                       {"Ada"},
		"name.familyName":                      {"Lovelace"},
		"name.formatted":                       {"Ada Lovelace"},
		`emails[type eq "work"].value`:         {"ada@example.com"},
		`emails[type eq "other"].value`:        {"a1@example.org", "a2@example.org"},
		`addresses[type eq "work"].locality`:   {"London"},
		`addresses[type eq "work"].postalCode`: {"NW1"},
		"title":                                nil,
		EnterpriseUserSchema + ":department":   {"Engines"},
		EnterpriseUserSchema + ":manager":      {"m1"},
		"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:costCode": {"CC-1"},
	}
	got, err := BuildResource(connector.TypeUser, attrs)
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "`+EnterpriseUserSchema+`"],
	  "meta": {"resourceType": "User"},
	  "userName": "ada@example.com", "active": true, "externalId": "ada",
	  "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
	  "emails": [{"type": "other", "value": "a1@example.org"}, {"type": "other", "value": "a2@example.org"},
	             {"type": "work", "value": "ada@example.com", "primary": true}],
	  "addresses": [{"type": "work", "locality": "London", "postalCode": "NW1"}],
	  "`+EnterpriseUserSchema+`": {"department": "Engines", "manager": {"value": "m1"}},
	  "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User": {"costCode": "CC-1"}
	}`)
	if diff := cmp.Diff(want, roundTripJSON(t, got)); diff != "" {
		t.Errorf("BuildResource (-want +got):\n%s", diff)
	}
}

func TestBuildResourceGroup(t *testing.T) {
	got, err := BuildResource(connector.TypeGroup, connector.Attributes{
		"displayName": {"Eng"}, "externalId": {"g-1"}, "members": {"u1", "u2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"meta":{"resourceType":"Group"},
	  "displayName":"Eng","externalId":"g-1"}`)
	if diff := cmp.Diff(want, roundTripJSON(t, got)); diff != "" {
		t.Errorf("BuildResource(group) (-want +got):\n%s", diff)
	}
}

func TestBuildResourceErrors(t *testing.T) {
	for name, attrs := range map[string]connector.Attributes{
		"bad path":    {"emails[type": {"x"}},
		"bad boolean": {"active": {"yes please"}},
	} {
		_, err := BuildResource(connector.TypeUser, attrs)
		if k := connector.KindOf(err); k != connector.KindInvalid {
			t.Errorf("%s: BuildResource error %v (kind %v), want KindInvalid", name, err, k)
		}
	}
}

// TestRoundTrip checks Flatten(BuildResource(a)) == a for the attributes
// of Entra's default user mapping (plus the primary flag it adds).
func TestRoundTrip(t *testing.T) {
	attrs := connector.Attributes{
		"userName": {"u@example.com"}, "active": {"False"}, "displayName": {"U"}, "title": {"T"},
		"externalId": {"x"}, "preferredLanguage": {"en"},
		"name.givenName": {"G"}, "name.familyName": {"F"}, "name.formatted": {"G F"},
		`emails[type eq "work"].value`: {"w@example.com"}, `emails[type eq "other"].value`: {"o1", "o2"},
		`addresses[type eq "work"].streetAddress`: {"1 Main St"}, `addresses[type eq "work"].locality`: {"L"},
		`addresses[type eq "work"].region`: {"R"}, `addresses[type eq "work"].postalCode`: {"P"},
		`addresses[type eq "work"].country`: {"C"}, `addresses[type eq "work"].formatted`: {"1 Main St, L"},
		`phoneNumbers[type eq "work"].value`: {"1"}, `phoneNumbers[type eq "mobile"].value`: {"2"},
		`phoneNumbers[type eq "fax"].value`:      {"3"},
		EnterpriseUserSchema + ":employeeNumber": {"42"}, EnterpriseUserSchema + ":department": {"D"},
		EnterpriseUserSchema + ":manager":                                  {"m"},
		"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:costCode": {"CC"},
	}
	res, err := BuildResource(connector.TypeUser, attrs)
	if err != nil {
		t.Fatal(err)
	}
	want := attrs.Clone()
	want[`emails[type eq "work"].primary`] = []string{"True"}
	if diff := cmp.Diff(want, Flatten(roundTripJSON(t, res))); diff != "" {
		t.Errorf("Flatten(BuildResource(a)) (-want +got):\n%s", diff)
	}
}

func roundTripJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(b))
}

// FuzzFlatten checks that Flatten never panics and that what it produces
// builds back into a resource that flattens to the same attributes, for
// resources shaped like BuildResource's output.
func FuzzFlatten(f *testing.F) {
	f.Add(`{"userName":"a","emails":[{"type":"work","value":"x","primary":true}],"name":{"givenName":"g"}}`)
	f.Add(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}},"active":true}`)
	f.Add(`{"members":[{"value":"1"},{"value":"2"}],"x":[1,"2",true,null,{"a":{"b":1}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		res, err := scimjson.DecodeObject([]byte(s))
		if err != nil {
			return
		}
		attrs := Flatten(res)
		tops := map[string]int{}
		for k := range attrs {
			p, err := ParsePath(k)
			if err != nil {
				return // names from keys that are not SCIM attribute names
			}
			if !p.Filtered() && p.Sub == "" {
				tops[strings.ToLower(p.Schema+":"+p.Attr)] |= 1
			} else {
				tops[strings.ToLower(p.Schema+":"+p.Attr)] |= 2
			}
		}
		for _, kinds := range tops {
			if kinds == 3 {
				return // "x" both simple and complex: no resource has both
			}
		}
		built, err := BuildResource(connector.TypeUser, attrs)
		if err != nil {
			return // e.g. a non-boolean "active"
		}
		again := Flatten(roundTripJSON(t, built))
		for k, v := range attrs {
			if !cmp.Equal(again[k], v) && k != `emails[type eq "work"].primary` {
				t.Fatalf("%s: %q became %q (resource %s)", k, v, again[k], s)
			}
		}
	})
}

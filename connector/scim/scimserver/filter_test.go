package scimserver

import (
	"strings"
	"testing"

	"provisiond/connector/scim/scimjson"
)

const ada = `{
  "id": "u1", "userName": "Ada@Example.com", "externalId": "Ada", "active": true, "title": "Engineer",
  "name": {"givenName": "Ada", "familyName": "Lovelace"},
  "emails": [{"type": "work", "value": "ada@work.example"}, {"type": "other", "value": "ada@home.example"}],
  "loginCount": 42,
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engines", "manager": {"value": "m1"}},
  "members": [{"value": "Abc"}]
}`

func TestFilterMatch(t *testing.T) {
	res, err := scimjson.DecodeObject([]byte(ada))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "ada@example.com"`, true}, // caseExact=false
		{`USERNAME EQ "ADA@EXAMPLE.COM"`, true},
		{`userName eq "bob@example.com"`, false},
		{`userName ne "bob@example.com"`, true},
		{`externalId eq "ada"`, false}, // caseExact=true
		{`externalId eq Ada`, true},    // unquoted, as old Entra docs show
		{`id eq "u1"`, true},
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active eq false`, false},
		{`title pr`, true},
		{`nickName pr`, false},
		{`name.givenName sw "A" and name.familyName ew "lace"`, true},
		{`name.givenName co "d" and title eq "x"`, false},
		{`title eq "x" or name.familyName co "ove"`, true},
		{`not (title eq "x")`, true},
		{`not(title eq "Engineer")`, false},
		{`emails[type eq "work"].value eq "ada@work.example"`, true},
		{`emails[type eq "other"].value eq "ada@work.example"`, false},
		{`emails[type eq "work" and value co "work"]`, true},
		{`emails.value eq "ada@home.example"`, true},
		{`emails eq "ada@home.example"`, true},
		{`emails[type eq "home"]`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engines"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada@example.com"`, true},
		{`members.value eq "abc"`, false}, // member ids are caseExact
		{`members.value eq "Abc"`, true},
		{`loginCount gt 41 and loginCount le 42`, true},
		{`loginCount eq 42.0`, true},
		{`loginCount lt 10`, false},
		{`title gt "A" and title lt "F"`, true},
		{`nickName eq null`, true},
		{`(title eq "x" or title eq "Engineer") and (active eq true)`, true},
		{`title eq "x" or title eq "Engineer" and active eq false`, false},
		{`userName eq "a\"b"`, false},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Errorf("ParseFilter(%s): %v", tc.filter, err)
			continue
		}
		if got := f.Match(res); got != tc.want {
			t.Errorf("%s matches = %v, want %v (parsed as %s)", tc.filter, got, tc.want, f)
		}
	}
}

func TestFilterString(t *testing.T) {
	for in, want := range map[string]string{
		`userName Eq "a"`:                    `userName eq "a"`,
		`a pr and b pr and c pr`:             `a pr and b pr and c pr`,
		`a pr and (b pr and c pr)`:           `a pr and (b pr and c pr)`,
		`(a pr or b pr) and c pr`:            `(a pr or b pr) and c pr`,
		`a pr or b pr and c pr`:              `a pr or b pr and c pr`,
		`not ( a eq bare )`:                  `not (a eq "bare")`,
		`emails[type eq work].value eq "x"`:  `emails[type eq "work"].value eq "x"`,
		`emails[type eq "work" or type pr]`:  `emails[type eq "work" or type pr]`,
		`x eq 1.5e3`:                         `x eq 1.5e3`,
		`x eq TRUE`:                          `x eq true`,
		`urn:a:b:User:x.y ge "2024-01-01"`:   `urn:a:b:User:x.y ge "2024-01-01"`,
		`userName eq "\u00e9\"\\"`:           `userName eq "é\"\\"`,
		`members[value eq "1"] and title pr`: `members[value eq "1"] and title pr`,
	} {
		f, err := ParseFilter(in)
		if err != nil {
			t.Errorf("ParseFilter(%s): %v", in, err)
			continue
		}
		if got := f.String(); got != want {
			t.Errorf("ParseFilter(%s).String() = %s, want %s", in, got, want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for in, wantPos := range map[string]string{
		``:                          "at 0",
		`userName`:                  "at 8: expected an operator",
		`userName eq`:               "at 11: expected a value",
		`userName xx "a"`:           `at 9: unknown operator`,
		`userName eq "a`:            "at 12: unterminated string",
		`(userName eq "a"`:          "at 16: expected )",
		`userName eq "a")`:          `at 15: unexpected ")"`,
		`not userName eq "a"`:       "at 4: expected ( after not",
		`emails[type eq "w"`:        "at 18: expected ]",
		`1abc eq "a"`:               "invalid attribute path",
		`name.x.y eq "a"`:           "invalid attribute path",
		`urn:x eq "a"`:              "invalid attribute path",
		`a eq "1" and`:              "at 12: expected an attribute path",
		`a eq "1" or or b pr`:       `at 15: unknown operator "b"`,
		`name.givenName[type eq 1]`: "value filter after a sub-attribute",
		strings.Repeat("(", 40) + "a pr" + strings.Repeat(")", 40): "nested too deeply",
	} {
		_, err := ParseFilter(in)
		if err == nil || !strings.Contains(err.Error(), wantPos) {
			t.Errorf("ParseFilter(%q) error = %v, want one containing %q", in, err, wantPos)
		}
	}
}

func TestParsePatchPath(t *testing.T) {
	for in, want := range map[string]string{
		`members[value eq "x"]`:        `members[value eq "x"]`,
		`emails[type eq "work"].value`: `emails[type eq "work"].value`,
		`name.givenName`:               `name.givenName`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
	} {
		p, err := ParsePath(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePath(%s) = %s, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{``, `members[`, `a b`, `members[value eq "x"] x`, `(a)`} {
		if p, err := ParsePath(in); err == nil {
			t.Errorf("ParsePath(%q) = %s, want an error", in, p)
		}
	}
}

// FuzzParseFilter checks that parsing never panics and that the canonical
// String of a parsed filter parses to a filter with the same String and the
// same verdict on a sample resource.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a"`, `emails[type eq "work"].value eq "x"`, `a pr and (b eq 1 or not (c sw "x"))`,
		`members[value eq "1" and display co "A"]`, `externalId eq bare`, `x ge 1.5e3`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "d"`, `a eq null`,
	} {
		f.Add(s)
	}
	res, err := scimjson.DecodeObject([]byte(ada))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePath(s); err == nil {
			if q, err := ParsePath(p.String()); err != nil || q.String() != p.String() {
				t.Fatalf("path %q: canonical %q reparses to %v, %v", s, p, q, err)
			}
		}
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		canon := flt.String()
		again, err := ParseFilter(canon)
		if err != nil {
			t.Fatalf("filter %q: canonical %q does not parse: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("filter %q: String not stable: %q then %q", s, canon, again.String())
		}
		if flt.Match(res) != again.Match(res) {
			t.Fatalf("filter %q and its canonical %q disagree", s, canon)
		}
	})
}

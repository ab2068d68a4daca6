package scim

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in    string
		want  Path
		canon string // "" means in
	}{
		{in: "userName", want: Path{Attr: "userName"}},
		{in: "name.givenName", want: Path{Attr: "name", Sub: "givenName"}},
		{in: `emails[type eq "work"].value`, want: Path{Attr: "emails", FilterAttr: "type", FilterValue: "work", Sub: "value"}},
		{in: `addresses[type eq "work"].streetAddress`, want: Path{Attr: "addresses", FilterAttr: "type", FilterValue: "work", Sub: "streetAddress"}},
		{in: `members[value eq "a\"b\\c"]`, want: Path{Attr: "members", FilterAttr: "value", FilterValue: `a"b\c`}},
		{in: `emails[ type EQ work ].value`, want: Path{Attr: "emails", FilterAttr: "type", FilterValue: "work", Sub: "value"}, canon: `emails[type eq "work"].value`},
		{in: `emails[type eq "a]b"].value`, want: Path{Attr: "emails", FilterAttr: "type", FilterValue: "a]b", Sub: "value"}},
		{in: EnterpriseUserSchema + ":department", want: Path{Schema: EnterpriseUserSchema, Attr: "department"}},
		{in: EnterpriseUserSchema + ":manager", want: Path{Schema: EnterpriseUserSchema, Attr: "manager"}},
		{in: "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:costCode", want: Path{Schema: "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User", Attr: "costCode"}},
		{in: "URN:x:y:attr.sub", want: Path{Schema: "URN:x:y", Attr: "attr", Sub: "sub"}},
		{in: "members.$ref", want: Path{Attr: "members", Sub: "$ref"}},
		{in: "x509Certificates", want: Path{Attr: "x509Certificates"}},
	}
	for _, tc := range tests {
		got, err := ParsePath(tc.in)
		if err != nil {
			t.Errorf("ParsePath(%q) error: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParsePath(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		canon := tc.canon
		if canon == "" {
			canon = tc.in
		}
		if s := got.String(); s != canon {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tc.in, s, canon)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, in := range []string{
		"", ".x", "1abc", "name.", "name..x", "name x", `emails[type eq "work"`, `emails[type ne "work"]`,
		`emails[type eq "work"]x`, `emails[eq "work"]`, `emails[type eq ]`, `emails[type eq "w" x]`,
		"urn:", "urn:foo", `emails[type eq "unterminated]`, "$", "a$b", `emails[type eq a"b]`,
	} {
		if p, err := ParsePath(in); err == nil {
			t.Errorf("ParsePath(%q) = %+v, want an error", in, p)
		} else if !strings.Contains(err.Error(), "invalid attribute path") {
			t.Errorf("ParsePath(%q) error %q does not say what is wrong", in, err)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":    `"plain"`,
		`a"b`:      `"a\"b"`,
		`back\`:    `"back\\"`,
		"ünïcødé ": `"ünïcødé "`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParsePath checks that every path that parses prints in a canonical
// form that parses back to the same path.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"userName", "name.givenName", `emails[type eq "work"].value`, `members[value eq "a\"b"]`,
		EnterpriseUserSchema + ":manager", `phoneNumbers[type eq mobile].value`, "urn:a:b:c.d",
		`emails[type eq "x]y"]`, "$ref",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		canon := p.String()
		q, err := ParsePath(canon)
		if err != nil {
			t.Fatalf("ParsePath(%q) ok, but its String %q does not parse: %v", s, canon, err)
		}
		if q != p {
			t.Fatalf("round trip of %q via %q: %+v != %+v", s, canon, q, p)
		}
		if q.String() != canon {
			t.Fatalf("String not stable: %q then %q", canon, q.String())
		}
	})
}

package expr

import (
	"testing"
	"time"
)

// defaultUserMappings are the source expressions of the default user
// mappings of a non-gallery SCIM app (provisioning-behavior.md §5.6);
// direct mappings are plain [attribute] expressions.
var defaultUserMappings = []string{
	`[userPrincipalName]`,
	`Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
	`[displayName]`,
	`[jobTitle]`,
	`[mail]`,
	`[preferredLanguage]`,
	`[givenName]`,
	`[surname]`,
	`Join(" ", [givenName], [surname])`,
	`[physicalDeliveryOfficeName]`,
	`[streetAddress]`,
	`[city]`,
	`[state]`,
	`[postalCode]`,
	`[country]`,
	`[telephoneNumber]`,
	`[mobile]`,
	`[facsimileTelephoneNumber]`,
	`[mailNickname]`,
	`[employeeId]`,
	`[department]`,
}

var benchUser = map[string]Value{
	"userPrincipalName":          Str("Ada.Lovelace@contoso.com"),
	"IsSoftDeleted":              Str("False"),
	"displayName":                Str("Ada Lovelace"),
	"jobTitle":                   Str("Analyst"),
	"mail":                       Str("ada@contoso.com"),
	"preferredLanguage":          Str("en-GB"),
	"givenName":                  Str("Ada"),
	"surname":                    Str("Lovelace"),
	"physicalDeliveryOfficeName": Str("London"),
	"streetAddress":              Str("12 St James's Square"),
	"city":                       Str("London"),
	"state":                      Str("Greater London"),
	"postalCode":                 Str("SW1Y 4JH"),
	"country":                    Str("UK"),
	"telephoneNumber":            Str("+44 20 7946 0000"),
	"mobile":                     Str("+44 7700 900000"),
	"mailNickname":               Str("ada"),
	"employeeId":                 Str("1815"),
	"department":                 Str("Engines"),
}

func TestDefaultUserMappings(t *testing.T) {
	env := &Env{Attr: func(n string) Value { return benchUser[n] }}
	want := map[int]string{1: "True", 8: "Ada Lovelace", 17: ""}
	for i, src := range defaultUserMappings {
		r, err := mustParse(t, src).Eval(env)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if w, ok := want[i]; ok && r.Value.String() != w {
			t.Errorf("%s = %q, want %q", src, r.Value.String(), w)
		}
	}
}

// BenchmarkDefaultUserMappings evaluates every default user mapping for
// one user per iteration (expressions parsed once) and reports users/s
// (wall clock) and users/cpu-s (per CPU-second used by the process; run
// with -cpu=1 for a one-core figure that other load does not distort).
func BenchmarkDefaultUserMappings(b *testing.B) {
	exprs := make([]*Expr, len(defaultUserMappings))
	for i, src := range defaultUserMappings {
		exprs[i] = mustParse(b, src)
	}
	env := &Env{
		Attr: func(n string) Value { return benchUser[n] },
		Now:  func() time.Time { return testNow },
	}
	out := make([]Value, len(exprs))
	b.ReportAllocs()
	cpu0, haveCPU := processCPUTime()
	start := time.Now()
	for b.Loop() {
		for i, e := range exprs {
			r, err := e.Eval(env)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = r.Value
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "users/s")
	if cpu1, ok := processCPUTime(); haveCPU && ok && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "users/cpu-s")
	}
}

// BenchmarkParse measures parsing a mid-sized expression.
func BenchmarkParse(b *testing.B) {
	src := `SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), Join("@", Mid([PreferredFirstName], 1, 1), "contoso.com"))`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalComplex measures a function-heavy expression.
func BenchmarkEvalComplex(b *testing.B) {
	e := mustParse(b, `ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))`)
	env := &Env{Attr: func(n string) Value { return benchUser[n] }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

package expr

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds are expressions from the documentation and the tests.
var fuzzSeeds = []string{
	`Append([userPrincipalName], ".test")`,
	`BitAnd(&HF, &HF7)`,
	`CBool([a] = [b])`,
	`CDate("2009-06-15T01:45:30-07:00")`,
	`Coalesce([mail],[userPrincipalName], "")`,
	`ConvertFromBase64("SGVsbG8gd29ybGQh", UTF8)`,
	`ConvertToBase64("Hello world!")`,
	`ConvertToUTF8Hex([a])`,
	`DateAdd("ww", 2, CDate([StatusHireDate]))`,
	`DateDiff("m", CDate("8/25/2021 5:41:18 PM"), CDate([StatusHireDate]))`,
	`DateFromNum(129699324000000000)`,
	`FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
	`NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`,
	`IIF([country]="USA",IIF([state]="CA","True","False"),"False")`,
	`IIF([employeeType]="Intern","t-" & [alias],[alias])`,
	`InStr("repEated","e",3,vbBinaryCompare)`,
	`Item([proxyAddresses], 1)`,
	`Join(", ", "", [surname], [givenName])`,
	`Left("John Doe", 3)`,
	`Mid(Item([p], Contains([p], "SMTP:")), 6, 100)`,
	`NormalizeDiacritics([givenName])`,
	`PCase([lastName]," '-")`,
	`RandomString(10,2,2,2,1,"?,")`,
	`Redact([userPrincipalName])`,
	`RemoveDuplicates([proxyAddresses])`,
	`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`,
	`Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )`,
	`Replace([mail], "@contoso.com", , ,"", ,)`,
	`Replace([UserID],"<username>", , , , , "<username>@contoso.com")`,
	`Replace([a], , [b], , [c], , )`,
	`SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), Join("@", Mid([PreferredFirstName], 1, 1), "contoso.com"))`,
	`SingleAppRoleAssignment([appRoleAssignments])`,
	`AppRoleAssignmentsComplex([appRoleAssignments])`,
	`Split([extensionAttribute5], ",")`,
	`StringFromSid([objectSid])`,
	`DNComponent([dn], 2)`,
	`Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
	`ToUpper(ToLower([a], "tr-TR"))`,
	`Trim([proxyAddresses])`,
	`Word("This,string!has&many separators",3,",!&#")`,
	`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr."))`,
	`Guid()`,
	`Error("boom")`,
	`"a" & ("b" & "c") = "abc"`,
	`[extension_abc123_costCenter]`,
	"Join(\" \",\n  [a],\n  Foo())",
	`Replace([a], , "(?=x)", , "", , )`,
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		defer watchdog(src)()
		e, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos.Line < 1 || pe.Pos.Col < 1 {
				t.Fatalf("Parse(%q) error %v (%T) lacks a position", src, err, err)
			}
			return
		}
		printed := e.String()
		e2, err := parse(printed, 1<<30)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but reparsing its String() %q failed: %v", src, printed, err)
		}
		if again := e2.String(); again != printed {
			t.Fatalf("round trip of %q:\nfirst  %s\nsecond %s", src, printed, again)
		}
		if d := cmp.Diff(shape(e.Root), shape(e2.Root)); d != "" {
			t.Fatalf("round trip of %q changed the tree:\n%s", src, d)
		}
		if d := cmp.Diff(e.Attributes(), e2.Attributes()); d != "" {
			t.Fatalf("round trip of %q changed Attributes:\n%s", src, d)
		}
	})
}

// watchdog turns a hang into a crash the fuzzer records: if the returned
// stop function is not called within 10 s, the process panics.
func watchdog(src string) (stop func()) {
	t := time.AfterFunc(10*time.Second, func() {
		panic(fmt.Sprintf("expression took more than 10s: %q", src))
	})
	return func() { t.Stop() }
}

// fuzzRand is a deterministic, never-failing randomness source.
type fuzzRand struct{ x uint64 }

func (r *fuzzRand) Read(p []byte) (int, error) {
	for i := range p {
		r.x ^= r.x << 13
		r.x ^= r.x >> 7
		r.x ^= r.x << 17
		p[i] = byte(r.x)
	}
	return len(p), nil
}

func FuzzEval(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, "John", "2012-03-16-07:00", uint8(i))
	}
	f.Add(`Replace([a], , [b], , [c], , )`, "x", "", uint8(7))
	f.Add(`Join([a], [b], [b], [b])`, "aaaa", "bbbb", uint8(0xff))
	f.Fuzz(func(t *testing.T, src, v1, v2 string, mode uint8) {
		defer watchdog(src)()
		e, err := Parse(src)
		if err != nil {
			return
		}
		// Give each attribute a value chosen by mode: null, v1, v2, "",
		// or multi-valued.
		vals := map[string]Value{}
		for i, name := range e.Attributes() {
			switch (int(mode) >> (i % 4 * 2)) & 3 {
			case 0:
			case 1:
				vals[name] = Str(v1)
			case 2:
				vals[name] = Str(v2)
			case 3:
				vals[name] = Multi([]string{v1, "", v2, v1})
			}
		}
		env := &Env{
			Attr:          func(n string) Value { return vals[n] },
			Now:           func() time.Time { return testNow },
			Rand:          &fuzzRand{x: uint64(mode) | 1},
			DefaultDomain: v2,
			IsTaken:       func(c string) (bool, error) { return len(c)%2 == int(mode)%2, nil },
		}
		r, err := e.Eval(env)
		if err != nil {
			var ee *EvalError
			var ue *UserError
			if !errors.As(err, &ee) && !errors.As(err, &ue) {
				t.Fatalf("Eval(%q) error %v has type %T", src, err, err)
			}
			return
		}
		if r.Value.size() > MaxValueSize {
			t.Fatalf("Eval(%q) produced %d bytes", src, r.Value.size())
		}
	})
}

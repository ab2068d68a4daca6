package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`join(" ", [givenName], [surname])`, `Join(" ", [givenName], [surname])`},
		{`Replace([mail], "@contoso.com", , ,"", ,)`, `Replace([mail], "@contoso.com", , , "", , )`},
		{`Switch([IsSoftDeleted], , "False", "True", "True", "False")`, `Switch([IsSoftDeleted], , "False", "True", "True", "False")`},
		{`FormatDateTime([x], , "yyyyMMdd", "yyyy-MM-dd")`, `FormatDateTime([x], , "yyyyMMdd", "yyyy-MM-dd")`},
		{`[extension_abc123_costCenter]`, `[extension_abc123_costCenter]`},
		{` [odd name (with) "chars"] `, `[odd name (with) "chars"]`},
		{`"constant"`, `"constant"`},
		{`"Company name: \"Contoso\""`, `"Company name: \"Contoso\""`},
		{`"\\+(?<isdCode>\\d* )"`, `"\\+(?<isdCode>\\d* )"`},
		{`"\d"`, `"\\d"`},
		{`BitAnd(&hf, &HF7)`, `BitAnd(&HF, &HF7)`},
		{`Mid([a], 007, 3)`, `Mid([a], 7, 3)`},
		{`DateAdd("d", -10, Now())`, `DateAdd("d", -10, Now())`},
		{`InStr("a","b",1,VBTEXTCOMPARE)`, `InStr("a", "b", 1, vbTextCompare)`},
		{`ConvertFromBase64("SGk=", utf8)`, `ConvertFromBase64("SGk=", UTF8)`},
		{`IIF([country]="USA",[country],[department])`, `IIF([country] = "USA", [country], [department])`},
		{`IIF(DateDiff("d", Now(), CDate([h])) >= 5, "False", "True")`, `IIF(DateDiff("d", Now(), CDate([h])) >= 5, "False", "True")`},
		{`"t-" & [alias] & "x"`, `"t-" & [alias] & "x"`},
		{`"a" & ("b" & "c")`, `"a" & ("b" & "c")`},
		{`("a" & "b") & "c"`, `"a" & "b" & "c"`},
		{`CBool(([a]))`, `CBool([a])`},
		{`([a] = "x") = "True"`, `([a] = "x") = "True"`},
		{`CBool("a" & "b" = "ab")`, `CBool("a" & "b" = "ab")`},
		{`"x" <> ("y" & "z")`, `"x" <> "y" & "z"`},
		{`Guid( )`, `Guid()`},
		{"SelectUniqueValue(\n  [a],\n  [b]\n)", `SelectUniqueValue([a], [b])`},
		{"\t Coalesce ( [mail] , \"\" ) \n", `Coalesce([mail], "")`},
	}
	for _, tc := range tests {
		e, err := Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q).String()\n got %s\nwant %s", tc.src, got, tc.want)
		}
		e2, err := Parse(e.String())
		if err != nil {
			t.Errorf("reparse %q: %v", e.String(), err)
			continue
		}
		if d := cmp.Diff(shape(e.Root), shape(e2.Root)); d != "" {
			t.Errorf("round trip of %q changed the tree (-first +second):\n%s", tc.src, d)
		}
	}
}

// shape renders a tree without positions, for comparing trees.
func shape(n Node) any {
	switch n := n.(type) {
	case *Call:
		args := make([]any, len(n.Args))
		for i, a := range n.Args {
			args[i] = shape(a)
		}
		return map[string]any{"call": n.Name, "args": args}
	case *Attr:
		return map[string]any{"attr": n.Name}
	case *String:
		return map[string]any{"string": n.Value}
	case *Number:
		return map[string]any{"number": n.Value}
	case *Ident:
		return map[string]any{"ident": n.Name}
	case *Empty:
		return "empty"
	case *Binary:
		return map[string]any{"op": n.Op, "l": shape(n.Left), "r": shape(n.Right)}
	}
	return nil
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`Replace([mail], "@contoso.com", , ,"", ,)`)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Root.(*Call)
	if len(c.Args) != 7 {
		t.Fatalf("Replace has %d args, want 7", len(c.Args))
	}
	kinds := ""
	for _, a := range c.Args {
		switch a.(type) {
		case *Attr:
			kinds += "A"
		case *String:
			kinds += "S"
		case *Empty:
			kinds += "_"
		}
	}
	if kinds != "AS__S__" {
		t.Errorf("argument kinds = %s, want AS__S__", kinds)
	}
	if got, want := c.Args[2].Pos(), (Pos{1, 33}); got != want {
		t.Errorf("empty arg position = %v, want %v", got, want)
	}

	e, err = Parse("Join(\" \",\n  [givenName],  DateAdd(\"d\", -10, &HF))")
	if err != nil {
		t.Fatal(err)
	}
	j := e.Root.(*Call)
	if got, want := j.Args[1].Pos(), (Pos{2, 3}); got != want {
		t.Errorf("[givenName] at %v, want %v", got, want)
	}
	d := j.Args[2].(*Call)
	if got, want := d.Pos(), (Pos{2, 17}); got != want {
		t.Errorf("DateAdd at %v, want %v", got, want)
	}
	if n := d.Args[1].(*Number); n.Value != -10 || n.Text != "-10" {
		t.Errorf("number = %+v, want -10", n)
	}
	if n := d.Args[2].(*Number); n.Value != 15 || n.Text != "&HF" {
		t.Errorf("hex = %+v, want 15 from &HF", n)
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("Trim(", 101) + `"x"` + strings.Repeat(")", 101)
	long := `"` + strings.Repeat("a", MaxLength) + `"`
	tests := []struct {
		src, want string
	}{
		{`Append([given], Jion("x"))`, `expr:1:17: unknown function "Jion"`},
		{``, `expr:1:1: empty expression`},
		{`   `, `expr:1:4: empty expression`},
		{`Mid([x], 1)`, `expr:1:1: Mid: too few arguments (want 3, got 2)`},
		// A constant that is never an integer, in an Integer parameter.
		{`Mid([x], "a", 2)`, `expr:1:10: Mid: start must be an integer, got "a"`},
		{`IIF([b], Left([x], vbTextCompare), "")`, `expr:1:20: Left: numChars must be an integer, got "vbTextCompare"`},
		{`RandomString(8, 1, 1, 1, "")`, `expr:1:26: RandomString: MinimumLowerCase must be an integer, got ""`},
		{`Append([a], "b", "c")`, `expr:1:18: Append: too many arguments (want 2, got 3)`},
		{`Now(1)`, `expr:1:5: Now: too many arguments (want 0, got 1)`},
		{`Join(" ")`, `expr:1:1: Join: too few arguments (want at least 2, got 1)`},
		{`Mid([x], , 3)`, `expr:1:10: Mid: argument 2 (start) is required`},
		{`Replace(, "a", , , "b", , )`, `expr:1:9: Replace: argument 1 (source) is required`},
		{`Join(" ", [a]`, `expr:1:14: unexpected end of expression: missing ")" to close Join(`},
		{`Join(" " [a])`, `expr:1:10: unexpected attribute [a] in argument list (expected "," or ")")`},
		{`"abc`, `expr:1:1: unterminated string constant`},
		{`Append([a], "x\")`, `expr:1:13: unterminated string constant`},
		{`[abc`, `expr:1:1: unterminated attribute reference`},
		{`[]`, `expr:1:1: empty attribute name`},
		{`Append([a], mail)`, `expr:1:13: unknown identifier "mail" (attribute references need brackets: [mail])`},
		{`Now`, `expr:1:1: function Now must be called with parentheses: Now()`},
		{`Switch([a], "d", "k")`, `expr:1:1: Switch: too few arguments (want at least 4, got 3)`},
		{`Switch([a], "d", "k", "v", "k2")`, `expr:1:28: Switch: key and value arguments must come in pairs (this key has no value)`},
		{`IIF([a] = "x" = "y", "1", "2")`, `expr:1:15: unexpected "=": comparisons cannot be chained (nest IIF calls instead)`},
		{`Replace([a], , "(?=x)", , "", , )`, `expr:1:16: Replace: invalid regular expression: lookahead assertions (?=…) are not supported`},
		{`Replace([a], , "(?<=x)y", , "", , )`, `expr:1:16: Replace: invalid regular expression: lookbehind assertions (?<=…) are not supported`},
		{`Replace([a], , "(x)\\1", , "", , )`, `expr:1:16: Replace: invalid regular expression: backreferences such as \1 are not supported`},
		{`Replace([a], , "(a", , "", , )`, "expr:1:16: Replace: invalid regular expression: missing closing ): `(a`"},
		{`Replace([a], , "(?<g>x)", "h", "", , )`, `expr:1:27: Replace: regexGroupName "h" is not a named group of the pattern`},
		{`Join("a", SelectUniqueValue([a], [b]))`, `expr:1:11: SelectUniqueValue must be the whole expression; it cannot be nested`},
		{`Append([a], "b") extra`, `expr:1:18: unexpected identifier "extra" after expression`},
		{`Append([a], "b"))`, `expr:1:17: unexpected ")" after expression`},
		{`Mid([a], 1, 99999999999999999999)`, `expr:1:13: number 99999999999999999999 out of range`},
		{`"a" & `, `expr:1:7: unexpected end of expression`},
		{"Join(\" \",\n  [a],\n  Foo())", `expr:3:3: unknown function "Foo"`},
		{`Append([a], @)`, `expr:1:13: unexpected character '@'`},
		{`Append([a], -)`, `expr:1:13: unexpected character '-' (a minus sign must be followed by digits)`},
		{`BitAnd(&Hxyz, 1)`, `expr:1:8: malformed hex literal "&H"`},
		{`Mid([a], 1.5, 2)`, `expr:1:10: malformed number "1."`},
		{`Append(,)`, `expr:1:8: Append: argument 1 (source) is required`},
		{`(`, `expr:1:2: unexpected end of expression`},
		{`([a]`, `expr:1:5: unexpected end of expression (expected ")")`},
		{`,`, `expr:1:1: unexpected "," (expected a function call, [attribute], "string" or number)`},
		{`Zoë([a])`, `expr:1:1: unknown function "Zoë"`},
		{`Append("é", Jion())`, `expr:1:13: unknown function "Jion"`},
		{deep, `expr:1:501: expression nested deeper than 100 levels`},
		{long, `expr:1:10001: expression is longer than 10000 characters (10002)`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.src)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error %s", tc.src, tc.want)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error %T, want *Error", tc.src, err)
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", clip(tc.src, 60), got, tc.want)
		}
	}
}

func TestAttributes(t *testing.T) {
	e, err := Parse(`Join(" ", [givenName], Coalesce([surname], [givenName]), Replace([tel], , "(?<d>\\d+)", "d", , [mobile], ), [surname])`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"givenName", "surname", "tel", "mobile"}
	if d := cmp.Diff(want, e.Attributes()); d != "" {
		t.Errorf("Attributes() (-want +got):\n%s", d)
	}
	e.Attributes()[0] = "changed"
	if e.Attributes()[0] != "givenName" {
		t.Error("Attributes() returned shared storage")
	}
	if got := mustParse(t, `"constant"`).Attributes(); len(got) != 0 {
		t.Errorf("constant Attributes() = %v, want none", got)
	}
}

func mustParse(t testing.TB, src string) *Expr {
	t.Helper()
	e, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return e
}

func TestFunctions(t *testing.T) {
	fs := Functions()
	byName := map[string]FunctionSchema{}
	for i, f := range fs {
		if i > 0 && fs[i-1].Name >= f.Name {
			t.Errorf("Functions not sorted: %s before %s", fs[i-1].Name, f.Name)
		}
		byName[f.Name] = f
		for _, p := range f.Params {
			switch p.Type {
			case "String", "Integer", "Boolean", "DateTime", "Binary", "Reference":
			default:
				t.Errorf("%s.%s has type %q", f.Name, p.Name, p.Type)
			}
		}
	}
	documented := []string{"Append", "AppRoleAssignments", "AppRoleAssignmentsComplex",
		"AssertiveAppRoleAssignmentsComplex", "BitAnd", "CBool", "CDate", "Coalesce",
		"ConvertFromBase64", "ConvertToBase64", "ConvertToUTF8Hex", "Count", "CStr", "DateAdd",
		"DateDiff", "DateFromNum", "DefaultDomain", "DNComponent", "Error", "FormatDateTime",
		"Guid", "IgnoreFlowIfNullOrEmpty", "IIF", "InStr", "IsNull", "IsNullOrEmpty", "IsPresent",
		"IsString", "Item", "Join", "Left", "Len", "Mid", "NormalizeDiacritics", "Not", "Now",
		"NumFromDate", "PCase", "RandomString", "Redact", "RemoveDuplicates", "Replace",
		"SelectUniqueValue", "SingleAppRoleAssignment", "Split", "StringFromSid", "StripSpaces",
		"Switch", "ToLower", "ToUpper", "Trim", "Word"}
	for _, name := range documented {
		if _, ok := byName[name]; !ok {
			t.Errorf("Functions() lacks %s", name)
		}
	}
	params := func(name string) []string {
		var out []string
		for _, p := range byName[name].Params {
			out = append(out, p.Name)
		}
		return out
	}
	for name, want := range map[string][]string{
		"Not":      {"source"},
		"Mid":      {"source", "start", "length"},
		"Replace":  {"source", "oldValue", "regexPattern", "regexGroupName", "replacementValue", "replacementAttributeName", "template"},
		"Switch":   {"source", "defaultValue", "key", "value"},
		"Join":     {"separator", "source"},
		"Coalesce": {"source", "defaultValue"},
	} {
		if d := cmp.Diff(want, params(name)); d != "" {
			t.Errorf("%s params (-want +got):\n%s", name, d)
		}
	}
	sw := byName["Switch"].Params
	if !sw[2].AllowMultipleOccurrences || !sw[3].AllowMultipleOccurrences || sw[1].Required {
		t.Errorf("Switch params = %+v", sw)
	}
	if !byName["Join"].Params[1].AllowMultipleOccurrences || !byName["Coalesce"].Params[0].AllowMultipleOccurrences {
		t.Error("Join.source / Coalesce.source should allow multiple occurrences")
	}
	// Every function in the table parses with its minimum argument count.
	for _, f := range fs {
		fd := lookupFunc(f.Name)
		if fd == nil || (fd.eager == nil) == (fd.lazy == nil) {
			t.Errorf("%s: bad table entry", f.Name)
		}
	}
	fs[0].Params = nil
	if len(Functions()[0].Params) == 0 && len(byName[fs[0].Name].Params) != 0 {
		t.Error("Functions() returned shared storage")
	}
}

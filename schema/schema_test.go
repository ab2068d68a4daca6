package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSCIMTemplateCompiles(t *testing.T) {
	s := SCIMSchema()
	c, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rule(SCIMUserRuleID)
	if r == nil {
		t.Fatal("rule missing")
	}
	u := r.Object("user") // case-insensitive, as AD sends it
	if u == nil || len(u.Matching) != 1 || u.Matching[0].Target != "userName" {
		t.Fatalf("user mapping = %+v", u)
	}
	if g := r.Object("Group"); g == nil || g.Matching[0].Target != "displayName" {
		t.Fatalf("group mapping = %+v", g)
	}
	for _, want := range []string{"userPrincipalName", "IsSoftDeleted", "givenName", "surname", "mailNickname"} {
		found := false
		for _, a := range u.SourceAttributes {
			found = found || a == want
		}
		if !found {
			t.Errorf("SourceAttributes %v lacks %s", u.SourceAttributes, want)
		}
	}
	// The template survives a JSON round trip (what a job stores) unchanged.
	b, _ := json.Marshal(s)
	var back Schema
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Error("schema JSON round trip changed it")
	}
}

func TestSourceFromExpression(t *testing.T) {
	src, err := SourceFromExpression(`Switch([IsSoftDeleted], , "False", "True", "True", "False")`)
	if err != nil {
		t.Fatal(err)
	}
	if src.Type != "Function" || *src.Name != "Switch" || len(src.Parameters) != 5 {
		t.Fatalf("got %+v", src)
	}
	if p := src.Parameters[0]; p.Key != "source" || p.Value.Type != "Attribute" || *p.Value.Name != "IsSoftDeleted" {
		t.Errorf("first parameter = %+v", p)
	}
	if p := src.Parameters[1]; p.Value.Type != "Constant" || *p.Value.Name != "False" {
		t.Errorf("second parameter = %+v (the empty default is skipped)", p.Value)
	}
	// Without the expression text, it is rebuilt from name and parameters.
	src.Expression = nil
	text, err := ExpressionOf(src)
	if err != nil {
		t.Fatal(err)
	}
	if text != `Switch([IsSoftDeleted], "False", "True", "True", "False")` {
		t.Errorf("rebuilt %s", text)
	}
	q := "say \"hi\" \\ there"
	text, err = ExpressionOf(&MappingSource{Type: "Constant", Name: &q})
	if err != nil || text != `"say \"hi\" \\ there"` {
		t.Errorf("constant = %s, %v", text, err)
	}
}

func TestCompileErrorsNameWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(s *Schema)
		want   []string
	}{
		{"bad expression", func(s *Schema) {
			e := `Jion(" ", [givenName])`
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[8].Source = &MappingSource{Expression: &e, Type: "Function"}
		}, []string{"Provision Azure Active Directory Users", "name.formatted", "expr:1:1", "Jion"}},
		{"unknown operator", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Name: "f", Clauses: []FilterClause{
				{OperatorName: "LIKE", SourceOperandName: "department", TargetOperand: &FilterOperand{Values: []string{"x"}}}}}}}
		}, []string{"Provision Azure Active Directory Users", `"LIKE"`, "EQUALS"}},
		{"bad regex", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Name: "f", Clauses: []FilterClause{
				{OperatorName: "REGEX MATCH", SourceOperandName: "mail", TargetOperand: &FilterOperand{Values: []string{"(["}}}}}}}
		}, []string{"invalid regular expression"}},
		{"bad regex, not the first value", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Name: "f", Clauses: []FilterClause{
				{OperatorName: "REGEX MATCH", SourceOperandName: "mail", TargetOperand: &FilterOperand{Values: []string{"^a", "(["}}}}}}}
		}, []string{"invalid regular expression", `"(["`}},
		{"an integer operator's second value is not an integer", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Name: "f", Clauses: []FilterClause{
				{OperatorName: "Greater_Than", SourceOperandName: "employeeId", TargetOperand: &FilterOperand{Values: []string{"10", "ten"}}}}}}}
		}, []string{"Greater_Than needs an integer value", `"ten"`}},
		{"no matching attribute", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[1].AttributeMappings[0].MatchingPriority = 0
		}, []string{"Provision Azure Active Directory Groups", "matchingPriority"}},
		{"one target attribute twice, in another case", func(s *Schema) {
			om := &s.SynchronizationRules[0].ObjectMappings[0]
			m := om.AttributeMappings[2]
			m.TargetAttributeName = strings.ToUpper(m.TargetAttributeName)
			om.AttributeMappings = append(om.AttributeMappings, m)
		}, []string{"two attribute mappings write this target attribute"}},
		{"duplicate matching priority", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].MatchingPriority = 1
		}, []string{"matchingPriority 1", "userName"}},
		{"bad flowTypes", func(s *Schema) { s.SynchronizationRules[0].ObjectMappings[0].FlowTypes = "Add, Upsert" }, []string{"Upsert"}},
		{"bad flowType", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[1].FlowType = "Sometimes"
		}, []string{"active", "Sometimes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SCIMSchema()
			tc.mutate(s)
			_, err := Compile(s)
			if err == nil {
				t.Fatal("Compile accepted a bad schema")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseFlowTypes(t *testing.T) {
	for in, want := range map[string]FlowTypes{
		"": {true, true, true}, "Add, Update, Delete": {true, true, true}, "Add,Update": {true, true, false}, "None": {},
	} {
		got, err := ParseFlowTypes(in)
		if err != nil || got != want {
			t.Errorf("ParseFlowTypes(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestScopeOperators(t *testing.T) {
	clause := func(op string, vals ...string) *Filter {
		return &Filter{Groups: []FilterGroup{{Name: "g", Clauses: []FilterClause{{OperatorName: op, SourceOperandName: "a", TargetOperand: &FilterOperand{Values: vals}}}}}}
	}
	for _, tc := range []struct {
		op   string
		vals []string
		in   []string
		want bool
	}{
		{"EQUALS", []string{"Sales"}, []string{"Sales"}, true},
		{"EQUALS", []string{"Sales"}, []string{"sales"}, false},
		{"EQUALS", []string{""}, nil, false},
		{"NOT EQUALS", []string{"Sales"}, []string{"HR"}, true},
		{"NOT EQUALS", []string{"Sales"}, nil, false}, // null is never in scope
		{"IS TRUE", nil, []string{"True"}, true},
		{"IS FALSE", nil, []string{"True"}, false},
		{"IS NULL", nil, nil, true},
		{"IS NULL", nil, []string{""}, true},
		{"IS NOT NULL", nil, []string{"x"}, true},
		{"REGEX MATCH", []string{`.*@contoso\.com$`}, []string{"a@contoso.com"}, true},
		{"NOT REGEX MATCH", []string{`.*@contoso\.com$`}, []string{"a@fabrikam.com"}, true},
		{"NOT REGEX MATCH", []string{`x`}, nil, false},
		{"Greater_Than", []string{"10"}, []string{"11"}, true},
		{"Greater_Than", []string{"10"}, []string{"ten"}, false},
		{"Greater_Than_OR_EQUALS", []string{"10"}, []string{"10"}, true},
		{"Less_Than", []string{"10"}, []string{"9"}, true},
		{"Less_Than_OR_EQUALS", []string{"10"}, []string{"11"}, false},
		{"Includes", []string{"Eng"}, []string{"R&D Engineering"}, true},
		{"Not Includes", []string{"Eng"}, []string{"Sales"}, true},
		{"STARTS_WITH", []string{"R&D"}, []string{"R&D Engineering"}, true},
		{"ENDS_WITH", []string{"ing"}, []string{"R&D Engineering"}, true},
		{"&", []string{"Sales,HR,Finance"}, []string{"HR"}, true},
		{"!&", []string{"Sales,HR,Finance"}, []string{"Legal"}, true},
		{"EQUALS", []string{"x"}, []string{"x", "y"}, false}, // multi-valued: every value must pass
		// Several operand values: one of them for an operator, none for a
		// negated one; not just the first.
		{"EQUALS", []string{"Sales", "HR"}, []string{"HR"}, true},
		{"EQUALS", []string{"Sales", "HR"}, []string{"Legal"}, false},
		{"EQUALS", []string{"x", "y"}, []string{"x", "y"}, true},
		{"NOT EQUALS", []string{"Sales", "HR"}, []string{"HR"}, false},
		{"NOT EQUALS", []string{"Sales", "HR"}, []string{"Legal"}, true},
		{"REGEX MATCH", []string{`^a`, `^b`}, []string{"bob"}, true},
		{"NOT REGEX MATCH", []string{`^a`, `^b`}, []string{"bob"}, false},
		{"NOT REGEX MATCH", []string{`^a`, `^b`}, []string{"carol"}, true},
		{"Includes", []string{"Eng", "Ops"}, []string{"DevOps"}, true},
		{"Not Includes", []string{"Eng", "Ops"}, []string{"DevOps"}, false},
		{"STARTS_WITH", []string{"A", "B"}, []string{"Bob"}, true},
		{"ENDS_WITH", []string{"a", "b"}, []string{"Bob"}, true},
		{"Greater_Than", []string{"100", "10"}, []string{"50"}, true},
		{"Less_Than", []string{"10", "20"}, []string{"30"}, false},
		{"&", []string{"Sales,HR", "Legal"}, []string{"Legal"}, true},
		{"!&", []string{"Sales,HR", "Legal"}, []string{"Legal"}, false},
		{"!&", []string{"Sales,HR", "Legal"}, []string{"Finance"}, true},
	} {
		sc, err := compileScope(clause(tc.op, tc.vals...))
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		got, results := sc.Eval(func(string) []string { return tc.in })
		if got != tc.want || len(results) != 1 || results[0].Passed != tc.want {
			t.Errorf("%s %v on %q = %v, want %v", tc.op, tc.vals, tc.in, got, tc.want)
		}
	}
	// Groups are OR-ed, clauses AND-ed.
	f := &Filter{Groups: []FilterGroup{
		{Name: "both", Clauses: []FilterClause{
			{OperatorName: "EQUALS", SourceOperandName: "department", TargetOperand: &FilterOperand{Values: []string{"Sales"}}},
			{OperatorName: "EQUALS", SourceOperandName: "country", TargetOperand: &FilterOperand{Values: []string{"NO"}}}}},
		{Name: "vip", Clauses: []FilterClause{{OperatorName: "IS TRUE", SourceOperandName: "vip"}}},
	}}
	sc, err := compileScope(f)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]string{"department": {"Sales"}, "country": {"SE"}, "vip": {"False"}}
	if ok, _ := sc.Eval(func(n string) []string { return attrs[n] }); ok {
		t.Error("one clause of each group failed, yet in scope")
	}
	attrs["vip"] = []string{"True"}
	if ok, _ := sc.Eval(func(n string) []string { return attrs[n] }); !ok {
		t.Error("second group passes, yet out of scope")
	}
	if len(Operators()) != 18 {
		t.Errorf("Operators() lists %d, want 18", len(Operators()))
	}
}

// TestCheckTargets: every built-in template passes; a schema whose enabled
// mappings write what its target directory does not define, or map one
// source object type twice, is refused with what to fix; disabled
// mappings and undefined target directories are not checked.
func TestCheckTargets(t *testing.T) {
	for _, tpl := range Templates("app") {
		c, err := Compile(tpl.Schema)
		if err != nil {
			t.Fatalf("template %s: %v", tpl.ID, err)
		}
		if err := CheckTargets(c); err != nil {
			t.Errorf("template %s: %v", tpl.ID, err)
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(s *Schema)
		want   []string // nil: accepted
	}{
		{"an undefined target attribute", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].TargetAttributeName = "nickNme"
		}, []string{"Provision Azure Active Directory Users", "nickNme", "has no such attribute"}},
		{"an undefined target attribute, in another case: accepted", func(s *Schema) {
			m := &s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[0]
			m.TargetAttributeName = strings.ToUpper(m.TargetAttributeName)
		}, nil},
		{"an undefined target object", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[1].TargetObjectName = "Team"
		}, []string{"Provision Azure Active Directory Groups", "defines no object 'Team'"}},
		{"an undefined target object in a disabled mapping: accepted", func(s *Schema) {
			om := &s.SynchronizationRules[0].ObjectMappings[1]
			om.TargetObjectName, om.Enabled = "Team", false
		}, nil},
		{"a target directory the schema does not define: accepted", func(s *Schema) {
			s.Directories = nil
		}, nil},
		{"two enabled mappings of users", func(s *Schema) {
			r := &s.SynchronizationRules[0]
			again := r.ObjectMappings[0]
			again.Name = "Users again"
			again.SourceObjectName = "user"
			r.ObjectMappings = append(r.ObjectMappings, again)
		}, []string{"Users again", "already provisions source objects 'user'", "Provision Azure Active Directory Users"}},
		{"a source type Graph does not have, beside an expression", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[0].Source.Type = "Attrib"
		}, []string{"userName", "source type 'Attrib' is not one of"}},
		{"a parameter's source type", func(s *Schema) {
			am := &s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[1] // active: a Switch
			am.Source.Parameters[0].Value.Type = "Variable"
		}, []string{"active", "parameter 'source': source type 'Variable'"}},
		{"source types in any case: accepted", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[0].Source.Type = "attribute"
		}, nil},
		{"a source object the source directory does not define", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].SourceObjectName = "Usr"
		}, []string{"the source directory 'Azure Active Directory' defines no object 'Usr'"}},
		{"a renamed target directory", func(s *Schema) {
			s.Directories[1].Name = "myapp"
		}, []string{"targetDirectoryName 'customappsso' is not one of the schema's directories ('Azure Active Directory', 'myapp')"}},
		{"a source directory the schema does not define: accepted (the jobs service checks sources)", func(s *Schema) {
			s.SynchronizationRules[0].SourceDirectoryName = DirectoryLDAP
		}, nil},
		{"an attribute type Graph does not have", func(s *Schema) {
			s.Directories[1].Objects[0].Attributes[0].Type = "Text"
		}, []string{"directory 'customappsso', object 'User', attribute", "type 'Text' is not one of String, Integer"}},
		{"an attribute type in lower case: accepted", func(s *Schema) {
			s.Directories[1].Objects[0].Attributes[0].Type = "string"
		}, nil},
		{"a mutability Graph does not have", func(s *Schema) {
			s.Directories[0].Objects[0].Attributes[3].Mutability = "Writable"
		}, []string{"mutability 'Writable' is not one of ReadWrite, ReadOnly, Immutable, WriteOnly"}},
		{"an attribute without a name", func(s *Schema) {
			s.Directories[1].Objects[0].Attributes[2].Name = " "
		}, []string{"object 'User': attributes[2] has no name"}},
		{"an attribute defined twice", func(s *Schema) {
			attrs := &s.Directories[1].Objects[0].Attributes
			dup := (*attrs)[0]
			dup.Name = strings.ToUpper(dup.Name)
			*attrs = append(*attrs, dup)
		}, []string{"defines attribute '" + strings.ToUpper(SCIMSchema().Directories[1].Objects[0].Attributes[0].Name) + "' twice"}},
		{"an object without a name", func(s *Schema) {
			s.Directories[1].Objects = append(s.Directories[1].Objects, ObjectDefinition{})
		}, []string{"directory 'customappsso': objects[2] has no name"}},
		{"an object defined twice", func(s *Schema) {
			d := &s.Directories[0]
			d.Objects = append(d.Objects, d.Objects[0])
		}, []string{"directory 'Azure Active Directory' defines object 'User' twice"}},
		{"a scoping clause on an attribute the source lacks", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Name: "g", Clauses: []FilterClause{
				{OperatorName: "EQUALS", SourceOperandName: "dispalyName", TargetOperand: &FilterOperand{Values: []string{"x"}}}}}}}
		}, []string{`scoping filter "g" clause 1: the source object 'User' of directory 'Azure Active Directory' has no attribute 'dispalyName'`}},
		{"a scoping clause on a defined attribute, in another case: accepted", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{Groups: []FilterGroup{{Clauses: []FilterClause{
				{OperatorName: "EQUALS", SourceOperandName: "DisplayName", TargetOperand: &FilterOperand{Values: []string{"x"}}}}}}}
		}, nil},
		{"inputFilterGroups", func(s *Schema) {
			s.SynchronizationRules[0].ObjectMappings[0].Scope = &Filter{InputFilterGroups: []FilterGroup{{Clauses: []FilterClause{
				{OperatorName: "EQUALS", SourceOperandName: "displayName", TargetOperand: &FilterOperand{Values: []string{"x"}}}}}}}
		}, []string{"scope.inputFilterGroups and scope.categoryFilterGroups are not supported", "scope.groups"}},
		{"a mapping from an attribute the source lacks", func(s *Schema) {
			name := "nosuchattr"
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].Source = &MappingSource{Name: &name, Type: "Attribute"}
		}, []string{"has no attribute 'nosuchattr'"}},
		{"an expression reading an attribute the source lacks", func(s *Schema) {
			e := `Join(" ", [givenName], [surnme])`
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].Source = &MappingSource{Expression: &e, Type: "Function"}
		}, []string{"has no attribute 'surnme'"}},
		{"an expression and a name that disagree", func(s *Schema) {
			name := "mail"
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].Source.Name = &name
		}, []string{"source.expression \"[displayName]\" and the source's name, type and parameters ([mail]) say different things"}},
		{"an expression and a structured form that agree, spelt differently: accepted", func(s *Schema) {
			e := " [DisplayName] "
			name := "displayName"
			s.SynchronizationRules[0].ObjectMappings[0].AttributeMappings[2].Source = &MappingSource{Expression: &e, Name: &name, Type: "Attribute"}
		}, nil},
		{"two mappings of users, one disabled: accepted", func(s *Schema) {
			r := &s.SynchronizationRules[0]
			again := r.ObjectMappings[0]
			again.Enabled = false
			r.ObjectMappings = append(r.ObjectMappings, again)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SCIMSchema()
			tc.mutate(s)
			c, err := Compile(s)
			if err != nil {
				t.Fatalf("Compile: %v (the case is for CheckTargets)", err)
			}
			err = CheckTargets(c)
			var ce *CompileError
			if err != nil && !errors.As(err, &ce) {
				t.Errorf("CheckTargets error %T, want *CompileError", err)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckTargets refused it: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckTargets accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

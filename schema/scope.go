package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Operator is a scoping-filter operator as GET .../filterOperators lists it.
type Operator struct {
	Name                      string
	Arity                     string // "Binary" or "Unary"
	MultivaluedComparisonType string // "All" or "Any"
	SupportedAttributeTypes   []string
	// holds tests a value against one operand (re is the operand compiled,
	// for the regex operators). A negated operator holds when its positive
	// does not: when the value matches none of the operands, where the
	// others need one of them.
	holds   func(v, operand string, re *regexp.Regexp) bool
	negated bool
	regex   bool
	integer bool
}

func equals(v, o string, _ *regexp.Regexp) bool      { return v == o }
func includes(v, o string, _ *regexp.Regexp) bool    { return strings.Contains(v, o) }
func matches(v, _ string, re *regexp.Regexp) bool    { return re.MatchString(v) }
func containedIn(v, o string, _ *regexp.Regexp) bool { return strings.Contains(o, v) }

var operators = []*Operator{
	{Name: "EQUALS", Arity: "Binary", holds: equals},
	{Name: "NOT EQUALS", Arity: "Binary", holds: equals, negated: true},
	{Name: "IS TRUE", Arity: "Unary", holds: func(v, _ string, _ *regexp.Regexp) bool { return strings.EqualFold(v, "true") }},
	{Name: "IS FALSE", Arity: "Unary", holds: func(v, _ string, _ *regexp.Regexp) bool { return strings.EqualFold(v, "false") }},
	{Name: "IS NULL", Arity: "Unary"},     // handled before holds: true only for null/empty
	{Name: "IS NOT NULL", Arity: "Unary"}, // true only for a value
	{Name: "REGEX MATCH", Arity: "Binary", regex: true, holds: matches},
	{Name: "NOT REGEX MATCH", Arity: "Binary", regex: true, holds: matches, negated: true},
	{Name: "Greater_Than", Arity: "Binary", integer: true, holds: intCmp(func(a, b int64) bool { return a > b })},
	{Name: "Greater_Than_OR_EQUALS", Arity: "Binary", integer: true, holds: intCmp(func(a, b int64) bool { return a >= b })},
	{Name: "Less_Than", Arity: "Binary", integer: true, holds: intCmp(func(a, b int64) bool { return a < b })},
	{Name: "Less_Than_OR_EQUALS", Arity: "Binary", integer: true, holds: intCmp(func(a, b int64) bool { return a <= b })},
	{Name: "Includes", Arity: "Binary", holds: includes},
	{Name: "Not Includes", Arity: "Binary", holds: includes, negated: true},
	{Name: "STARTS_WITH", Arity: "Binary", holds: func(v, o string, _ *regexp.Regexp) bool { return strings.HasPrefix(v, o) }},
	{Name: "ENDS_WITH", Arity: "Binary", holds: func(v, o string, _ *regexp.Regexp) bool { return strings.HasSuffix(v, o) }},
	// & and !&: the attribute value is (not) contained in the operand string.
	{Name: "&", Arity: "Binary", holds: containedIn},
	{Name: "!&", Arity: "Binary", holds: containedIn, negated: true},
}

func init() {
	for _, op := range operators {
		op.MultivaluedComparisonType = "All"
		switch {
		case op.integer:
			op.SupportedAttributeTypes = []string{"Integer"}
		case strings.HasPrefix(op.Name, "IS TRUE") || strings.HasPrefix(op.Name, "IS FALSE"):
			op.SupportedAttributeTypes = []string{"Boolean"}
		case strings.HasPrefix(op.Name, "IS "):
			op.SupportedAttributeTypes = []string{"String", "Integer", "Reference", "Binary", "Boolean", "DateTime"}
		default:
			op.SupportedAttributeTypes = []string{"String", "Integer"}
		}
	}
}

func intCmp(f func(a, b int64) bool) func(string, string, *regexp.Regexp) bool {
	return func(v, o string, _ *regexp.Regexp) bool {
		a, err1 := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		b, err2 := strconv.ParseInt(strings.TrimSpace(o), 10, 64)
		return err1 == nil && err2 == nil && f(a, b)
	}
}

// Operators lists every scoping operator the engine supports.
func Operators() []Operator {
	out := make([]Operator, len(operators))
	for i, op := range operators {
		out[i] = *op
	}
	return out
}

func operatorByName(name string) *Operator {
	for _, op := range operators {
		if op.Name == name {
			return op
		}
	}
	// Accept the underscore/space spellings interchangeably (IS_NULL, NOT_EQUALS).
	alt := strings.ReplaceAll(name, "_", " ")
	for _, op := range operators {
		if strings.EqualFold(strings.ReplaceAll(op.Name, "_", " "), alt) {
			return op
		}
	}
	return nil
}

// Clause is a compiled scoping clause.
type Clause struct {
	Attribute string
	Operator  *Operator
	Values    []string
	res       []*regexp.Regexp // Values compiled, for the regex operators
}

// ClauseResult is one clause's outcome, for the Scoping step.
type ClauseResult struct {
	Group  string
	Clause *Clause
	Passed bool
}

// String renders the clause as the provisioning log shows it:
// "department EQUALS 'Marketing'".
func (c *Clause) String() string {
	if c.Operator.Arity == "Unary" {
		return c.Attribute + " " + c.Operator.Name
	}
	return fmt.Sprintf("%s %s '%s'", c.Attribute, c.Operator.Name, strings.Join(c.Values, "', '"))
}

// Eval evaluates the clause on an attribute's values. A clause on a null or
// empty value is false, except IS NULL. A multi-valued attribute passes when
// every value does. With several operand values a value passes when it
// holds for one of them (EQUALS 'Sales', 'HR': either), and for a negated
// operator when it holds for none (NOT EQUALS 'Sales', 'HR': neither).
func (c *Clause) Eval(values []string) bool {
	present := false
	for _, v := range values {
		if v != "" {
			present = true
		}
	}
	switch c.Operator.Name {
	case "IS NULL":
		return !present
	case "IS NOT NULL":
		return present
	}
	if !present {
		return false
	}
	for _, v := range values {
		if !c.passes(v) {
			return false
		}
	}
	return true
}

// passes tests one value against the clause's operands.
func (c *Clause) passes(v string) bool {
	op := c.Operator
	if op.Arity == "Unary" {
		return op.holds(v, "", nil)
	}
	for i, o := range c.Values {
		var re *regexp.Regexp
		if op.regex {
			re = c.res[i]
		}
		if op.holds(v, o, re) {
			return !op.negated
		}
	}
	return op.negated
}

// Scope is a compiled object-mapping scope: groups OR-ed, clauses AND-ed.
type Scope struct {
	Groups [][]*Clause
	Names  []string
}

// Eval reports whether attrs pass the scope, with each clause's result. A
// nil or empty scope passes everything.
func (s *Scope) Eval(attr func(name string) []string) (bool, []ClauseResult) {
	if s == nil || len(s.Groups) == 0 {
		return true, nil
	}
	var results []ClauseResult
	any := false
	for i, g := range s.Groups {
		all := true
		for _, c := range g {
			ok := c.Eval(attr(c.Attribute))
			results = append(results, ClauseResult{Group: s.Names[i], Clause: c, Passed: ok})
			all = all && ok
		}
		any = any || all
	}
	return any, results
}

func compileScope(f *Filter) (*Scope, error) {
	if f == nil || len(f.Groups) == 0 {
		return nil, nil
	}
	s := &Scope{}
	for gi, g := range f.Groups {
		name := g.Name
		if name == "" {
			name = fmt.Sprintf("group %d", gi+1)
		}
		var clauses []*Clause
		for ci, c := range g.Clauses {
			where := fmt.Sprintf("scoping filter %q clause %d", name, ci+1)
			op := operatorByName(c.OperatorName)
			if op == nil {
				names := make([]string, len(operators))
				for i, o := range operators {
					names[i] = o.Name
				}
				return nil, fmt.Errorf("%s: unknown operator %q (supported: %s)", where, c.OperatorName, strings.Join(names, ", "))
			}
			if c.SourceOperandName == "" {
				return nil, fmt.Errorf("%s: sourceOperandName is empty", where)
			}
			cl := &Clause{Attribute: c.SourceOperandName, Operator: op}
			if c.TargetOperand != nil {
				cl.Values = c.TargetOperand.Values
			}
			if op.Arity == "Binary" && len(cl.Values) == 0 {
				return nil, fmt.Errorf("%s: operator %s needs a value in targetOperand.values", where, op.Name)
			}
			for _, v := range cl.Values {
				if op.regex {
					re, err := regexp.Compile(v)
					if err != nil {
						return nil, fmt.Errorf("%s: invalid regular expression %q: %v", where, v, err)
					}
					cl.res = append(cl.res, re)
				}
				if op.integer {
					if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
						return nil, fmt.Errorf("%s: operator %s needs an integer value, got %q", where, op.Name, v)
					}
				}
			}
			clauses = append(clauses, cl)
		}
		s.Groups = append(s.Groups, clauses)
		s.Names = append(s.Names, name)
	}
	return s, nil
}

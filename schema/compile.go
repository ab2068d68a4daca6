package schema

import (
	"fmt"
	"slices"
	"strings"

	"provisiond/expr"
)

// FlowTypes is the parsed objectFlowTypes flags enum.
type FlowTypes struct{ Add, Update, Delete bool }

// ParseFlowTypes reads "Add, Update, Delete" or "Add,Update,Delete" (the Go
// SDK's spelling); "" means the default, all three.
func ParseFlowTypes(s string) (FlowTypes, error) {
	if strings.TrimSpace(s) == "" {
		return FlowTypes{true, true, true}, nil
	}
	var f FlowTypes
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "None":
		case "Add":
			f.Add = true
		case "Update":
			f.Update = true
		case "Delete":
			f.Delete = true
		default:
			return f, fmt.Errorf("flowTypes: unknown value %q (want a comma-separated list of None, Add, Update, Delete)", strings.TrimSpace(part))
		}
	}
	return f, nil
}

// Compiled is a checked schema with parsed expressions, ready to run.
type Compiled struct {
	Schema *Schema
	Rules  []*CompiledRule
}

// CompiledRule is a checked synchronization rule.
type CompiledRule struct {
	Rule    *Rule
	Objects []*CompiledObject
}

// CompiledObject is a checked object mapping.
type CompiledObject struct {
	Mapping   *ObjectMapping
	FlowTypes FlowTypes
	Attrs     []*CompiledAttr
	// Matching lists the matching attributes, lowest matchingPriority first.
	Matching []*CompiledAttr
	Scope    *Scope
	// SourceAttributes lists every source attribute the mapping reads
	// (expressions and scoping clauses), in first-use order.
	SourceAttributes []string
	// Redacted lists the source attributes read inside Redact(): logs show
	// "[Redact]" instead of their values.
	Redacted []string
}

// CompiledAttr is a checked attribute mapping.
type CompiledAttr struct {
	Mapping *AttributeMapping
	Target  string
	Expr    *expr.Expr // nil when the mapping has no source (default value only)
	// AddOnly is true for flowType ObjectAddOnly: the value flows only when
	// the target object is created.
	AddOnly bool
	// Redacted is true when the expression uses Redact(): logs hide the value.
	Redacted bool
	// Disables is true when the expression reads IsSoftDeleted: these are
	// the mappings that deprovisioning writes.
	Disables bool
	// SingleValued is true when the target directory's definition of the
	// attribute says it takes one value.
	SingleValued bool
}

// HasDefault says whether the mapping has a default value. An empty one is
// none: Graph's schemas carry "defaultValue": "" on every mapping without
// one, and an empty string must not be written to each missing attribute.
func (ca *CompiledAttr) HasDefault() bool {
	return ca.Mapping.DefaultValue != nil && *ca.Mapping.DefaultValue != ""
}

// CompileError says which part of a schema is wrong.
type CompileError struct {
	Rule, ObjectMapping, TargetAttribute string
	Err                                  error
}

func (e *CompileError) Error() string {
	var b strings.Builder
	if e.Rule != "" {
		fmt.Fprintf(&b, "synchronization rule '%s'", e.Rule)
	}
	if e.ObjectMapping != "" {
		fmt.Fprintf(&b, ", object mapping '%s'", e.ObjectMapping)
	}
	if e.TargetAttribute != "" {
		fmt.Fprintf(&b, ", target attribute '%s'", e.TargetAttribute)
	}
	if b.Len() == 0 {
		return e.Err.Error() // the schema's directories, not a rule
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return strings.TrimPrefix(b.String(), ", ")
}

func (e *CompileError) Unwrap() error { return e.Err }

var (
	flowBehaviors = []string{"FlowWhenChanged", "FlowAlways"}
	flowTypes     = []string{"Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly"}
)

// Compile checks s and parses its expressions. Errors are *CompileError.
func Compile(s *Schema) (*Compiled, error) {
	c := &Compiled{Schema: s}
	seen := map[string]bool{}
	for ri := range s.SynchronizationRules {
		r := &s.SynchronizationRules[ri]
		if r.ID == "" {
			return nil, &CompileError{Rule: r.Name, Err: fmt.Errorf("id is empty")}
		}
		if seen[r.ID] {
			return nil, &CompileError{Rule: r.ID, Err: fmt.Errorf("two rules have this id")}
		}
		seen[r.ID] = true
		cr := &CompiledRule{Rule: r}
		for oi := range r.ObjectMappings {
			om := &r.ObjectMappings[oi]
			defs, _ := targetAttributes(s, r.TargetDirectoryName, om.TargetObjectName)
			co, err := compileObject(om, defs)
			if err != nil {
				err.Rule = r.ID
				return nil, err
			}
			cr.Objects = append(cr.Objects, co)
		}
		c.Rules = append(c.Rules, cr)
	}
	return c, nil
}

// targetAttributes returns the definitions of the target object's
// attributes in the schema's directories, by lower-case name, and whether
// the schema defines the target directory: then it must define the object
// and every attribute mapped to (checkTargets).
func targetAttributes(s *Schema, directory, object string) (map[string]*AttributeDefinition, bool) {
	defs, defined := map[string]*AttributeDefinition{}, false
	for di := range s.Directories {
		d := &s.Directories[di]
		if !strings.EqualFold(d.Name, directory) {
			continue
		}
		defined = true
		for oi := range d.Objects {
			if o := &d.Objects[oi]; strings.EqualFold(o.Name, object) {
				for ai := range o.Attributes {
					defs[strings.ToLower(o.Attributes[ai].Name)] = &o.Attributes[ai]
				}
			}
		}
	}
	return defs, defined
}

// CheckTargets checks what a compiled schema's enabled object mappings
// read and write: its directory definitions; one mapping per source object
// type in a rule (a second would never run); source attributes the source
// object defines and, when the schema defines the rule's target directory,
// a target object it defines with every attribute mapped to (a mapping to
// an attribute the target does not know fails every object at export).
// PUT schema checks it; a stored schema still runs without (it may be
// older than the check). Errors are *CompileError.
func CheckTargets(c *Compiled) error {
	s := c.Schema
	if err := checkDirectories(s); err != nil {
		return err
	}
	for _, cr := range c.Rules {
		r := cr.Rule
		if err := checkRuleDirectories(s, r); err != nil {
			return err
		}
		enabled := map[string]string{} // lower-case source object → the mapping's label
		for _, co := range cr.Objects {
			if co.Mapping.Enabled {
				if err := checkTargets(s, r, co, enabled); err != nil {
					err.Rule = r.ID
					return err
				}
			}
		}
	}
	return nil
}

// Graph's attributeType and mutability members. Documentation examples
// spell some in lower case, so they match case-insensitively.
var (
	attributeTypes = []string{"String", "Integer", "Reference", "Binary", "Boolean", "DateTime"}
	mutabilities   = []string{"ReadWrite", "ReadOnly", "Immutable", "WriteOnly"}
)

// checkDirectories checks the schema's directory definitions: named
// objects and attributes, each name once (they are looked up by name,
// case-insensitively, so a second would be ignored) and an attribute type
// and mutability Graph has (default String and ReadWrite).
func checkDirectories(s *Schema) error {
	fail := func(format string, args ...any) error { return &CompileError{Err: fmt.Errorf(format, args...)} }
	for _, d := range s.Directories {
		objects := map[string]bool{}
		for oi, o := range d.Objects {
			if strings.TrimSpace(o.Name) == "" {
				return fail("directory '%s': objects[%d] has no name", d.Name, oi)
			}
			if objects[strings.ToLower(o.Name)] {
				return fail("directory '%s' defines object '%s' twice (names differ in case at most)", d.Name, o.Name)
			}
			objects[strings.ToLower(o.Name)] = true
			attrs := map[string]bool{}
			for ai, a := range o.Attributes {
				where := fmt.Sprintf("directory '%s', object '%s'", d.Name, o.Name)
				switch {
				case strings.TrimSpace(a.Name) == "":
					return fail("%s: attributes[%d] has no name", where, ai)
				case attrs[strings.ToLower(a.Name)]:
					return fail("%s defines attribute '%s' twice (names differ in case at most)", where, a.Name)
				case a.Type != "" && !slices.ContainsFunc(attributeTypes, func(t string) bool { return strings.EqualFold(t, a.Type) }):
					return fail("%s, attribute '%s': type '%s' is not one of %s", where, a.Name, a.Type, strings.Join(attributeTypes, ", "))
				case a.Mutability != "" && !slices.ContainsFunc(mutabilities, func(m string) bool { return strings.EqualFold(m, a.Mutability) }):
					return fail("%s, attribute '%s': mutability '%s' is not one of %s", where, a.Name, a.Mutability, strings.Join(mutabilities, ", "))
				}
				attrs[strings.ToLower(a.Name)] = true
			}
		}
	}
	return nil
}

// checkRuleDirectories requires a rule's target directory to be among
// the schema's directories, when it has any: one renamed there alone
// would leave what the rule writes unchecked. The source may be another
// (an application's job may read LDAP instead of the directory): which
// sources can be read is the jobs service's check.
func checkRuleDirectories(s *Schema, r *Rule) error {
	if len(s.Directories) == 0 || directory(s, r.TargetDirectoryName) != nil {
		return nil
	}
	names := make([]string, len(s.Directories))
	for i, d := range s.Directories {
		names[i] = "'" + d.Name + "'"
	}
	return &CompileError{Rule: r.ID, Err: fmt.Errorf("targetDirectoryName '%s' is not one of the schema's directories (%s)", r.TargetDirectoryName, strings.Join(names, ", "))}
}

// checkTargets is CheckTargets for one enabled object mapping of rule r;
// seen holds the rule's enabled mappings before it.
func checkTargets(s *Schema, r *Rule, co *CompiledObject, seen map[string]string) *CompileError {
	om := co.Mapping
	src := strings.ToLower(om.SourceObjectName)
	if other, dup := seen[src]; dup {
		return om.failure("", fmt.Errorf("object mapping %q already provisions source objects '%s'; disable one of the two", other, om.SourceObjectName))
	}
	seen[src] = om.label()
	for _, am := range om.AttributeMappings {
		if err := checkSourceTypes(am.Source); err != nil {
			return om.failure(am.TargetAttributeName, err)
		}
		if err := checkSourceForms(am.Source); err != nil {
			return om.failure(am.TargetAttributeName, err)
		}
	}
	if om.Scope != nil && (len(om.Scope.InputFilterGroups) > 0 || len(om.Scope.CategoryFilterGroups) > 0) {
		return om.failure("", fmt.Errorf("scope.inputFilterGroups and scope.categoryFilterGroups are not supported (they would be ignored); put the scoping filters in scope.groups"))
	}
	if d := directory(s, r.SourceDirectoryName); d != nil && len(d.Objects) > 0 {
		i := slices.IndexFunc(d.Objects, func(o ObjectDefinition) bool { return strings.EqualFold(o.Name, om.SourceObjectName) })
		if i < 0 {
			return om.failure("", fmt.Errorf("the source directory '%s' defines no object '%s', so the mapping would never run", r.SourceDirectoryName, om.SourceObjectName))
		}
		if err := checkSourceAttributes(co, &d.Objects[i], d.Name); err != nil {
			return err
		}
	}
	defs, defined := targetAttributes(s, r.TargetDirectoryName, om.TargetObjectName)
	if !defined {
		return nil
	}
	if len(defs) == 0 {
		return om.failure("", fmt.Errorf("the target directory '%s' defines no object '%s' (add it to the schema's directories, or map to one it defines)", r.TargetDirectoryName, om.TargetObjectName))
	}
	for _, am := range om.AttributeMappings {
		if defs[strings.ToLower(am.TargetAttributeName)] == nil {
			return om.failure(am.TargetAttributeName, fmt.Errorf("the target object '%s' of directory '%s' has no such attribute (add it to the object's attributes first)", om.TargetObjectName, r.TargetDirectoryName))
		}
	}
	return nil
}

// directory is the schema's directory of the given name, or nil.
func directory(s *Schema, name string) *DirectoryDefinition {
	for i := range s.Directories {
		if strings.EqualFold(s.Directories[i].Name, name) {
			return &s.Directories[i]
		}
	}
	return nil
}

// checkSourceTypes requires src and its parameters to have a type Graph
// has: with an expression set the type is not read, so a wrong one would
// otherwise pass unnoticed.
func checkSourceTypes(src *MappingSource) error {
	if src == nil {
		return nil
	}
	if src.Type != "" && !slices.ContainsFunc([]string{"Attribute", "Constant", "Function"}, func(t string) bool { return strings.EqualFold(t, src.Type) }) {
		return fmt.Errorf("source type '%s' is not one of Attribute, Constant, Function", src.Type)
	}
	for _, p := range src.Parameters {
		if err := checkSourceTypes(p.Value); err != nil {
			return fmt.Errorf("parameter '%s': %w", p.Key, err)
		}
	}
	return nil
}

// checkSourceAttributes requires what an object mapping reads, in its
// expressions and its scoping filters, to be attributes the source
// object defines (when it defines any): a misspelt name reads null for
// every object, and in a scoping filter puts every object out of scope,
// so that a cycle disables them all in the target.
func checkSourceAttributes(co *CompiledObject, o *ObjectDefinition, directory string) *CompileError {
	if len(o.Attributes) == 0 {
		return nil // not discovered yet
	}
	defined := func(name string) bool {
		return slices.ContainsFunc(o.Attributes, func(a AttributeDefinition) bool { return strings.EqualFold(a.Name, name) })
	}
	undefined := func(name string) error {
		return fmt.Errorf("the source object '%s' of directory '%s' has no attribute '%s' (add it to the object's attributes first, or check its spelling)", o.Name, directory, name)
	}
	om := co.Mapping
	for _, ca := range co.Attrs {
		if ca.Expr == nil {
			continue
		}
		for _, a := range ca.Expr.Attributes() {
			if !defined(a) {
				return om.failure(ca.Target, undefined(a))
			}
		}
	}
	if co.Scope != nil {
		for gi, g := range co.Scope.Groups {
			for ci, c := range g {
				if !defined(c.Attribute) {
					return om.failure("", fmt.Errorf("scoping filter %q clause %d: %w", co.Scope.Names[gi], ci+1, undefined(c.Attribute)))
				}
			}
		}
	}
	return nil
}

// checkSourceForms requires a source sent both as an expression and in
// its structured form (name, type, parameters) to say the same in both:
// the expression is what runs, so an edit of the other would be lost.
func checkSourceForms(src *MappingSource) error {
	if src == nil || src.Expression == nil || strings.TrimSpace(*src.Expression) == "" || src.Name == nil {
		return nil
	}
	structured := *src
	structured.Expression = nil
	text, err := ExpressionOf(&structured)
	if err != nil {
		return nil // checkSourceTypes or Compile reports it
	}
	fromForm, err1 := expr.Parse(text)
	fromText, err2 := expr.Parse(*src.Expression)
	// Names of attributes and functions match in any case (constants
	// differing in case alone pass too).
	if err1 != nil || err2 != nil || strings.EqualFold(fromForm.String(), fromText.String()) {
		return nil
	}
	return fmt.Errorf("source.expression %s and the source's name, type and parameters (%s) say different things; change both, or send the expression alone", quote(*src.Expression), fromForm.String())
}

// label names the object mapping in errors: its name, or its object types
// when it has none.
func (om *ObjectMapping) label() string {
	if om.Name != "" {
		return om.Name
	}
	return om.SourceObjectName + " to " + om.TargetObjectName
}

// failure is a CompileError of the object mapping, at a target attribute
// or "".
func (om *ObjectMapping) failure(target string, err error) *CompileError {
	return &CompileError{ObjectMapping: om.label(), TargetAttribute: target, Err: err}
}

func compileObject(om *ObjectMapping, defs map[string]*AttributeDefinition) (*CompiledObject, *CompileError) {
	fail := om.failure
	if om.SourceObjectName == "" || om.TargetObjectName == "" {
		return nil, fail("", fmt.Errorf("sourceObjectName and targetObjectName are required"))
	}
	ft, err := ParseFlowTypes(om.FlowTypes)
	if err != nil {
		return nil, fail("", err)
	}
	co := &CompiledObject{Mapping: om, FlowTypes: ft}
	used := map[string]bool{}
	use := func(names ...string) {
		for _, n := range names {
			if !used[n] {
				used[n] = true
				co.SourceAttributes = append(co.SourceAttributes, n)
			}
		}
	}
	targets := map[string]bool{}
	priorities := map[int32]string{}
	for ai := range om.AttributeMappings {
		am := &om.AttributeMappings[ai]
		t := am.TargetAttributeName
		if t == "" {
			return nil, fail("", fmt.Errorf("attribute mapping %d has no targetAttributeName", ai+1))
		}
		// Attribute names are case-insensitive (SCIM's and the directory's).
		if targets[strings.ToLower(t)] {
			return nil, fail(t, fmt.Errorf("two attribute mappings write this target attribute (names differ in case at most)"))
		}
		targets[strings.ToLower(t)] = true
		if am.FlowBehavior != "" && !slices.Contains(flowBehaviors, am.FlowBehavior) {
			return nil, fail(t, fmt.Errorf("flowBehavior %q is not one of %s", am.FlowBehavior, strings.Join(flowBehaviors, ", ")))
		}
		if am.FlowType != "" && !slices.Contains(flowTypes, am.FlowType) {
			return nil, fail(t, fmt.Errorf("flowType %q is not one of %s", am.FlowType, strings.Join(flowTypes, ", ")))
		}
		ca := &CompiledAttr{Mapping: am, Target: t, AddOnly: am.FlowType == "ObjectAddOnly"}
		if def := defs[strings.ToLower(t)]; def != nil {
			ca.SingleValued = !def.Multivalued
		}
		if am.Source != nil {
			text, err := ExpressionOf(am.Source)
			if err != nil {
				return nil, fail(t, err)
			}
			e, err := expr.Parse(text)
			if err != nil {
				return nil, fail(t, err)
			}
			ca.Expr = e
			use(e.Attributes()...)
			ca.Disables = slices.Contains(e.Attributes(), "IsSoftDeleted")
			// SelectUniqueValue flows only when the object is created: on
			// later runs its own earlier pick would count as taken.
			if call, ok := e.Root.(*expr.Call); ok && strings.EqualFold(call.Name, "SelectUniqueValue") {
				ca.AddOnly = true
			}
			if inside := redactedAttributes(e.Root, false); inside != nil {
				ca.Redacted = true
				for _, a := range inside {
					if !slices.Contains(co.Redacted, a) {
						co.Redacted = append(co.Redacted, a)
					}
				}
			}
		} else if !ca.HasDefault() {
			return nil, fail(t, fmt.Errorf("the mapping has neither a source nor a defaultValue"))
		}
		if am.MatchingPriority < 0 {
			return nil, fail(t, fmt.Errorf("matchingPriority must be 0 (not matching) or positive, got %d", am.MatchingPriority))
		}
		if am.MatchingPriority > 0 {
			if other, dup := priorities[am.MatchingPriority]; dup {
				return nil, fail(t, fmt.Errorf("matchingPriority %d is also used by target attribute '%s'", am.MatchingPriority, other))
			}
			if ca.Expr == nil {
				return nil, fail(t, fmt.Errorf("a matching attribute needs a source"))
			}
			if strings.Contains(strings.ToLower(ca.Expr.String()), "selectuniquevalue(") {
				return nil, fail(t, fmt.Errorf("SelectUniqueValue cannot be used on a matching attribute"))
			}
			priorities[am.MatchingPriority] = t
			co.Matching = append(co.Matching, ca)
		}
		co.Attrs = append(co.Attrs, ca)
	}
	if om.Enabled && len(co.Matching) == 0 {
		return nil, fail("", fmt.Errorf("no attribute mapping has a matchingPriority above 0, so target objects cannot be matched"))
	}
	slices.SortStableFunc(co.Matching, func(a, b *CompiledAttr) int {
		return int(a.Mapping.MatchingPriority - b.Mapping.MatchingPriority)
	})
	scope, err := compileScope(om.Scope)
	if err != nil {
		return nil, fail("", err)
	}
	co.Scope = scope
	if scope != nil {
		for _, g := range scope.Groups {
			for _, cl := range g {
				use(cl.Attribute)
			}
		}
	}
	return co, nil
}

// Rule returns the compiled rule with the given id, or nil.
func (c *Compiled) Rule(id string) *CompiledRule {
	for _, r := range c.Rules {
		if strings.EqualFold(r.Rule.ID, id) { // a GUID, in any case
			return r
		}
	}
	return nil
}

// Object returns the rule's enabled object mapping for a source object type
// (compared case-insensitively), or nil.
func (r *CompiledRule) Object(sourceType string) *CompiledObject {
	for _, o := range r.Objects {
		if o.Mapping.Enabled && strings.EqualFold(o.Mapping.SourceObjectName, sourceType) {
			return o
		}
	}
	return nil
}

// redactedAttributes returns the attributes read inside Redact() calls, or
// nil when the expression has no Redact (a non-nil empty slice when Redact
// reads no attribute).
func redactedAttributes(n expr.Node, inside bool) []string {
	var out []string
	found := false
	var walk func(n expr.Node, inside bool)
	walk = func(n expr.Node, inside bool) {
		switch n := n.(type) {
		case *expr.Attr:
			if inside {
				out = append(out, n.Name)
			}
		case *expr.Call:
			in := inside || strings.EqualFold(n.Name, "Redact")
			found = found || in
			for _, a := range n.Args {
				walk(a, in)
			}
		case *expr.Binary:
			walk(n.Left, inside)
			walk(n.Right, inside)
		}
	}
	walk(n, inside)
	if found && out == nil {
		out = []string{}
	}
	return out
}

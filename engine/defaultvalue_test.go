package engine_test

import (
	"strings"
	"testing"

	"provisiond/schema"
)

// defaults sets the defaultValue of the User mappings of title (from
// jobTitle) and of the work phone (from telephoneNumber).
func defaults(title, phone string) func(*schema.Schema) {
	return func(s *schema.Schema) {
		for i := range userMapping(s).AttributeMappings {
			am := &userMapping(s).AttributeMappings[i]
			switch am.TargetAttributeName {
			case "title":
				am.DefaultValue = &title
			case `phoneNumbers[type eq "work"].value`:
				am.DefaultValue = &phone
			}
		}
	}
}

// A default value fills a missing source attribute when the target object
// is created; an empty one is no default (Graph's schemas carry
// "defaultValue": "" on every mapping), so nothing is written for it.
func TestDefaultValueOnCreate(t *testing.T) {
	f := newFixture(t, defaults("Staff", ""))
	id := f.user("ada", nil) // no jobTitle, no telephoneNumber
	f.assign(id)
	out := f.process(userReq(id))
	obj, err := f.tgt.Get(t.Context(), "User", out.TargetID)
	must(t, err)
	if got := obj.Attrs["title"]; len(got) != 1 || got[0] != "Staff" {
		t.Errorf("title = %q, want the default [Staff]", got)
	}
	if got, ok := obj.Attrs[`phoneNumbers[type eq "work"].value`]; ok {
		t.Errorf("work phone = %q, want none: an empty defaultValue is no default", got)
	}

	// On an update the default does not flow: the title stays as set.
	f.setProp(id, "displayName", "Ada L")
	f.mark()
	f.process(userReq(id))
	obj, err = f.tgt.Get(t.Context(), "User", out.TargetID)
	must(t, err)
	if got := obj.Attrs["title"]; len(got) != 1 || got[0] != "Staff" {
		t.Errorf("after an update, title = %q, want [Staff]", got)
	}
	if _, ok := obj.Attrs[`phoneNumbers[type eq "work"].value`]; ok {
		t.Errorf("after an update, a work phone was written")
	}
}

// A mapping without a source needs a default value, and an empty one is
// none.
func TestConstantNeedsADefault(t *testing.T) {
	s := schema.SCIMSchema()
	empty := ""
	userMapping(s).AttributeMappings = append(userMapping(s).AttributeMappings,
		schema.AttributeMapping{TargetAttributeName: "nickName", DefaultValue: &empty})
	if _, err := schema.Compile(s); err == nil {
		t.Fatal("a mapping with no source and defaultValue \"\" compiled; want an error")
	}
}

// Two values for an attribute the target defines as single-valued fail
// the object with SchemaPropertyCanOnlyAcceptValue, as Entra's do, rather
// than send an array the target does not expect; one value flows.
func TestOneValueForASingleValuedAttribute(t *testing.T) {
	f := newFixture(t, func(s *schema.Schema) {
		for i := range userMapping(s).AttributeMappings {
			if am := &userMapping(s).AttributeMappings[i]; am.TargetAttributeName == "title" {
				src, err := schema.SourceFromExpression(`Split([jobTitle], ";")`)
				must(t, err)
				am.Source = src
			}
		}
	})
	one, two := f.user("ada", map[string]any{"jobTitle": "Engineer"}), f.user("bob", map[string]any{"jobTitle": "Engineer;Manager"})
	f.assign(one)
	f.assign(two)
	if out := f.process(userReq(one)); out.Event.StatusInfo.Status != "Success" {
		t.Fatalf("one title: %s %v, want success", out.Event.StatusInfo.Status, out.Event.StatusInfo.Reason)
	}
	out := f.process(userReq(two))
	si := out.Event.StatusInfo
	if si.Status != "Failure" || si.ErrorCode == nil || *si.ErrorCode != "SchemaPropertyCanOnlyAcceptValue" || si.Reason == nil ||
		!strings.Contains(*si.Reason, "'title'") || !strings.Contains(*si.Reason, "Engineer,Manager") {
		t.Fatalf("two titles: %s %v %v, want failure SchemaPropertyCanOnlyAcceptValue naming title and its values", si.Status, si.ErrorCode, si.Reason)
	}
	if out.TargetID != "" {
		t.Errorf("two titles: created %s in the target", out.TargetID)
	}
}

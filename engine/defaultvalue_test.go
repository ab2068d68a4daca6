package engine_test

import (
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

package schema

import (
	"strings"
	"testing"

	"provisiond/expr"
)

func TestCloudSyncTemplates(t *testing.T) {
	for _, tc := range []struct {
		template, rule, source, anchor string
	}{
		{TemplateAD2AAD, AD2AADRuleID, DirectoryAD, "objectGUID"},
		{TemplateLDAP2AAD, LDAP2AADRuleID, DirectoryLDAP, "entryUUID"},
	} {
		tpl, ok := TemplateByID("app", tc.template)
		if !ok {
			t.Fatalf("template %s is not listed", tc.template)
		}
		if !IsCloudSync(tc.template) || !IsCloudSync(tc.template+".0123456789abcdef0123456789abcdef") {
			t.Errorf("IsCloudSync(%s) = false", tc.template)
		}
		c, err := Compile(tpl.Schema)
		if err != nil {
			t.Fatalf("%s: %v", tc.template, err)
		}
		r := c.Rule(tc.rule)
		if r == nil || r.Rule.SourceDirectoryName != tc.source || r.Rule.TargetDirectoryName != DirectoryEntra {
			t.Fatalf("%s: rule %s = %+v", tc.template, tc.rule, r)
		}
		for _, typ := range []string{"user", "USER", "group", "Group"} {
			om := r.Object(typ)
			if om == nil {
				t.Fatalf("%s: no mapping for %s", tc.template, typ)
			}
			if m := om.Matching; len(m) != 1 || m[0].Target != "OnPremisesImmutableId" || m[0].Expr.String() != "["+tc.anchor+"]" {
				t.Errorf("%s %s: matching on %v, want OnPremisesImmutableId from [%s]", tc.template, typ, m, tc.anchor)
			}
		}
		if len(tpl.Schema.Directories) != 2 || tpl.Schema.Directories[0].Name != tc.source {
			t.Errorf("%s: directories %v", tc.template, tpl.Schema.Directories)
		}
	}
	if IsCloudSync("scim") || IsCloudSync("scim.0123") {
		t.Error("IsCloudSync(scim) = true")
	}
}

// eval evaluates the target attribute's mapping of the first rule's user
// object over attrs (a comma makes a multi-valued attribute).
func evalUserMapping(t *testing.T, s *Schema, target string, attrs map[string]string) string {
	t.Helper()
	c, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	var m *CompiledAttr
	for _, a := range c.Rules[0].Object("user").Attrs {
		if a.Target == target {
			m = a
		}
	}
	if m == nil {
		t.Fatalf("no mapping for %s", target)
	}
	res, err := m.Expr.Eval(&expr.Env{Attr: func(n string) expr.Value {
		if v, ok := attrs[n]; ok {
			if strings.Contains(v, ",") {
				return expr.Multi(strings.Split(v, ","))
			}
			return expr.Str(v)
		}
		return expr.Null()
	}})
	if err != nil {
		t.Fatalf("%s(%v): %v", target, attrs, err)
	}
	return res.Value.String()
}

// TestLDAPUserPrincipalName: the mail, else uid@ the directory's domain
// (domainFQDN: the Domain secret, which the source adds to entries).
func TestLDAPUserPrincipalName(t *testing.T) {
	for _, tc := range []struct {
		attrs map[string]string
		want  string
	}{
		{map[string]string{"mail": "ada@example.org", "uid": "ada", "domainFQDN": "example.com"}, "ada@example.org"},
		{map[string]string{"uid": "grace", "domainFQDN": "corp.example.com"}, "grace@corp.example.com"},
		// Several values (the RDN's and another): the first.
		{map[string]string{"uid": "alan,turing", "mail": "alan@example.org,turing@example.org"}, "alan@example.org"},
		{map[string]string{"uid": "alan,turing", "domainFQDN": "example.org"}, "alan@example.org"},
	} {
		for _, target := range []string{"UserPrincipalName", "OnPremisesUserPrincipalName"} {
			if got := evalUserMapping(t, LDAP2AADSchema(), target, tc.attrs); got != tc.want {
				t.Errorf("%s(%v) = %q; want %q", target, tc.attrs, got, tc.want)
			}
		}
	}
}

// AccountEnabled follows the source account: a disabled account is
// provisioned disabled, and deprovisioning (IsSoftDeleted) disables.
func TestCloudSyncAccountEnabled(t *testing.T) {
	for _, s := range []*Schema{AD2AADSchema(), LDAP2AADSchema()} {
		for _, tc := range []struct {
			disabled, softDeleted, want string
		}{
			{"False", "False", "True"}, {"True", "False", "False"}, {"False", "True", "False"}, {"True", "True", "False"},
		} {
			got := evalUserMapping(t, s, "AccountEnabled", map[string]string{"accountDisabled": tc.disabled, "IsSoftDeleted": tc.softDeleted})
			if got != tc.want {
				t.Errorf("%s: AccountEnabled(accountDisabled %s, IsSoftDeleted %s) = %q, want %q",
					s.SynchronizationRules[0].SourceDirectoryName, tc.disabled, tc.softDeleted, got, tc.want)
			}
		}
	}
}

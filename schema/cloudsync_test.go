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

// TestLDAPUserPrincipalName: the mail, else uid@ the entry's dc= domain.
func TestLDAPUserPrincipalName(t *testing.T) {
	c, err := Compile(LDAP2AADSchema())
	if err != nil {
		t.Fatal(err)
	}
	var upn *CompiledAttr
	for _, a := range c.Rules[0].Object("user").Attrs {
		if a.Target == "UserPrincipalName" {
			upn = a
		}
	}
	for _, tc := range []struct {
		attrs map[string]string
		want  string
	}{
		{map[string]string{"mail": "ada@example.org", "uid": "ada", "distinguishedName": "uid=ada,ou=people,dc=example,dc=com"}, "ada@example.org"},
		{map[string]string{"uid": "grace", "distinguishedName": "uid=grace,ou=People,DC=corp,DC=example,DC=com"}, "grace@corp.example.com"},
		// Several values (the RDN's and another): the first.
		{map[string]string{"uid": "alan,turing", "mail": "alan@example.org,turing@example.org"}, "alan@example.org"},
		{map[string]string{"uid": "alan,turing", "distinguishedName": "uid=turing,dc=example,dc=org"}, "alan@example.org"},
	} {
		res, err := upn.Expr.Eval(&expr.Env{Attr: func(n string) expr.Value {
			if v, ok := tc.attrs[n]; ok {
				if strings.Contains(v, ",") && n != "distinguishedName" {
					return expr.Multi(strings.Split(v, ","))
				}
				return expr.Str(v)
			}
			return expr.Null()
		}})
		if err != nil || res.Value.String() != tc.want {
			t.Errorf("UserPrincipalName(%v) = %q, %v; want %q", tc.attrs, res.Value.String(), err, tc.want)
		}
	}
}

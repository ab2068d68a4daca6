package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/adid"
	"provisiond/schema"
)

// Cloud sync from real servers into the directory: AD2AADProvisioning
// from Samba's AD DC, LDAP2AADProvisioning from slapd. discover reads the
// server's schema; on demand by DN → Create, again → RedundantExport,
// after a modify → Update of exactly that property; a started job brings
// every user and group (with members) and then follows modifies, disables
// and deletes by itself, and on to a started SCIM job on the directory.
func TestCloudSyncFromRealServers(t *testing.T) {
	for _, srv := range ldapServers {
		t.Run(srv.script, func(t *testing.T) { testCloudSyncFromServer(t, srv) })
	}
}

func testCloudSyncFromServer(t *testing.T, srv ldapServer) {
	c, srv := srv.connect(t)
	tr := newLDAPTree(t, c, srv, "cs")
	ou, sfx := tr.ou, tr.sfx
	ada, adaMail := tr.person("ada", "Ada", "Lovelace")
	alan, alanMail := tr.person("alan", "Alan", "Turing")
	grace, graceMail := tr.person("grace", "Grace", "Hopper")
	tr.codebreakers(ada, alan)

	e := newEnv(t, options{})
	e.setupApp() // a SCIM app fed from the directory
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok}, {"key": "SyncAll", "value": "true"}}}, 204)
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/start", nil, 204)
	template := schema.TemplateLDAP2AAD
	if srv.ad {
		template = schema.TemplateAD2AAD
	}
	inst := e.do("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Cloud sync"}, 201)
	spID := inst["servicePrincipal"].(map[string]any)["id"].(string)
	jobID := e.do("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": template}, 201)["id"].(string)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	ca, err := os.ReadFile(srv.ca)
	if err != nil {
		t.Fatal(err)
	}
	e.do("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "Server", "value": srv.url}, {"key": "UserName", "value": srv.bind}, {"key": "Password", "value": srv.password},
		// The Domain differs from the base's dc= parts (example.com): an
		// LDAP user without mail is uid@Domain.
		{"key": "SyncAgentADContainer", "value": ou}, {"key": "Domain", "value": "corp.example.net"},
		{"key": "LdapCACertificate", "value": string(ca)}}}, 204)
	e.do("POST", jobPath+"/validateCredentials", map[string]any{"useSavedCredentials": true}, 204)
	sch := e.do("GET", jobPath+"/schema", nil, 200)
	rule := sch["synchronizationRules"].([]any)[0].(map[string]any)["id"].(string)
	// discover reads the server's own schema: AD's user class has
	// employeeType and inetOrgPerson has carLicense, which the templates
	// do not list.
	dirID := sch["directories"].([]any)[0].(map[string]any)["id"].(string)
	def := e.do("POST", jobPath+"/schema/directories/"+dirID+"/discover", nil, 200)
	extra := "carLicense"
	if srv.ad {
		extra = "employeeType"
	}
	found := false
	for _, o := range def["objects"].([]any) {
		for _, a := range o.(map[string]any)["attributes"].([]any) {
			if o.(map[string]any)["name"] == "user" && a.(map[string]any)["name"] == extra {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("discover did not read %s from the server's schema", extra)
	}
	onDemand := func(id string) (key, value map[string]any) {
		m := e.do("POST", jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{"ruleId": rule,
			"subjects": []any{map[string]any{"objectId": id, "objectTypeName": "user"}}}}}, 200)
		_ = json.Unmarshal([]byte(m["key"].(string)), &key)
		_ = json.Unmarshal([]byte(m["value"].(string)), &value)
		return key, value
	}
	users := func(filter string) []any {
		return e.do("GET", "/users?$filter="+url.QueryEscape(filter), nil, 200)["value"].([]any)
	}

	key, value := onDemand(strings.ToUpper(ada))
	if key["result"] != "Success" || value["action"] != "Create" {
		t.Fatalf("on demand by DN: %v %v", key, value["action"])
	}
	if got := realStepNames(value); len(got) < 2 || got[0] != "EntryImportAdd" || got[1] != "EntryImport" {
		t.Errorf("steps of the first on demand = %v, want EntryImportAdd, EntryImport, ... (seed example 2)", got)
	}
	got := users("userPrincipalName eq '" + adaMail + "'")
	if len(got) != 1 || got[0].(map[string]any)["onPremisesSyncEnabled"] != true ||
		!strings.EqualFold(got[0].(map[string]any)["onPremisesDistinguishedName"].(string), ada) {
		t.Fatalf("directory user after on demand = %v", got)
	}
	if srv.ad {
		checkADIdentifiers(t, c, ada, value, got[0].(map[string]any))
	}
	key, _ = onDemand(ada)
	if d, _ := key["details"].(map[string]any); key["result"] != "Skipped" || d["errorCode"] != "RedundantExport" {
		t.Errorf("on demand again: %v, want RedundantExport", key)
	}
	ldapModify(t, c, ada, "givenName", "Augusta")
	key, value = onDemand(ada)
	if key["result"] != "Success" || value["action"] != "Update" {
		t.Fatalf("on demand after a modify: %v %v", key, value["action"])
	}
	if got := realStepNames(value); len(got) < 2 || got[0] != "EntryImportUpdate" {
		t.Errorf("steps after a modify = %v, want EntryImportUpdate first", got)
	}
	var props []string
	for _, p := range value["modifiedProperties"].([]any) {
		props = append(props, p.(map[string]any)["displayName"].(string))
	}
	if !slices.Equal(props, []string{"GivenName"}) {
		t.Errorf("modified properties after a givenName change = %v, want [GivenName]", props)
	}

	if !srv.ad {
		// No mail: the user principal name is uid@Domain (the secret).
		hedy := "cn=Hedy Lamarr," + ou
		tr.add(hedy, map[string][]string{"objectClass": {"inetOrgPerson"}, "cn": {"Hedy Lamarr"}, "sn": {"Lamarr"}, "uid": {"hedy" + sfx}})
		key, value := onDemand(hedy)
		if want := "hedy" + sfx + "@corp.example.net"; key["result"] != "Success" || realModified(value)["UserPrincipalName"] != want {
			t.Errorf("an LDAP user without mail: %v, UserPrincipalName %q; want %s", key, realModified(value)["UserPrincipalName"], want)
		}
	}

	e.do("POST", jobPath+"/start", nil, 204)
	took := waitFor(t, "every user and the group (with members) in the directory", func() bool {
		if len(users("onPremisesSyncEnabled eq true")) < 3 {
			return false
		}
		gs := e.do("GET", "/groups?$filter="+url.QueryEscape("displayName eq 'Codebreakers "+sfx+"'"), nil, 200)["value"].([]any)
		return len(gs) == 1 && len(e.do("GET", "/groups/"+gs[0].(map[string]any)["id"].(string)+"/members", nil, 200)["value"].([]any)) == 2
	})
	t.Logf("initial cycle: %v", took)
	for _, m := range []string{adaMail, alanMail, graceMail} {
		if len(users("userPrincipalName eq '"+m+"'")) != 1 {
			t.Errorf("%s not in the directory", m)
		}
	}
	waitFor(t, "the users in the SCIM app", func() bool { return len(e.scimFind("Users", "userName", alanMail)) == 1 })
	start := time.Now()
	ldapModify(t, c, alan, "displayName", "Alan M. Turing")
	took = waitFor(t, "a modify in the directory", func() bool {
		u := users("userPrincipalName eq '" + alanMail + "'")
		return len(u) == 1 && u[0].(map[string]any)["displayName"] == "Alan M. Turing"
	})
	t.Logf("modify → directory: %v", took)
	waitFor(t, "the modify in the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", alanMail)
		return len(u) == 1 && u[0]["displayName"] == "Alan M. Turing"
	})
	t.Logf("modify → directory → SCIM app: %v", time.Since(start))
	if srv.ad {
		ldapModify(t, c, grace, "userAccountControl", "546")
		took = waitFor(t, "a disable in the directory", func() bool {
			u := users("userPrincipalName eq '" + graceMail + "'")
			return len(u) == 1 && u[0].(map[string]any)["accountEnabled"] == false
		})
		t.Logf("disable → directory: %v", took)
	}
	tr.del(grace)
	took = waitFor(t, "a delete in the directory", func() bool {
		return len(users("userPrincipalName eq '"+graceMail+"'")) == 0
	})
	t.Logf("delete → directory: %v", took)
}

func realStepNames(value map[string]any) []string {
	var names []string
	for _, s := range value["provisioningSteps"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	return names
}

func realModified(value map[string]any) map[string]string {
	out := map[string]string{}
	for _, p := range value["modifiedProperties"].([]any) {
		m := p.(map[string]any)
		v, _ := m["newValue"].(string)
		out[m["displayName"].(string)] = v
	}
	return out
}

// checkADIdentifiers checks a Samba user's identifiers as Entra shows
// them: objectGUID and objectSid in the import as the base64 of the bytes
// the server holds, the same to the mappings (OnPremisesImmutableId,
// OnPremiseSecurityIdentifier), and Graph's S-1-5-21-... form on the
// directory user.
func checkADIdentifiers(t *testing.T, c *ldap.Conn, dn string, value, user map[string]any) {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID", "objectSid"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	guid := base64.StdEncoding.EncodeToString(res.Entries[0].GetRawAttributeValue("objectGUID"))
	sid := base64.StdEncoding.EncodeToString(res.Entries[0].GetRawAttributeValue("objectSid"))
	sidString, err := adid.SIDFromBase64(sid)
	if err != nil {
		t.Fatal(err)
	}
	var imp map[string]any
	for _, s := range value["provisioningSteps"].([]any) {
		if s.(map[string]any)["name"] == "EntryImport" && s.(map[string]any)["type"] == "Import" {
			imp = s.(map[string]any)["details"].(map[string]any)
		}
	}
	mods := realModified(value)
	for what, pair := range map[string][2]any{
		"import objectGUID": {imp["objectGUID"], guid}, "import objectSid": {imp["objectSid"], sid},
		"OnPremisesImmutableId": {mods["OnPremisesImmutableId"], guid}, "OnPremiseSecurityIdentifier": {mods["OnPremiseSecurityIdentifier"], sid},
		"onPremisesImmutableId": {user["onPremisesImmutableId"], guid}, "onPremisesSecurityIdentifier": {user["onPremisesSecurityIdentifier"], sidString},
		"import accountDisabled": {imp["accountDisabled"], "False"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %v, want %v", what, pair[0], pair[1])
		}
	}
	if !strings.HasPrefix(sidString, "S-1-5-21-") {
		t.Errorf("the SID %s is not a domain account's", sidString)
	}
}

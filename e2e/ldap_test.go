package e2e

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// slapdConn binds to the slapd scripts/components/slapd.sh starts, failing
// the test without it when components are required.
func slapdConn(t *testing.T) (c *ldap.Conn, env map[string]string) {
	t.Helper()
	env = map[string]string{}
	for _, n := range []string{"PROVISIOND_SLAPD_URL", "PROVISIOND_SLAPD_BIND_DN", "PROVISIOND_SLAPD_PASSWORD", "PROVISIOND_SLAPD_BASE", "PROVISIOND_SLAPD_CA"} {
		if env[n] = os.Getenv(n); env[n] == "" {
			if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
				t.Fatalf("%s is not set: start slapd with scripts/components/slapd.sh (scripts/test.sh does)", n)
			}
			t.Skipf("%s is not set: start slapd with scripts/components/slapd.sh", n)
		}
	}
	c, err := ldap.DialURL(env["PROVISIOND_SLAPD_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { //nolint:gosec // the seeding connection
		t.Fatal(err)
	}
	if err := c.Bind(env["PROVISIOND_SLAPD_BIND_DN"], env["PROVISIOND_SLAPD_PASSWORD"]); err != nil {
		t.Fatal(err)
	}
	return c, env
}

func ldapAdd(t *testing.T, c *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func ldapModify(t *testing.T, c *ldap.Conn, dn, attr string, values ...string) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// ldapSchema points the scim job's rule at an LDAP directory: users by uid,
// groups by cn, with their member anchors.
func ldapSchema(e *env) map[string]any {
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	sch := e.do("GET", jobPath+"/schema", nil, 200)
	rule := sch["synchronizationRules"].([]any)[0].(map[string]any)
	rule["sourceDirectoryName"] = "LDAP"
	attr := func(target, source string, matching int) map[string]any {
		expr := "[" + source + "]"
		return map[string]any{"targetAttributeName": target, "matchingPriority": matching, "flowType": "Always",
			"flowBehavior": "FlowWhenChanged", "defaultValue": "", "exportMissingReferences": false,
			"source": map[string]any{"type": "Attribute", "name": source, "expression": expr, "parameters": []any{}}}
	}
	oms := rule["objectMappings"].([]any)
	users, groups := oms[0].(map[string]any), oms[1].(map[string]any)
	users["sourceObjectName"], groups["sourceObjectName"] = "user", "group"
	users["attributeMappings"] = []any{attr("userName", "mail", 1), attr("displayName", "displayName", 0),
		attr("name.givenName", "givenName", 0), attr("name.familyName", "sn", 0), attr("externalId", "objectId", 0)}
	groups["attributeMappings"] = []any{attr("displayName", "cn", 1), attr("externalId", "objectId", 0), attr("members", "members", 0)}
	e.do("PUT", jobPath+"/schema", sch, 204)
	return sch
}

// A job reading OpenLDAP: validateCredentials binds and says what failed;
// provisionOnDemand takes a DN; a started job brings every user and group
// (with members) and then follows LDAP changes by itself, within seconds,
// through syncrepl's refreshAndPersist (the job's interval is 40 minutes).
func TestLDAPSourceJob(t *testing.T) {
	c, env := slapdConn(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	sfx := hex.EncodeToString(b[:])
	ou := "ou=e2e" + sfx + "," + env["PROVISIOND_SLAPD_BASE"]
	ldapAdd(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"e2e" + sfx}})
	var dns []string
	t.Cleanup(func() {
		for _, dn := range slices.Backward(dns) {
			_ = c.Del(ldap.NewDelRequest(dn, nil))
		}
		_ = c.Del(ldap.NewDelRequest(ou, nil))
	})
	person := func(uid, given, sn string) (dn, mail string) {
		dn, mail = "uid="+uid+","+ou, uid+"."+sfx+"@example.com"
		ldapAdd(t, c, dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {given + " " + sn},
			"sn": {sn}, "givenName": {given}, "displayName": {given + " " + sn}, "mail": {mail}})
		dns = append(dns, dn)
		return dn, mail
	}
	ada, adaMail := person("ada", "Ada", "Lovelace")
	alan, alanMail := person("alan", "Alan", "Turing")
	team := "cn=Codebreakers " + sfx + "," + ou
	ldapAdd(t, c, team, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Codebreakers " + sfx}, "member": {ada, alan}})
	dns = append(dns, team)

	e := newEnv(t, options{})
	e.setupApp()
	ldapSchema(e)
	ca, err := os.ReadFile(env["PROVISIOND_SLAPD_CA"])
	if err != nil {
		t.Fatal(err)
	}
	secretsPath := "/servicePrincipals/" + e.spID + "/synchronization/secrets"
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	creds := func(password string) []map[string]string {
		return []map[string]string{{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok},
			{"key": "Server", "value": env["PROVISIOND_SLAPD_URL"]}, {"key": "UserName", "value": env["PROVISIOND_SLAPD_BIND_DN"]},
			{"key": "Password", "value": password}, {"key": "SyncAgentADContainer", "value": ou},
			{"key": "LdapCACertificate", "value": string(ca)}}
	}
	// validateCredentials says which step failed.
	status, m, raw := e.send("POST", jobPath+"/validateCredentials", map[string]any{"credentials": creds("wrong")}, e.token)
	if msg, _ := m["error"].(map[string]any)["message"].(string); status != 400 || !strings.Contains(msg, "refused the bind") {
		t.Errorf("validateCredentials with a wrong password: %d %s, want 400 saying the bind was refused", status, raw)
	}
	partial := creds(env["PROVISIOND_SLAPD_PASSWORD"])[:2] // SCIM's only
	status, _, raw = e.send("POST", jobPath+"/validateCredentials", map[string]any{"credentials": partial}, e.token)
	if status != 400 || !strings.Contains(raw, "Server") || !strings.Contains(raw, "SyncAgentADContainer") {
		t.Errorf("validateCredentials without the LDAP secrets: %d %s, want 400 naming them", status, raw)
	}
	e.do("PUT", secretsPath, map[string]any{"value": creds(env["PROVISIOND_SLAPD_PASSWORD"])}, 204)
	e.do("POST", jobPath+"/validateCredentials", map[string]any{"useSavedCredentials": true}, 204)

	// On demand by DN, in any case.
	key, value := e.onDemand(map[string]any{"objectId": strings.ToUpper(ada), "objectTypeName": "user"})
	wantResult(t, key, value, "Success", "Create")
	key, value = e.onDemand(map[string]any{"objectId": ada, "objectTypeName": "User"})
	wantResult(t, key, value, "Skipped", "Other")
	status, _, raw = e.send("POST", jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{
		"ruleId": e.ruleID, "subjects": []any{map[string]any{"objectId": "uid=nobody," + ou, "objectTypeName": "user"}}}}}, e.token)
	if status != 404 || !strings.Contains(raw, "uid=nobody") {
		t.Errorf("on demand for a DN that does not exist: %d %s, want 404 naming it", status, raw)
	}

	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the initial cycle", func() bool {
		g := e.scimFind("Groups", "displayName", "Codebreakers "+sfx)
		return len(e.scimFind("Users", "userName", alanMail)) == 1 && len(g) == 1 &&
			len(e.scimGet("Groups", g[0]["id"].(string))["members"].([]any)) == 2
	})
	// Let the watch start (after the first cycle), then change LDAP.
	time.Sleep(time.Second)
	ldapModify(t, c, ada, "displayName", "Countess of Lovelace")
	took := waitFor(t, "an LDAP modify reaching the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", adaMail)
		return len(u) == 1 && u[0]["displayName"] == "Countess of Lovelace"
	})
	t.Logf("LDAP modify → SCIM app: %v", took)
	if err := c.Del(ldap.NewDelRequest(team, nil)); err != nil {
		t.Fatal(err)
	}
	dns = slices.DeleteFunc(dns, func(dn string) bool { return dn == team })
	took = waitFor(t, "an LDAP delete reaching the SCIM app", func() bool {
		return len(e.scimFind("Groups", "displayName", "Codebreakers "+sfx)) == 0
	})
	t.Logf("LDAP delete → SCIM app: %v", took)
}

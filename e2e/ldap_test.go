package e2e

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ldapServer is a directory server scripts/components starts: slapd or
// Samba's AD DC.
type ldapServer struct {
	name      string // the job's source directory name
	script    string // scripts/components/<script>
	env       string // its variables' prefix
	ad        bool
	url, bind string
	password  string
	base, ca  string
}

var ldapServers = []ldapServer{
	{name: "LDAP", script: "slapd.sh", env: "PROVISIOND_SLAPD_"},
	{name: "Active Directory", script: "samba.sh", env: "PROVISIOND_SAMBA_", ad: true},
}

// connect binds to the server, failing the test without it when
// components are required.
func (s ldapServer) connect(t testing.TB) (*ldap.Conn, ldapServer) {
	t.Helper()
	get := func(n string) string {
		v := os.Getenv(s.env + n)
		if v == "" {
			if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
				t.Fatalf("%s%s is not set: start the server with scripts/components/%s (scripts/test.sh does)", s.env, n, s.script)
			}
			t.Skipf("%s%s is not set: start the server with scripts/components/%s", s.env, n, s.script)
		}
		return v
	}
	bind := "BIND_DN"
	if s.ad {
		bind = "BIND"
	}
	s.url, s.bind, s.password, s.base, s.ca = get("URL"), get(bind), get("PASSWORD"), get("BASE"), get("CA")
	c, err := ldap.DialURL(s.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { //nolint:gosec // the seeding connection
		t.Fatal(err)
	}
	if err := c.Bind(s.bind, s.password); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// ldapTree is a test's own OU on a server, named with a random suffix so
// tests never collide; it and everything added under it are deleted when
// the test ends.
type ldapTree struct {
	t       testing.TB
	c       *ldap.Conn
	srv     ldapServer
	ou, sfx string
	dns     []string // added under ou, deleted last first
}

func newLDAPTree(t testing.TB, c *ldap.Conn, srv ldapServer, prefix string) *ldapTree {
	var b [4]byte
	_, _ = rand.Read(b[:])
	tr := &ldapTree{t: t, c: c, srv: srv, sfx: hex.EncodeToString(b[:])}
	tr.ou = "ou=" + prefix + tr.sfx + "," + srv.base
	ldapAdd(t, c, tr.ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {prefix + tr.sfx}})
	t.Cleanup(func() {
		for _, dn := range slices.Backward(tr.dns) {
			_ = c.Del(ldap.NewDelRequest(dn, nil))
		}
		_ = c.Del(ldap.NewDelRequest(tr.ou, nil))
	})
	return tr
}

// add adds an entry under the tree.
func (tr *ldapTree) add(dn string, attrs map[string][]string) {
	tr.t.Helper()
	ldapAdd(tr.t, tr.c, dn, attrs)
	tr.dns = append(tr.dns, dn)
}

// del deletes an entry of the tree now.
func (tr *ldapTree) del(dn string) {
	tr.t.Helper()
	if err := tr.c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		tr.t.Fatal(err)
	}
	tr.dns = slices.DeleteFunc(tr.dns, func(d string) bool { return d == dn })
}

// move moves an entry of the tree under newSuperior (outside the tree's
// OU, deleted at the end all the same) and returns its new DN.
func (tr *ldapTree) move(dn, newSuperior string) string {
	tr.t.Helper()
	rdn, _, _ := strings.Cut(dn, ",")
	if err := tr.c.ModifyDN(ldap.NewModifyDNRequest(dn, rdn, true, newSuperior)); err != nil {
		tr.t.Fatal(err)
	}
	moved := rdn + "," + newSuperior
	tr.dns[slices.Index(tr.dns, dn)] = moved
	return moved
}

// person adds an enabled user (AD user or inetOrgPerson) with a unique
// uid / sAMAccountName and mail.
func (tr *ldapTree) person(uid, given, sn string) (dn, mail string) {
	tr.t.Helper()
	dn, mail = "cn="+given+" "+sn+","+tr.ou, uid+"."+tr.sfx+"@example.com"
	a := map[string][]string{"cn": {given + " " + sn}, "sn": {sn}, "givenName": {given}, "displayName": {given + " " + sn}, "mail": {mail}}
	if tr.srv.ad {
		a["objectClass"], a["sAMAccountName"], a["userPrincipalName"] = []string{"user"}, []string{uid + tr.sfx}, []string{mail}
		a["userAccountControl"] = []string{"544"}
	} else {
		a["objectClass"], a["uid"] = []string{"inetOrgPerson"}, []string{uid + tr.sfx}
	}
	tr.add(dn, a)
	return dn, mail
}

// codebreakers adds the group "Codebreakers <suffix>" with members.
func (tr *ldapTree) codebreakers(members ...string) string {
	tr.t.Helper()
	dn := "cn=Codebreakers " + tr.sfx + "," + tr.ou
	group := map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Codebreakers " + tr.sfx}, "member": members}
	if tr.srv.ad {
		group["objectClass"], group["sAMAccountName"] = []string{"group"}, []string{"cb" + tr.sfx}
	}
	tr.add(dn, group)
	return dn
}

func ldapAdd(t testing.TB, c *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func ldapModify(t testing.TB, c *ldap.Conn, dn, attr string, values ...string) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// ldapSchema points the scim job's rule at an LDAP directory: users by uid,
// groups by cn, with their member anchors.
func ldapSchema(e *env, directory string) map[string]any {
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	sch := e.do("GET", jobPath+"/schema", nil, 200)
	rule := sch["synchronizationRules"].([]any)[0].(map[string]any)
	rule["sourceDirectoryName"] = directory
	attr := func(target, source string, matching int) map[string]any {
		expr := "[" + source + "]"
		return map[string]any{"targetAttributeName": target, "matchingPriority": matching, "flowType": "Always",
			"flowBehavior": "FlowWhenChanged", "defaultValue": "", "exportMissingReferences": false,
			"source": map[string]any{"type": "Attribute", "name": source, "expression": expr, "parameters": []any{}}}
	}
	oms := rule["objectMappings"].([]any)
	users, groups := oms[0].(map[string]any), oms[1].(map[string]any)
	users["sourceObjectName"], groups["sourceObjectName"] = "user", "group"
	active := map[string]any{"targetAttributeName": "active", "matchingPriority": 0, "flowType": "Always",
		"flowBehavior": "FlowWhenChanged", "defaultValue": "", "exportMissingReferences": false,
		"source": map[string]any{"type": "Function", "name": "Switch", "expression": `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
			"parameters": []any{}}}
	users["attributeMappings"] = []any{attr("userName", "mail", 1), active, attr("displayName", "displayName", 0),
		attr("name.givenName", "givenName", 0), attr("name.familyName", "sn", 0), attr("externalId", "objectId", 0)}
	groups["attributeMappings"] = []any{attr("displayName", "cn", 1), attr("externalId", "objectId", 0), attr("members", "members", 0)}
	e.do("PUT", jobPath+"/schema", sch, 204)
	return sch
}

// A job reading OpenLDAP or Active Directory: validateCredentials binds
// and says what failed; provisionOnDemand takes a DN; a started job brings
// every user and group (with members) and then follows the directory's
// changes by itself, within seconds, through syncrepl's refreshAndPersist
// or AD's change notification (the job's interval is 40 minutes).
func TestLDAPSourceJob(t *testing.T) {
	for _, srv := range ldapServers {
		t.Run(srv.script, func(t *testing.T) { testLDAPSourceJob(t, srv) })
	}
}

func testLDAPSourceJob(t *testing.T, srv ldapServer) {
	c, srv := srv.connect(t)
	tr := newLDAPTree(t, c, srv, "e2e")
	ou, sfx := tr.ou, tr.sfx
	ada, adaMail := tr.person("ada", "Ada", "Lovelace")
	alan, alanMail := tr.person("alan", "Alan", "Turing")
	grace, graceMail := tr.person("grace", "Grace", "Hopper")
	team := tr.codebreakers(ada, alan)

	e := newEnv(t, options{})
	e.setupApp()
	ldapSchema(e, srv.name)
	ca, err := os.ReadFile(srv.ca)
	if err != nil {
		t.Fatal(err)
	}
	secretsPath := "/servicePrincipals/" + e.spID + "/synchronization/secrets"
	jobPath := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	creds := func(password string) []map[string]string {
		return []map[string]string{{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok},
			{"key": "Server", "value": srv.url}, {"key": "UserName", "value": srv.bind},
			{"key": "Password", "value": password}, {"key": "SyncAgentADContainer", "value": ou},
			{"key": "LdapCACertificate", "value": string(ca)}}
	}
	// validateCredentials says which step failed.
	status, m, raw := e.send("POST", jobPath+"/validateCredentials", map[string]any{"credentials": creds("wrong")}, e.token)
	if msg, _ := m["error"].(map[string]any)["message"].(string); status != 400 || !strings.Contains(msg, "refused the bind") {
		t.Errorf("validateCredentials with a wrong password: %d %s, want 400 saying the bind was refused", status, raw)
	}
	metadata := creds(srv.password)
	metadata[2]["value"] = "ldap://169.254.169.254"
	status, m, raw = e.send("POST", jobPath+"/validateCredentials", map[string]any{"credentials": metadata}, e.token)
	if msg, _ := m["error"].(map[string]any)["message"].(string); status != 400 ||
		!strings.Contains(msg, "the LDAP server's address 169.254.169.254 is link-local (cloud metadata); provisiond never calls it") {
		t.Errorf("validateCredentials with a cloud metadata server: %d %s, want 400 saying the guard refused it", status, raw)
	}
	partial := creds(srv.password)[:2] // SCIM's only
	status, _, raw = e.send("POST", jobPath+"/validateCredentials", map[string]any{"credentials": partial}, e.token)
	if status != 400 || !strings.Contains(raw, "Server") || !strings.Contains(raw, "SyncAgentADContainer") {
		t.Errorf("validateCredentials without the LDAP secrets: %d %s, want 400 naming them", status, raw)
	}
	e.do("PUT", secretsPath, map[string]any{"value": creds(srv.password)}, 204)
	e.do("POST", jobPath+"/validateCredentials", map[string]any{"useSavedCredentials": true}, 204)

	// On demand by DN, in any case.
	key, value := e.onDemand(map[string]any{"objectId": strings.ToUpper(ada), "objectTypeName": "user"})
	wantResult(t, key, value, "Success", "Create")
	key, value = e.onDemand(map[string]any{"objectId": ada, "objectTypeName": "User"})
	wantResult(t, key, value, "Skipped", "Other")
	status, _, raw = e.send("POST", jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{
		"ruleId": e.ruleID, "subjects": []any{map[string]any{"objectId": "cn=nobody," + ou, "objectTypeName": "user"}}}}}, e.token)
	if status != 404 || !strings.Contains(raw, "cn=nobody") {
		t.Errorf("on demand for a DN that does not exist: %d %s, want 404 naming it", status, raw)
	}

	// OpenLDAP keeps a member DN no entry has (AD refuses one): the user
	// created later joins the group in the app by an incremental cycle.
	pioneers, hedy := "Pioneers "+sfx, "cn=Hedy Lamarr,"+ou
	if !srv.ad {
		tr.add("cn="+pioneers+","+ou, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {pioneers}, "member": {ada, hedy}})
	}
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the initial cycle", func() bool {
		g := e.scimFind("Groups", "displayName", "Codebreakers "+sfx)
		if len(e.scimFind("Users", "userName", alanMail)) != 1 || len(e.scimFind("Users", "userName", graceMail)) != 1 || len(g) != 1 {
			return false
		}
		members, _ := e.scimGet("Groups", g[0]["id"].(string))["members"].([]any) // none until they are added
		return len(members) == 2
	})
	// Let the watch start (after the first cycle), then change LDAP.
	time.Sleep(time.Second)
	ldapModify(t, c, ada, "displayName", "Countess of Lovelace")
	took := waitFor(t, "an LDAP modify reaching the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", adaMail)
		return len(u) == 1 && u[0]["displayName"] == "Countess of Lovelace"
	})
	t.Logf("LDAP modify → SCIM app: %v", took)
	if !srv.ad {
		members := func() int {
			g := e.scimFind("Groups", "displayName", pioneers)
			if len(g) != 1 {
				return -1
			}
			ms, _ := e.scimGet("Groups", g[0]["id"].(string))["members"].([]any)
			return len(ms)
		}
		waitFor(t, "the group with a member DN no entry has", func() bool { return members() == 1 })
		if dn, _ := tr.person("hedy", "Hedy", "Lamarr"); dn != hedy {
			t.Fatalf("the new user's DN is %s, want %s", dn, hedy)
		}
		took = waitFor(t, "the user a group named, created later, in that group in the SCIM app", func() bool { return members() == 2 })
		t.Logf("LDAP user a group named created → member in the SCIM app: %v", took)
	}
	// Moved out of the container synchronized: gone from the source.
	tr.move(grace, srv.base)
	took = waitFor(t, "a user moved out of the container leaving the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", graceMail)
		return len(u) == 0 || u[0]["active"] == false
	})
	t.Logf("LDAP move out of the container → SCIM app: %v", took)
	if srv.ad {
		ldapModify(t, c, alan, "userAccountControl", "546") // ACCOUNTDISABLE
		took = waitFor(t, "an AD disable reaching the SCIM app", func() bool {
			u := e.scimFind("Users", "userName", alanMail)
			return len(u) == 1 && u[0]["active"] == false
		})
		t.Logf("AD disable → SCIM app: %v", took)
	}
	tr.del(team)
	took = waitFor(t, "an LDAP delete reaching the SCIM app", func() bool {
		return len(e.scimFind("Groups", "displayName", "Codebreakers "+sfx)) == 0
	})
	t.Logf("LDAP delete → SCIM app: %v", took)

	// Paused, the job stops watching: nothing reaches the app until it is
	// started again.
	e.do("POST", jobPath+"/pause", nil, 204)
	ldapModify(t, c, ada, "displayName", "Ada, paused")
	time.Sleep(1500 * time.Millisecond)
	if u := e.scimFind("Users", "userName", adaMail); len(u) != 1 || u[0]["displayName"] != "Countess of Lovelace" {
		t.Errorf("a paused job changed the SCIM app: %v", u)
	}
	e.do("POST", jobPath+"/start", nil, 204)
	waitFor(t, "the change made while paused reaching the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", adaMail)
		return len(u) == 1 && u[0]["displayName"] == "Ada, paused"
	})
}

// BenchmarkLDAPChangeLatency measures how long an LDAP modify takes to
// reach a SCIM app through a started job (syncrepl refreshAndPersist, the
// runner's debounce, an incremental cycle): p50 and p99 over b.N modifies.
func BenchmarkLDAPChangeLatency(b *testing.B) {
	c, srv := ldapServers[0].connect(b)
	tr := newLDAPTree(b, c, srv, "bench")
	ou, sfx := tr.ou, tr.sfx
	dn, mail := "uid=lat,"+ou, "lat."+sfx+"@example.com"
	tr.add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"lat"}, "cn": {"Lat"}, "sn": {"Lat"}, "mail": {mail}, "displayName": {"v0"}})
	e := newEnv(b, options{})
	e.setupApp()
	ldapSchema(e, srv.name)
	ca, err := os.ReadFile(srv.ca)
	if err != nil {
		b.Fatal(err)
	}
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok},
		{"key": "Server", "value": srv.url}, {"key": "UserName", "value": srv.bind}, {"key": "Password", "value": srv.password},
		{"key": "SyncAgentADContainer", "value": ou}, {"key": "LdapCACertificate", "value": string(ca)}}}, 204)
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/start", nil, 204)
	until := func(what string, ok func() bool) time.Duration {
		start := time.Now()
		for !ok() {
			if time.Since(start) > 15*time.Second {
				b.Fatalf("%s did not happen within 15s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	displayName := func() any {
		if u := e.scimFind("Users", "userName", mail); len(u) == 1 {
			return u[0]["displayName"]
		}
		return nil
	}
	until("the initial cycle", func() bool { return displayName() == "v0" })
	time.Sleep(time.Second) // the watch starts after the first cycle
	var took []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		v := fmt.Sprintf("v%d", i+1)
		ldapModify(b, c, dn, "displayName", v)
		took = append(took, until("a modify reaching the SCIM app", func() bool { return displayName() == v }))
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds()*1000, "p50-ms")
	b.ReportMetric(took[(len(took)*99)/100].Seconds()*1000, "p99-ms")
}

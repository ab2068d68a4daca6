package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/adid"
	"provisiond/connector"
	"provisiond/connector/adfake"
	"provisiond/jobs"
	"provisiond/schema"
)

// cloudSync is a cloud-sync job (AD2AADProvisioning) over an in-memory
// Active Directory, beside the env's SCIM job on the same directory.
type cloudSync struct {
	e                  *env
	ad                 *adfake.Source
	spID, jobID, rule  string
	jobPath, rulePaths string
}

func newCloudSync(t testing.TB, o options) *cloudSync {
	return newCloudSyncFrom(t, o, schema.TemplateAD2AAD, schema.DirectoryAD, adfake.New(schema.DirectoryAD, "objectGUID"))
}

// newCloudSyncFrom makes a job of template over ad, registered as the
// source directory.
func newCloudSyncFrom(t testing.TB, o options, template, directory string, ad *adfake.Source) *cloudSync {
	o.sources = map[string]jobs.SourceFactory{
		directory: func(context.Context, jobs.Config) (connector.Source, error) { return ad, nil },
	}
	e := newEnv(t, o)
	e.setupApp()
	c := &cloudSync{e: e, ad: ad}
	inst := e.do("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Cloud sync"}, 201)
	c.spID = inst["servicePrincipal"].(map[string]any)["id"].(string)
	job := e.do("POST", "/servicePrincipals/"+c.spID+"/synchronization/jobs", map[string]any{"templateId": template}, 201)
	c.jobID = job["id"].(string)
	c.jobPath = "/servicePrincipals/" + c.spID + "/synchronization/jobs/" + c.jobID
	e.do("PUT", "/servicePrincipals/"+c.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "Server", "value": "ldap://dc.corp.chicago.com"}, {"key": "UserName", "value": "CORP\\sync"},
		{"key": "Password", "value": "secret"}, {"key": "Domain", "value": "corp.chicago.com"}}}, 204)
	c.rule = e.do("GET", c.jobPath+"/schema", nil, 200)["synchronizationRules"].([]any)[0].(map[string]any)["id"].(string)
	return c
}

const adeleDN = "CN=AdeleV,CN=Users,DC=corp,DC=chicago,DC=com"

func adUser(guid, dn, sam, given, sn string) adfake.Entry {
	upn := sam + "@chicago.com"
	return adfake.Entry{ID: guid, DN: dn, Attrs: connector.Attributes{
		"sAMAccountName": {sam}, "userPrincipalName": {upn}, "givenName": {given}, "sn": {sn},
		"cn": {given + " " + sn}, "displayName": {given + " " + sn}, "mail": {upn}, "mailNickname": {sam},
		"proxyAddresses":     {"SMTP:" + upn, "smtp:" + sam + "@corp.chicago.com"},
		"objectSid":          {adSID(sam)},
		"userAccountControl": {"512"},
	}}
}

// adSID is the (made up) string form of the objectSid of the account sam.
func adSID(sam string) string {
	return "S-1-5-21-3623811015-3361044348-30300820-" + strconv.Itoa(1100+int(sam[0]))
}

// immutableID is Entra's onPremisesImmutableId of the AD object with the
// objectGUID guid: the base64 of the GUID's bytes.
func immutableID(t testing.TB, guid string) string {
	t.Helper()
	id, ok := adid.ImmutableID(guid)
	if !ok {
		t.Fatalf("%q is not a GUID", guid)
	}
	return id
}

func (c *cloudSync) onDemand(t *testing.T, id, typ string) (key, value map[string]any) {
	t.Helper()
	m := c.e.do("POST", c.jobPath+"/provisionOnDemand",
		map[string]any{"parameters": []any{map[string]any{"ruleId": c.rule, "subjects": []any{map[string]any{"objectId": id, "objectTypeName": typ}}}}}, 200)
	c.e.lastKey, c.e.lastValue = m["key"].(string), m["value"].(string)
	if err := json.Unmarshal([]byte(c.e.lastKey), &key); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(c.e.lastValue), &value); err != nil {
		t.Fatal(err)
	}
	return key, value
}

func stepNames(value map[string]any) []string {
	var names []string
	for _, s := range value["provisioningSteps"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	return names
}

func modified(value map[string]any) map[string]string {
	out := map[string]string{}
	for _, p := range value["modifiedProperties"].([]any) {
		m := p.(map[string]any)
		v, _ := m["newValue"].(string)
		out[m["displayName"].(string)] = v
	}
	return out
}

// directoryUsers returns the directory users $filter selects.
func (c *cloudSync) directoryUsers(t *testing.T, filter string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, u := range c.e.do("GET", "/users?$filter="+url.QueryEscape(filter), nil, 200)["value"].([]any) {
		out = append(out, u.(map[string]any))
	}
	return out
}

// Seed example 2 for real: an AD user on demand by its distinguished name
// (any case, objectTypeName "user") is created in the directory with its
// on-premises properties; again, by its GUID, nothing is to do; after an
// LDAP modify exactly that property is updated. Graph may no longer change
// what AD masters; an unknown DN is a 404, not a 5xx.
func TestCloudSyncOnDemand(t *testing.T) {
	c := newCloudSync(t, options{})
	const guid = "1b17a238-048b-4b21-8133-ca8ae52c4173"
	c.ad.Put(adUser(guid, adeleDN, "adelev", "Adele", "Vance"))

	key, value := c.onDemand(t, "cn=adelev,cn=users,dc=corp,dc=chicago,dc=com", "user")
	if key["result"] != "Success" || value["action"] != "Create" {
		t.Fatalf("first on demand: key %v, action %v, steps %v", key, value["action"], stepNames(value))
	}
	if got := value["sourceSystem"].(map[string]any)["name"]; got != "Active Directory" {
		t.Errorf("sourceSystem = %v, want Active Directory", got)
	}
	if got := value["targetSystem"].(map[string]any)["name"]; got != "Azure Active Directory" {
		t.Errorf("targetSystem = %v, want Azure Active Directory", got)
	}
	if got := value["sourceIdentity"].(map[string]any)["id"]; got != guid {
		t.Errorf("sourceIdentity.id = %v, want the objectGUID %s", got, guid)
	}
	mods := modified(value)
	for name, want := range map[string]string{
		"AccountEnabled": "True", "UserPrincipalName": "adelev@chicago.com", "Alias": "adelev",
		"CommonName": "Adele Vance", "GivenName": "Adele", "Surname": "Vance", "OnPremisesDistinguishedName": adeleDN,
		"OnPremisesSamAccountName": "adelev", "OnPremisesUserPrincipalName": "adelev@chicago.com",
		// As Entra maps them: the SID's and the GUID's bytes in base64.
		"OnPremiseSecurityIdentifier": "AQUAAAAAAAUVAAAAx/f+13x3VciUWs4BrQQAAA==", "OnPremisesImmutableId": immutableID(t, guid),
	} {
		if mods[name] != want {
			t.Errorf("modifiedProperties[%s] = %q, want %q", name, mods[name], want)
		}
	}
	users := c.directoryUsers(t, "onPremisesImmutableId eq '"+immutableID(t, guid)+"'")
	if len(users) != 1 {
		t.Fatalf("directory users with the immutable id: %d, want 1", len(users))
	}
	u := users[0]
	for k, want := range map[string]any{
		"userPrincipalName": "adelev@chicago.com", "onPremisesSyncEnabled": true, "onPremisesDistinguishedName": adeleDN,
		"onPremisesDomainName": "corp.chicago.com", "onPremisesSamAccountName": "adelev", "accountEnabled": true,
		"onPremisesImmutableId": immutableID(t, guid), "onPremisesSecurityIdentifier": adSID("adelev"), // Graph's SID form
	} {
		if u[k] != want {
			t.Errorf("directory user %s = %v, want %v", k, u[k], want)
		}
	}
	if _, ok := u["onPremisesLastSyncDateTime"].(string); !ok {
		t.Errorf("onPremisesLastSyncDateTime = %v, want a time", u["onPremisesLastSyncDateTime"])
	}
	if n := len(c.directoryUsers(t, "onPremisesSyncEnabled eq true")); n != 1 {
		t.Errorf("$filter=onPremisesSyncEnabled eq true: %d users, want 1", n)
	}

	// The link is keyed by the imported id, not by the name the call used.
	anchors, err := c.e.st.ListAnchors(context.Background(), c.jobID)
	if err != nil || len(anchors) != 1 || anchors[0].SourceID != guid || anchors[0].TargetID != u["id"] {
		t.Errorf("anchors after on demand by DN = %+v, %v; want one, from %s to %s", anchors, err, guid, u["id"])
	}

	key, value = c.onDemand(t, guid, "USER") // the anchor's other name
	if key["result"] != "Skipped" || !slices.Contains(stepNames(value), "EntrySynchronizationSkip") {
		t.Errorf("again by GUID: key %v, steps %v; want Skipped (RedundantExport)", key, stepNames(value))
	}
	if d := key["details"].(map[string]any); d["errorCode"] != "RedundantExport" {
		t.Errorf("again by GUID: details %v, want RedundantExport", d)
	}

	c.ad.Modify(guid, connector.Attributes{"givenName": {"Adela"}})
	key, value = c.onDemand(t, adeleDN, "user")
	if key["result"] != "Success" || value["action"] != "Update" {
		t.Fatalf("after a modify: key %v, action %v", key, value["action"])
	}
	if mods := modified(value); len(mods) != 1 || mods["GivenName"] != "Adela" {
		t.Errorf("after a modify: modifiedProperties %v, want only GivenName = Adela", mods)
	}

	// Mastered on premises: Graph refuses; a cloud property stays writable.
	status, body, raw := c.e.send("PATCH", "/users/"+u["id"].(string), map[string]any{"givenName": "X"}, c.e.token)
	if status != 400 || body["error"].(map[string]any)["message"] != "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration." {
		t.Errorf("PATCH givenName of a synced user: %d %s", status, raw)
	}
	c.e.do("PATCH", "/users/"+u["id"].(string), map[string]any{"usageLocation": "US"}, 204)

	status, body, raw = c.e.send("POST", c.jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{
		"ruleId": c.rule, "subjects": []any{map[string]any{"objectId": "CN=Nobody,CN=Users,DC=corp,DC=chicago,DC=com", "objectTypeName": "user"}}}}}, c.e.token)
	if status != 404 || body["error"] == nil {
		t.Errorf("on demand for a missing DN: %d %s, want a 404 Graph error", status, raw)
	}
}

// The answer for an AD user has example 2's shape: its keys, its steps in
// order with example 2's names, types and descriptions (the change
// received, the retrieval, cloud sync's scoping, the export), its system
// names, binary attributes as base64.
func TestGoldenCloudSyncOnDemand(t *testing.T) {
	c := newCloudSync(t, options{fixed: true})
	c.ad.Put(adUser("1b17a238-048b-4b21-8133-ca8ae52c4173", adeleDN, "adelev", "Adele", "Vance"))
	_, value := c.onDemand(t, adeleDN, "user")
	// Every key of example 2's value is there.
	for _, k := range []string{"provisioningSteps", "modifiedProperties", "action", "changeId", "endTime", "reportableIdentifier",
		"sourceIdentity", "sourceSystem", "startTime", "statusInfo", "targetIdentity", "targetSystem"} {
		if _, ok := value[k]; !ok {
			t.Errorf("the answer lacks example 2's key %q", k)
		}
	}
	if value["reportableIdentifier"] != "adelev@chicago.com" {
		t.Errorf("reportableIdentifier = %v, want the userPrincipalName, as in example 2", value["reportableIdentifier"])
	}
	// Example 2's steps (an update there, a create here: the Matching step
	// between scoping and export is provisiond's, as in examples 1 and 3).
	want := []struct{ name, typ, desc string }{
		{"EntryImportAdd", "Import", `^Received user 'adelev@chicago\.com' change of type \(Add\) from Active Directory$`},
		{"EntryImport", "Import", `^Retrieved user 'adelev@chicago\.com' from Active Directory$`},
		{"EntrySynchronizationScoping", "Scoping", `^Determine if user in scope by evaluating against each scoping filter$`},
		{"EntryImportObjectNotFound", "Matching", `^No matching User was found in Azure Active Directory for 'adelev@chicago\.com'$`},
		{"EntryExportAdd", "Export", `^User 'adelev@chicago\.com' was created in Azure Active Directory$`},
	}
	steps := value["provisioningSteps"].([]any)
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %d", stepNames(value), len(want))
	}
	for i, w := range want {
		s := steps[i].(map[string]any)
		if s["name"] != w.name || s["type"] != w.typ || s["status"] != "Success" || !regexp.MustCompile(w.desc).MatchString(s["description"].(string)) {
			t.Errorf("step %d = %v/%v/%v %q, want %s/%s/Success matching %s", i, s["name"], s["type"], s["status"], s["description"], w.name, w.typ, w.desc)
		}
	}
	details := func(i int) map[string]any { return steps[i].(map[string]any)["details"].(map[string]any) }
	if d := cmp.Diff(details(0), details(1)); d != "" {
		t.Errorf("EntryImportAdd and EntryImport show different attributes, unlike example 2 (-add +import):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"Active in the source system": "True", "Scoping filter evaluation passed": "True"}, details(2)); d != "" {
		t.Errorf("scoping details are not example 2's (-want +got):\n%s", d)
	}
	// Binary attributes as example 2 shows them: base64 of the bytes.
	imp := details(1)
	for _, k := range []string{"objectGUID", "objectSid"} {
		v, _ := imp[k].(string)
		if _, err := base64.StdEncoding.DecodeString(v); err != nil || v == "" {
			t.Errorf("import %s = %q, want base64 (example 2: \"objectSid\":\"AQUAAAAAAAUVAAAA...\")", k, v)
		}
	}
	if imp["accountDisabled"] != "False" || imp["userAccountControl"] != "512" {
		t.Errorf("import accountDisabled %v, userAccountControl %v; want False, 512 as example 2 shows them", imp["accountDisabled"], imp["userAccountControl"])
	}
	mods := modified(value)
	if mods["OnPremiseSecurityIdentifier"] != imp["objectSid"] || mods["OnPremisesImmutableId"] != imp["objectGUID"] {
		t.Errorf("OnPremiseSecurityIdentifier %q, OnPremisesImmutableId %q: want the imported base64 %v, %v",
			mods["OnPremiseSecurityIdentifier"], mods["OnPremisesImmutableId"], imp["objectSid"], imp["objectGUID"])
	}
	golden(t, c.e, "cloudsync_ad_user_create")
}

// A started cloud-sync job's cycle brings every AD user and group (with
// members) into the directory; a SCIM job started on the same directory
// carries them on; an AD modify, a disable and a delete each arrive.
func TestCloudSyncCycleChainsToSCIM(t *testing.T) {
	c := newCloudSync(t, options{})
	e := c.e
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok}, {"key": "SyncAll", "value": "true"}}}, 204)
	e.do("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/start", nil, 204)

	people := []adfake.Entry{
		adUser("aaaaaaaa-0000-4000-8000-000000000001", "CN=Ada,OU=Staff,DC=corp,DC=chicago,DC=com", "ada", "Ada", "Lovelace"),
		adUser("aaaaaaaa-0000-4000-8000-000000000002", "CN=Grace,OU=Staff,DC=corp,DC=chicago,DC=com", "grace", "Grace", "Hopper"),
		adUser("aaaaaaaa-0000-4000-8000-000000000003", "CN=Alan,OU=Staff,DC=corp,DC=chicago,DC=com", "alan", "Alan", "Turing"),
	}
	for _, p := range people {
		c.ad.Put(p)
	}
	const groupGUID = "bbbbbbbb-0000-4000-8000-000000000001"
	c.ad.Put(adfake.Entry{ID: groupGUID, DN: "CN=Engineers,OU=Groups,DC=corp,DC=chicago,DC=com", Group: true,
		Attrs: connector.Attributes{"cn": {"Engineers"}, "sAMAccountName": {"Engineers"}}, Members: []string{people[0].ID, people[1].ID}})
	e.do("POST", c.jobPath+"/start", nil, 204)

	waitFor(t, "the AD users in the directory", func() bool {
		return len(c.directoryUsers(t, "onPremisesSyncEnabled eq true")) == len(people)
	})
	var group map[string]any
	waitFor(t, "the AD group with its members in the directory", func() bool {
		gs := e.do("GET", "/groups?$filter="+url.QueryEscape("onPremisesImmutableId eq '"+immutableID(t, groupGUID)+"'"), nil, 200)["value"].([]any)
		if len(gs) != 1 {
			return false
		}
		group = gs[0].(map[string]any)
		ms := e.do("GET", "/groups/"+group["id"].(string)+"/members", nil, 200)["value"].([]any)
		return len(ms) == 2
	})
	if group["displayName"] != "Engineers" || group["onPremisesSyncEnabled"] != true {
		t.Errorf("directory group = %v", group)
	}
	took := waitFor(t, "the AD users in the SCIM app", func() bool {
		for _, p := range people {
			if len(e.scimFind("Users", "userName", p.Attrs["userPrincipalName"][0])) != 1 {
				return false
			}
		}
		return true
	})
	t.Logf("the AD users reached the SCIM app %v after the directory", took.Round(10*time.Millisecond))

	// An AD change reaches the directory and the SCIM app. The fake has
	// no change notification: the test wakes the job as the watch would.
	kick := func() {
		if err := e.app.Runner.Schedule(context.Background(), c.spID, c.jobID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	c.ad.Modify(people[0].ID, connector.Attributes{"displayName": {"Ada King"}})
	kick()
	adaUPN := people[0].Attrs["userPrincipalName"][0]
	waitFor(t, "an AD rename in the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", adaUPN)
		return len(u) == 1 && u[0]["displayName"] == "Ada King"
	})
	t.Logf("an AD modify reached the SCIM app through the directory in %v", time.Since(start).Round(10*time.Millisecond))

	disabled := people[1]
	disabled.Disabled = true
	c.ad.Put(disabled)
	kick()
	waitFor(t, "an AD disable in the directory", func() bool {
		us := c.directoryUsers(t, "userPrincipalName eq '"+disabled.Attrs["userPrincipalName"][0]+"'")
		return len(us) == 1 && us[0]["accountEnabled"] == false
	})

	alanID := immutableID(t, people[2].ID)
	alan := c.directoryUsers(t, "onPremisesImmutableId eq '"+alanID+"'")[0]["id"]
	c.ad.Remove(people[2].ID)
	kick()
	waitFor(t, "an AD delete in the directory", func() bool {
		return len(c.directoryUsers(t, "onPremisesImmutableId eq '"+alanID+"'")) == 0
	})
	waitFor(t, "an AD delete in the SCIM app", func() bool {
		u := e.scimFind("Users", "userName", people[2].Attrs["userPrincipalName"][0])
		return len(u) == 1 && u[0]["active"] == false
	})

	// Restored in AD: the soft-deleted directory user comes back.
	c.ad.Put(people[2])
	kick()
	waitFor(t, "an AD restore in the directory", func() bool {
		us := c.directoryUsers(t, "onPremisesImmutableId eq '"+alanID+"'")
		return len(us) == 1 && us[0]["id"] == alan
	})
}

// Cloud-sync jobs write the directory: a delegated caller needs the Hybrid
// Identity Administrator (or Global Administrator) role, an application
// administrator is not enough.
func TestCloudSyncNeedsHybridIdentityAdministrator(t *testing.T) {
	c := newCloudSync(t, options{})
	e := c.e
	for _, tc := range []struct {
		role string
		want int
	}{
		{"Application Administrator", 403},
		{"Hybrid Identity Administrator", 204},
		{"Global Administrator", 204},
	} {
		tok, err := e.issuer.MintUser("admin@contoso.test", []string{"Synchronization.ReadWrite.All"}, []string{tc.role}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, raw := e.send("POST", c.jobPath+"/pause", nil, tok); status != tc.want {
			t.Errorf("pause by a %s: %d %s, want %d", tc.role, status, raw, tc.want)
		}
	}
	// Creating one needs the role too.
	appAdmin, _ := e.issuer.MintUser("admin@contoso.test", []string{"Synchronization.ReadWrite.All"}, []string{"Application Administrator"}, time.Hour)
	hybrid, _ := e.issuer.MintUser("admin@contoso.test", []string{"Synchronization.ReadWrite.All"}, []string{"Hybrid Identity Administrator"}, time.Hour)
	create := map[string]any{"templateId": schema.TemplateLDAP2AAD}
	if status, _, raw := e.send("POST", "/servicePrincipals/"+c.spID+"/synchronization/jobs", create, appAdmin); status != 403 {
		t.Errorf("POST jobs (LDAP2AAD) by an Application Administrator: %d %s, want 403", status, raw)
	}
	if status, _, raw := e.send("POST", "/servicePrincipals/"+c.spID+"/synchronization/jobs", create, hybrid); status != 201 {
		t.Errorf("POST jobs (LDAP2AAD) by a Hybrid Identity Administrator: %d %s, want 201", status, raw)
	}
	// A reader may create neither kind of job.
	reader, err := e.issuer.MintApp("reader", []string{"Synchronization.Read.All"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range []string{"scim", schema.TemplateAD2AAD} {
		if status, _, raw := e.send("POST", "/servicePrincipals/"+c.spID+"/synchronization/jobs", map[string]any{"templateId": tpl}, reader); status != 403 {
			t.Errorf("POST jobs (%s) with Synchronization.Read.All: %d %s, want 403", tpl, status, raw)
		}
	}
	// The SCIM job keeps the application administrator roles.
	tok, _ := e.issuer.MintUser("admin@contoso.test", []string{"Synchronization.ReadWrite.All"}, []string{"Application Administrator"}, time.Hour)
	if status, _, raw := e.send("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/pause", nil, tok); status != 204 {
		t.Errorf("pause of the SCIM job by an Application Administrator: %d %s", status, raw)
	}
}

// directories/{id}/discover reads the source's own schema into the job's
// directory definition; the target directory and unknown ids are refused.
func TestCloudSyncDiscover(t *testing.T) {
	c := newCloudSync(t, options{})
	u := adUser("aaaaaaaa-0000-4000-8000-000000000009", adeleDN, "adelev", "Adele", "Vance")
	u.Attrs["extensionAttribute7"] = []string{"cost centre 7"}
	u.Attrs["otherTelephone"] = []string{"+1 1", "+1 2"}
	c.ad.Put(u)
	dirs := c.e.do("GET", c.jobPath+"/schema", nil, 200)["directories"].([]any)
	adID := dirs[0].(map[string]any)["id"].(string)
	targetID := dirs[1].(map[string]any)["id"].(string)

	got := c.e.do("POST", c.jobPath+"/schema/directories/"+adID+"/discover", nil, 200)
	if got["name"] != "Active Directory" || got["discoveryDateTime"] == nil {
		t.Errorf("discovered definition: name %v, discoveryDateTime %v", got["name"], got["discoveryDateTime"])
	}
	find := func(def map[string]any, name string) map[string]any {
		for _, o := range def["objects"].([]any) {
			if o.(map[string]any)["name"] != "user" {
				continue
			}
			for _, a := range o.(map[string]any)["attributes"].([]any) {
				if a.(map[string]any)["name"] == name {
					return a.(map[string]any)
				}
			}
		}
		return nil
	}
	if a := find(got, "extensionAttribute7"); a == nil || a["type"] != "String" {
		t.Errorf("extensionAttribute7 after discover = %v", a)
	}
	if a := find(got, "otherTelephone"); a == nil || a["multivalued"] != true {
		t.Errorf("otherTelephone after discover = %v, want multivalued", a)
	}
	stored := c.e.do("GET", c.jobPath+"/schema", nil, 200)["directories"].([]any)[0].(map[string]any)
	if find(stored, "extensionAttribute7") == nil {
		t.Error("the job's schema does not keep the discovered attribute")
	}
	if status, _, raw := c.e.send("POST", c.jobPath+"/schema/directories/"+targetID+"/discover", nil, c.e.token); status != 400 {
		t.Errorf("discover of the target directory: %d %s, want 400", status, raw)
	}
	if status, _, raw := c.e.send("POST", c.jobPath+"/schema/directories/nope/discover", nil, c.e.token); status != 404 {
		t.Errorf("discover of an unknown directory: %d %s, want 404", status, raw)
	}
}

// validateCredentials on a cloud-sync job tests the directory server.
func TestCloudSyncValidateCredentials(t *testing.T) {
	c := newCloudSync(t, options{})
	body := map[string]any{"useSavedCredentials": true}
	c.e.do("POST", c.jobPath+"/validateCredentials", body, 204)
	c.ad.FailTest(errors.New("bind as CORP\\sync: invalid credentials (49)"))
	status, m, raw := c.e.send("POST", c.jobPath+"/validateCredentials", body, c.e.token)
	msg, _ := m["error"].(map[string]any)["message"].(string)
	if status != 400 || !strings.Contains(msg, "Active Directory") || !strings.Contains(msg, "invalid credentials") {
		t.Errorf("validateCredentials with a refused bind: %d %s, want 400 naming the server and the bind", status, raw)
	}
}

// A group on demand by its DN, with a member named by its DN: both land in
// the directory, the member in the group, keyed by their GUIDs.
func TestCloudSyncOnDemandGroupByDN(t *testing.T) {
	c := newCloudSync(t, options{})
	const userGUID, groupGUID = "aaaaaaaa-0000-4000-8000-000000000077", "bbbbbbbb-0000-4000-8000-000000000077"
	c.ad.Put(adUser(userGUID, adeleDN, "adelev", "Adele", "Vance"))
	groupDN := "CN=Sales,OU=Groups,DC=corp,DC=chicago,DC=com"
	c.ad.Put(adfake.Entry{ID: groupGUID, DN: groupDN, Group: true,
		Attrs: connector.Attributes{"cn": {"Sales"}, "sAMAccountName": {"Sales"}}, Members: []string{userGUID}})
	m := c.e.do("POST", c.jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{
		"ruleId": c.rule, "subjects": []any{map[string]any{"objectId": strings.ToUpper(groupDN), "objectTypeName": "Group",
			"links": map[string]any{"members": []any{map[string]any{"objectId": adeleDN, "objectTypeName": "user"}}}}}}}}, 200)
	var key, value map[string]any
	_ = json.Unmarshal([]byte(m["key"].(string)), &key)
	_ = json.Unmarshal([]byte(m["value"].(string)), &value)
	if key["result"] != "Success" || value["action"] != "Create" {
		t.Fatalf("group on demand: key %v, action %v, steps %v", key, value["action"], stepNames(value))
	}
	gs := c.e.do("GET", "/groups?$filter="+url.QueryEscape("onPremisesImmutableId eq '"+immutableID(t, groupGUID)+"'"), nil, 200)["value"].([]any)
	if len(gs) != 1 {
		t.Fatalf("directory groups with the GUID: %d, want 1", len(gs))
	}
	g := gs[0].(map[string]any)
	ms := c.e.do("GET", "/groups/"+g["id"].(string)+"/members", nil, 200)["value"].([]any)
	users := c.directoryUsers(t, "onPremisesImmutableId eq '"+immutableID(t, userGUID)+"'")
	if len(ms) != 1 || len(users) != 1 || ms[0].(map[string]any)["id"] != users[0]["id"] {
		t.Errorf("group members %v, synced user %v; want the user in the group", ms, users)
	}
	// Its membership is mastered on premises.
	status, _, raw := c.e.send("DELETE", "/groups/"+g["id"].(string)+"/members/"+users[0]["id"].(string)+"/$ref", nil, c.e.token)
	if status != 400 {
		t.Errorf("removing a member of a synced group through Graph: %d %s, want 400", status, raw)
	}
	other, _ := c.e.user("Cloud", "Only")
	status, _, raw = c.e.send("POST", "/groups/"+g["id"].(string)+"/members/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + other}, c.e.token)
	if status != 400 {
		t.Errorf("adding a member to a synced group through Graph: %d %s, want 400", status, raw)
	}
	if g["displayName"] != "Sales" || g["onPremisesDistinguishedName"] != groupDN || g["onPremisesDomainName"] != "corp.chicago.com" {
		t.Errorf("directory group = %v", g)
	}
}

// LDAP2AADProvisioning over an OpenLDAP-shaped directory: entryUUID is the
// anchor, the UPN is uid@ the entry's dc= domain when there is no mail,
// and the source system is the server's name.
func TestCloudSyncLDAPOnDemand(t *testing.T) {
	ldap := adfake.New("ldap.example.org", "entryUUID")
	c := newCloudSyncFrom(t, options{}, schema.TemplateLDAP2AAD, schema.DirectoryLDAP, ldap)
	const uuid = "4f0c1d52-6a0e-103e-8b2a-5d3f0c9e7a11"
	dn := "uid=grace,ou=People,dc=example,dc=org"
	ldap.Put(adfake.Entry{ID: uuid, DN: dn, Attrs: connector.Attributes{
		"uid": {"grace"}, "cn": {"Grace Hopper"}, "sn": {"Hopper"}, "givenName": {"Grace"},
		"employeeNumber": {"1906"}, "departmentNumber": {"Navy"}}})
	key, value := c.onDemand(t, strings.ToUpper(dn), "User")
	if key["result"] != "Success" || value["action"] != "Create" {
		t.Fatalf("LDAP on demand: key %v, action %v, steps %v", key, value["action"], stepNames(value))
	}
	if got := value["sourceSystem"].(map[string]any)["name"]; got != "ldap.example.org" {
		t.Errorf("sourceSystem = %v, want the server's name", got)
	}
	mods := modified(value)
	for name, want := range map[string]string{"UserPrincipalName": "grace@example.org", "Alias": "grace", "DisplayName": "Grace Hopper",
		"EmployeeId": "1906", "Department": "Navy", "OnPremisesImmutableId": uuid, "OnPremisesDistinguishedName": dn} {
		if mods[name] != want {
			t.Errorf("modifiedProperties[%s] = %q, want %q", name, mods[name], want)
		}
	}
	us := c.directoryUsers(t, "userPrincipalName eq 'grace@example.org'")
	if len(us) != 1 || us[0]["employeeId"] != "1906" || us[0]["onPremisesDomainName"] != "example.org" {
		t.Errorf("directory user = %v", us)
	}
	if key, _ := c.onDemand(t, uuid, "user"); key["result"] != "Skipped" {
		t.Errorf("again by entryUUID: %v, want Skipped", key)
	}
}

// Cloud sync creates an AD account that is disabled there, disabled in the
// directory (a SCIM job skips a disabled user: outcomes_test).
func TestCloudSyncDisabledAccountCreatedDisabled(t *testing.T) {
	c := newCloudSync(t, options{})
	const guid = "aaaaaaaa-0000-4000-8000-000000000042"
	u := adUser(guid, "CN=Gone,OU=Staff,DC=corp,DC=chicago,DC=com", "gone", "Gone", "Fishing")
	u.Disabled = true
	u.Attrs["userAccountControl"] = []string{"514"}
	c.ad.Put(u)
	key, value := c.onDemand(t, guid, "user")
	if key["result"] != "Success" || value["action"] != "Create" || modified(value)["AccountEnabled"] != "False" {
		t.Fatalf("a disabled AD account on demand: key %v, action %v, AccountEnabled %q; want a disabled Create", key, value["action"], modified(value)["AccountEnabled"])
	}
	us := c.directoryUsers(t, "onPremisesImmutableId eq '"+immutableID(t, guid)+"'")
	if len(us) != 1 || us[0]["accountEnabled"] != false {
		t.Errorf("directory user = %v, want one, disabled", us)
	}
}

// A provisioning log says who initiated it: the on-demand caller (an
// application, or a signed-in user), the service for a cycle.
func TestProvisioningLogsInitiatedBy(t *testing.T) {
	c := newCloudSync(t, options{})
	e := c.e
	c.ad.Put(adUser("aaaaaaaa-0000-4000-8000-000000000051", "CN=Ada,OU=Staff,DC=corp,DC=chicago,DC=com", "ada", "Ada", "Lovelace"))
	c.ad.Put(adUser("aaaaaaaa-0000-4000-8000-000000000052", "CN=Grace,OU=Staff,DC=corp,DC=chicago,DC=com", "grace", "Grace", "Hopper"))
	c.onDemand(t, "aaaaaaaa-0000-4000-8000-000000000051", "user")
	byApp := c.e.lastValue
	hybrid, err := e.issuer.MintUser("hybrid@contoso.test", []string{"Synchronization.ReadWrite.All"}, []string{"Hybrid Identity Administrator"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	status, _, raw := e.send("POST", c.jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{"ruleId": c.rule,
		"subjects": []any{map[string]any{"objectId": "aaaaaaaa-0000-4000-8000-000000000052", "objectTypeName": "user"}}}}}, hybrid)
	if status != 200 {
		t.Fatalf("on demand by a Hybrid Identity Administrator: %d %s", status, raw)
	}
	if strings.Contains(byApp, "initiatedBy") {
		t.Errorf("the on-demand answer carries initiatedBy, which example 2 does not: %s", byApp)
	}
	c.ad.Put(adUser("aaaaaaaa-0000-4000-8000-000000000053", "CN=Alan,OU=Staff,DC=corp,DC=chicago,DC=com", "alan", "Alan", "Turing"))
	e.do("POST", c.jobPath+"/start", nil, 204)
	logs := func() []map[string]any {
		var out []map[string]any
		for _, l := range e.do("GET", "/auditLogs/provisioning?$filter="+url.QueryEscape("jobId eq '"+c.jobID+"'"), nil, 200)["value"].([]any) {
			out = append(out, l.(map[string]any))
		}
		return out
	}
	waitFor(t, "a cycle's provisioning log", func() bool {
		return slices.ContainsFunc(logs(), func(l map[string]any) bool { return l["cycleId"] != nil })
	})
	seen := map[string]bool{}
	for _, l := range logs() {
		by := l["initiatedBy"].(map[string]any)
		upn := l["sourceIdentity"].(map[string]any)["displayName"]
		var want map[string]any
		switch {
		case l["cycleId"] != nil:
			want = map[string]any{"id": "", "displayName": "provisiond", "initiatorType": "system"}
		case upn == "Ada Lovelace":
			want = map[string]any{"displayName": "e2e-admin", "initiatorType": "application"}
		case upn == "Grace Hopper":
			want = map[string]any{"displayName": "hybrid@contoso.test", "initiatorType": "user"}
		default:
			t.Errorf("an unexpected log: %v", l)
			continue
		}
		seen[want["initiatorType"].(string)] = true
		if want["id"] == nil {
			if id, _ := by["id"].(string); id == "" {
				t.Errorf("initiatedBy of %v has no id: %v", upn, by)
			}
			want["id"] = by["id"]
		}
		if d := cmp.Diff(want, by); d != "" {
			t.Errorf("initiatedBy of %v (cycle %v) (-want +got):\n%s", upn, l["cycleId"], d)
		}
	}
	if len(seen) != 3 {
		t.Errorf("initiator types seen %v, want application, user and system", seen)
	}
}

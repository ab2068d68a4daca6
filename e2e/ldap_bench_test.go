package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/schema"
	"provisiond/store"
)

// ldapBenchUsers is the size of the initial cycle BenchmarkLDAPCloudSync
// reads from slapd.
const ldapBenchUsers = 10000

// BenchmarkLDAPCloudSync measures an LDAP2AADProvisioning job reading a
// real slapd: the initial cycle of 10,000 inetOrgPerson users into the
// directory (objects/s, the LDAP reads included), then the latency from an
// LDAP modify to the directory (p50, p99 of 30), the job woken by its
// syncrepl watch. The users are seeded once per slapd (ou=e2ebench10k is
// kept). Run it once:
//
//	go test ./e2e -run '^$' -bench BenchmarkLDAPCloudSync -benchtime 1x
func BenchmarkLDAPCloudSync(b *testing.B) {
	c, srv := ldapServers[0].connect(b)
	ou := "ou=e2ebench10k," + srv.base
	res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"description"}, nil))
	if err != nil || len(res.Entries) == 0 || res.Entries[0].GetAttributeValue("description") != "complete" {
		seedLDAPBench(b, srv, c, ou)
	}
	e := newEnv(b, options{manualCycles: true})
	inst := e.do("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Cloud sync"}, 201)
	spID := inst["servicePrincipal"].(map[string]any)["id"].(string)
	jobID := e.do("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": schema.TemplateLDAP2AAD}, 201)["id"].(string)
	ca, err := os.ReadFile(srv.ca)
	if err != nil {
		b.Fatal(err)
	}
	e.do("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "Server", "value": srv.url}, {"key": "UserName", "value": srv.bind}, {"key": "Password", "value": srv.password},
		{"key": "SyncAgentADContainer", "value": ou}, {"key": "LdapCACertificate", "value": string(ca)}}}, 204)
	ctx := context.Background()
	if _, err := e.st.UpdateJob(ctx, spID, jobID, func(j *store.Job) error {
		j.Schedule.State, j.Schedule.Interval = store.ScheduleActive, "PT40M"
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := e.app.Jobs.RunCycle(ctx, spID, jobID); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	users, err := e.st.ListUsers(ctx, store.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(users) != ldapBenchUsers {
		b.Fatalf("the initial cycle left %d directory users, want %d", len(users), ldapBenchUsers)
	}
	b.ReportMetric(float64(ldapBenchUsers)/took.Seconds(), "objects/s")

	// Started, the runner runs a cycle and then watches slapd.
	if err := e.app.Runner.Start(ctx); err != nil {
		b.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	var lat []time.Duration
	for i := range 30 {
		upn := fmt.Sprintf("b%05d@example.com", i)
		name := fmt.Sprintf("Renamed %d %d", i, time.Now().UnixNano())
		begin := time.Now()
		ldapModify(b, c, fmt.Sprintf("uid=b%05d,%s", i, ou), "displayName", name)
		for {
			u, err := e.st.GetUserByUPN(ctx, upn)
			if err != nil {
				b.Fatal(err)
			}
			if u.Props["displayName"] == name {
				break
			}
			if time.Since(begin) > 30*time.Second {
				b.Fatalf("rename %d did not reach the directory in 30 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}

func seedLDAPBench(b *testing.B, srv ldapServer, c *ldap.Conn, ou string) {
	b.Helper()
	_ = c.Del(ldap.NewDelRequest(ou, nil)) // a half-seeded one is refilled below
	req := ldap.NewAddRequest(ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{"e2ebench10k"})
	if err := c.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc, _ := srv.connect(b)
			for i := w; i < ldapBenchUsers; i += 4 {
				uid := fmt.Sprintf("b%05d", i)
				req := ldap.NewAddRequest("uid="+uid+","+ou, nil)
				req.Attribute("objectClass", []string{"inetOrgPerson"})
				req.Attribute("uid", []string{uid})
				req.Attribute("cn", []string{"Bench " + uid})
				req.Attribute("sn", []string{uid})
				req.Attribute("givenName", []string{"Bench"})
				req.Attribute("displayName", []string{"Bench " + uid})
				req.Attribute("mail", []string{uid + "@example.com"})
				req.Attribute("employeeNumber", []string{fmt.Sprint(i)})
				req.Attribute("departmentNumber", []string{fmt.Sprint(i % 20)})
				if err := wc.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	ldapModify(b, c, ou, "description", "complete")
}

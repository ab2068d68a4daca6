package ldapsource_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// benchUsers is the size of the initial cycle the benchmark lists.
const benchUsers = 10000

// BenchmarkList lists 10,000 OpenLDAP users 500 at a time, as an initial
// cycle reads its source, and reports objects/s of the source alone. The
// users are seeded once per slapd (ou=bench10k is kept).
func BenchmarkList(b *testing.B) {
	srv := slapd(b)
	ou := "ou=bench10k," + srv.cfg.BaseDNs[0]
	res, err := srv.admin.Search(ldap.NewSearchRequest(ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"description"}, nil))
	if err != nil || len(res.Entries) == 0 || res.Entries[0].GetAttributeValue("description") != "complete" {
		seedBench(b, srv, ou)
	}
	src := srv.source(b, ou)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		n, token := 0, ""
		for {
			page, err := src.List(b.Context(), "user", token, 500)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Objects)
			if page.Next == "" {
				break
			}
			token = page.Next
		}
		if n != benchUsers {
			b.Fatalf("listed %d users, want %d", n, benchUsers)
		}
	}
	b.ReportMetric(float64(benchUsers*b.N)/time.Since(start).Seconds(), "objects/s")
}

func seedBench(b *testing.B, srv *server, ou string) {
	b.Helper()
	srv.deleteTree(b, ou)
	srv.add(b, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"bench10k"}})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := connect(b, srv.flavor, srv.cfg, nil).admin
			for i := w; i < benchUsers; i += 4 {
				req := ldap.NewAddRequest(fmt.Sprintf("uid=u%05d,%s", i, ou), nil)
				req.Attribute("objectClass", []string{"inetOrgPerson"})
				req.Attribute("uid", []string{fmt.Sprintf("u%05d", i)})
				req.Attribute("cn", []string{fmt.Sprintf("User %05d", i)})
				req.Attribute("sn", []string{fmt.Sprintf("%05d", i)})
				req.Attribute("givenName", []string{"User"})
				req.Attribute("displayName", []string{fmt.Sprintf("User %05d", i)})
				req.Attribute("mail", []string{fmt.Sprintf("u%05d@example.com", i)})
				req.Attribute("employeeNumber", []string{fmt.Sprint(i)})
				req.Attribute("departmentNumber", []string{fmt.Sprint(i % 20)})
				if err := c.Add(req); err != nil {
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
	srv.modify(b, ou, map[string][]string{"description": {"complete"}})
}

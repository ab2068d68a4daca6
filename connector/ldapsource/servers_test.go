package ldapsource_test

import (
	"context"
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

	"provisiond/adid"
	"provisiond/connector/ldapsource"
)

// server is a real directory the tests seed: slapd or Samba's AD DC, as
// scripts/components/{slapd,samba}.sh start them.
type server struct {
	flavor ldapsource.Flavor
	cfg    ldapsource.Config // binds as the administrator; BaseDNs is the suffix
	admin  *ldap.Conn
}

// need returns the environment variables, failing the test when one is
// missing and components are required (PROVISIOND_COMPONENTS=required),
// else skipping it.
func need(t testing.TB, script string, names ...string) []string {
	t.Helper()
	var vals []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			msg := fmt.Sprintf("%s is not set: start the server with scripts/components/%s (scripts/test.sh does)", n, script)
			if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		vals = append(vals, v)
	}
	return vals
}

// slapd is the OpenLDAP server; its ldap:// URL takes StartTLS with the CA.
func slapd(t testing.TB) *server {
	v := need(t, "slapd.sh", "PROVISIOND_SLAPD_URL", "PROVISIOND_SLAPD_BIND_DN", "PROVISIOND_SLAPD_PASSWORD", "PROVISIOND_SLAPD_BASE", "PROVISIOND_SLAPD_CA")
	cfg := ldapsource.Config{URL: v[0], BindDN: v[1], Password: v[2], BaseDNs: []string{v[3]}, CAFile: v[4], Timeout: 20 * time.Second}
	return connect(t, ldapsource.FlavorOpenLDAP, cfg, nil)
}

// samba is the AD DC; ldap:// with StartTLS, checked with the CA.
func samba(t testing.TB) *server {
	v := need(t, "samba.sh", "PROVISIOND_SAMBA_URL", "PROVISIOND_SAMBA_BIND", "PROVISIOND_SAMBA_PASSWORD", "PROVISIOND_SAMBA_BASE", "PROVISIOND_SAMBA_CA")
	cfg := ldapsource.Config{URL: v[0], BindDN: v[1], Password: v[2], BaseDNs: []string{v[3]}, CAFile: v[4], Timeout: 20 * time.Second}
	return connect(t, ldapsource.FlavorAD, cfg, nil)
}

func connect(t testing.TB, f ldapsource.Flavor, cfg ldapsource.Config, tc *tls.Config) *server {
	t.Helper()
	c, err := ldap.DialURL(cfg.URL)
	if err != nil {
		t.Fatalf("dial %s: %v", cfg.URL, err)
	}
	if tc == nil {
		tc = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the seeding connection only
	}
	if err := c.StartTLS(tc); err != nil {
		t.Fatalf("StartTLS %s: %v", cfg.URL, err)
	}
	if err := c.Bind(cfg.BindDN, cfg.Password); err != nil {
		t.Fatalf("bind %s: %v", cfg.URL, err)
	}
	t.Cleanup(func() { c.Close() })
	return &server{flavor: f, cfg: cfg, admin: c}
}

func tag() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ou creates an organizational unit of its own under the suffix, deleted
// with what it holds when the test ends, and returns its DN.
func (s *server) ou(t testing.TB) string {
	t.Helper()
	name := "t" + tag()
	dn := "ou=" + name + "," + s.cfg.BaseDNs[0]
	s.add(t, dn, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {name}})
	t.Cleanup(func() { s.deleteTree(t, dn) })
	return dn
}

func (s *server) add(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(attrs[k]) > 0 {
			req.Attribute(k, attrs[k])
		}
	}
	if err := s.admin.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func (s *server) modify(t testing.TB, dn string, replace map[string][]string) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	for k, v := range replace {
		req.Replace(k, v)
	}
	if err := s.admin.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func (s *server) del(t testing.TB, dn string) {
	t.Helper()
	if err := s.admin.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("delete %s: %v", dn, err)
	}
}

// deleteTree deletes dn and everything under it, deepest first.
func (s *server) deleteTree(t testing.TB, dn string) {
	res, err := s.admin.SearchWithPaging(ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil), 500)
	if err != nil {
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Logf("cleanup: search %s: %v", dn, err)
		}
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	slices.SortFunc(dns, func(a, b string) int { return strings.Count(b, ",") - strings.Count(a, ",") })
	for _, d := range dns {
		if err := s.admin.Del(ldap.NewDelRequest(d, nil)); err != nil {
			t.Logf("cleanup: delete %s: %v", d, err)
		}
	}
}

// anchor reads the entry's anchor as the source names it.
func (s *server) anchor(t testing.TB, dn string) string {
	t.Helper()
	attr := "entryUUID"
	if s.flavor == ldapsource.FlavorAD {
		attr = "objectGUID"
	}
	res, err := s.admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the anchor of %s: %v", dn, err)
	}
	if s.flavor == ldapsource.FlavorAD {
		return adid.FormatGUID(res.Entries[0].GetRawAttributeValue(attr))
	}
	return res.Entries[0].GetAttributeValue(attr)
}

// user adds a user under ou with the attributes given (named as the
// server names them) and returns its DN.
func (s *server) user(t testing.TB, ou, name string, attrs map[string][]string) string {
	t.Helper()
	a := map[string][]string{}
	for k, v := range attrs {
		a[k] = v
	}
	dn := "cn=" + ldap.EscapeDN(name) + "," + ou
	a["cn"] = []string{name}
	if s.flavor == ldapsource.FlavorAD {
		a["objectClass"] = []string{"user"}
		a["sAMAccountName"] = []string{sam(name)}
		if a["userAccountControl"] == nil {
			a["userAccountControl"] = []string{"544"} // NORMAL_ACCOUNT | PASSWD_NOTREQD
		}
	} else {
		a["objectClass"] = []string{"inetOrgPerson"}
		if a["sn"] == nil {
			a["sn"] = []string{name}
		}
	}
	s.add(t, dn, a)
	return dn
}

// group adds a group under ou with the member DNs given.
func (s *server) group(t testing.TB, ou, name string, members []string, attrs map[string][]string) string {
	t.Helper()
	a := map[string][]string{"cn": {name}}
	for k, v := range attrs {
		a[k] = v
	}
	dn := "cn=" + ldap.EscapeDN(name) + "," + ou
	if s.flavor == ldapsource.FlavorAD {
		a["objectClass"] = []string{"group"}
		a["sAMAccountName"] = []string{sam(name)}
		a["member"] = members
	} else {
		a["objectClass"] = []string{"groupOfNames"}
		if len(members) == 0 {
			// groupOfNames needs a member; one outside every base stands
			// for none.
			members = []string{"cn=nobody,dc=invalid"}
		}
		a["member"] = members
	}
	s.add(t, dn, a)
	return dn
}

// sam is a unique sAMAccountName (at most 20 characters).
func sam(name string) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, name)
	return (tag() + n + "xxxxxxxxxxxx")[:20]
}

// source returns a source over bases (the ou, usually).
func (s *server) source(t testing.TB, bases ...string) *ldapsource.Source {
	t.Helper()
	cfg := s.cfg
	cfg.BaseDNs = bases
	src, err := ldapsource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

package wiring

import (
	"strings"
	"testing"

	"provisiond/connector/ldapsource"
	"provisiond/secrets"
)

func pairs(kv ...string) []secrets.Pair {
	var out []secrets.Pair
	for i := 0; i < len(kv); i += 2 {
		out = append(out, secrets.Pair{Key: kv[i], Value: secrets.Value(kv[i+1])})
	}
	return out
}

func TestLDAPConfig(t *testing.T) {
	good := []string{SecretServer, "ldaps://dc.example.com:636", SecretUserName, "admin@example.com", SecretPassword, "pw",
		SecretContainers, "OU=Staff,DC=example,DC=com; OU=Contractors,DC=example,DC=com", SecretDomain, "example.com"}
	c, err := LDAPConfig(pairs(good...), ldapsource.FlavorAD)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "ldaps://dc.example.com:636" || c.BindDN != "admin@example.com" || c.Password != "pw" || len(c.BaseDNs) != 2 ||
		c.Domain != "example.com" || c.Flavor != ldapsource.FlavorAD || c.InsecureSkipVerify || c.Plaintext {
		t.Errorf("LDAPConfig = %+v", c)
	}
	if _, err := ldapsource.New(c); err != nil {
		t.Errorf("New(LDAPConfig) = %v", err)
	}
	for mode, want := range map[string]func(ldapsource.Config) bool{
		"insecureskipverify": func(c ldapsource.Config) bool { return c.InsecureSkipVerify },
		"Plaintext":          func(c ldapsource.Config) bool { return c.Plaintext },
		"Verify":             func(c ldapsource.Config) bool { return !c.InsecureSkipVerify && !c.Plaintext },
	} {
		c, err := LDAPConfig(pairs(append(good, SecretLDAPTLS, mode)...), ldapsource.FlavorAD)
		if err != nil || !want(c) {
			t.Errorf("LdapTls %s: %+v, %v", mode, c, err)
		}
	}
	for _, tt := range []struct {
		kv   []string
		want string
	}{
		{nil, "Server, UserName, Password, SyncAgentADContainer"},
		{good[:4], "Password, SyncAgentADContainer"},
		{append(good, SecretLDAPTLS, "maybe"), "LdapTls"},
	} {
		if _, err := LDAPConfig(pairs(tt.kv...), ldapsource.FlavorAD); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LDAPConfig(%v) = %v, want an error naming %s", tt.kv, err, tt.want)
		}
	}
	// What New refuses reaches the administrator too.
	for _, tt := range []struct{ key, value, want string }{
		{SecretServer, "http://dc.example.com", "ldap://host:port"},
		{SecretContainers, "Staff", "not a distinguished name"},
		{SecretLDAPCA, "not PEM", "PEM"},
	} {
		kv := append([]string{}, good...)
		kv = append(kv, tt.key, tt.value)
		c, err := LDAPConfig(dedupe(pairs(kv...)), ldapsource.FlavorAD)
		if err == nil {
			_, err = ldapsource.New(c)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: %v, want an error saying %q", tt.key, tt.value, err, tt.want)
		}
	}
}

// dedupe keeps the last pair of each key.
func dedupe(ps []secrets.Pair) []secrets.Pair {
	last := map[string]int{}
	for i, p := range ps {
		last[p.Key] = i
	}
	var out []secrets.Pair
	for i, p := range ps {
		if last[p.Key] == i {
			out = append(out, p)
		}
	}
	return out
}

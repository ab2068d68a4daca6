package wiring

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"provisiond/connector"
	"provisiond/connector/ldapsource"
	"provisiond/jobs"
	"provisiond/netguard"
	"provisiond/secrets"
)

// LDAP source secrets: Graph's synchronizationSecret names, and two of
// provisiond's own for TLS.
const (
	SecretServer     = "Server"               // ldap://host:port (StartTLS) or ldaps://host:port
	SecretUserName   = "UserName"             // bind DN, or a UPN on AD
	SecretPassword   = "Password"             //
	SecretContainers = "SyncAgentADContainer" // base DNs, ';'-separated
	SecretDomain     = "Domain"               // the directory's DNS domain
	SecretLDAPCA     = "LdapCACertificate"    // PEM CA certificates that sign the server's certificate
	SecretLDAPTLS    = "LdapTls"              // Verify (default), InsecureSkipVerify or Plaintext (tests only)
)

// LDAPConfig reads an LDAP source's configuration from a job's secrets.
// flavor is the directory's kind (AD for AD2AADProvisioning); an error
// says which secret to fix.
func LDAPConfig(pairs []secrets.Pair, flavor ldapsource.Flavor) (ldapsource.Config, error) {
	get := func(k string) string {
		v, _ := secrets.Lookup(pairs, k)
		return strings.TrimSpace(v.Reveal())
	}
	c := ldapsource.Config{
		URL:     get(SecretServer),
		BindDN:  get(SecretUserName),
		Domain:  get(SecretDomain),
		CAPEM:   []byte(get(SecretLDAPCA)),
		Flavor:  flavor,
		BaseDNs: strings.Split(get(SecretContainers), ";"),
	}
	pw, _ := secrets.Lookup(pairs, SecretPassword)
	c.Password = pw.Reveal()
	var missing []string
	for _, s := range []struct{ name, v string }{{SecretServer, c.URL}, {SecretUserName, c.BindDN}, {SecretPassword, c.Password}, {SecretContainers, get(SecretContainers)}} {
		if s.v == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("the secrets %s are not set (Server is ldap://host:port or ldaps://host:port, UserName the bind DN, SyncAgentADContainer the ';'-separated base DNs)", strings.Join(missing, ", "))
	}
	switch mode := get(SecretLDAPTLS); {
	case mode == "" || strings.EqualFold(mode, "Verify"):
	case strings.EqualFold(mode, "InsecureSkipVerify"):
		c.InsecureSkipVerify = true
	case strings.EqualFold(mode, "Plaintext"):
		c.Plaintext = true
	default:
		return c, fmt.Errorf("the secret %s is %q; it is Verify, InsecureSkipVerify or Plaintext", SecretLDAPTLS, mode)
	}
	return c, nil
}

// ldapSources is the registry entry of an LDAP directory of flavor f.
func ldapSources(f ldapsource.Flavor, guard *netguard.Guard) jobs.SourceFactory {
	return func(_ context.Context, c jobs.Config) (connector.Source, error) {
		cfg, err := LDAPConfig(c.Secrets, f)
		if err != nil {
			return nil, err
		}
		if guard != nil { // the SCIM targets' guard: provisiond itself, cloud metadata, --target-networks
			cfg.Control = guard.Control
		}
		src, err := ldapsource.New(cfg)
		if err != nil {
			return nil, errors.New(strings.TrimSuffix(err.Error(), "."))
		}
		return src, nil
	}
}

package ldapsource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// Flavor is the kind of directory server, which decides the anchor, the
// object classes and the change feed.
type Flavor int

const (
	// FlavorAuto reads the flavor from the server's root DSE.
	FlavorAuto Flavor = iota
	FlavorOpenLDAP
	FlavorAD
)

func (f Flavor) String() string {
	switch f {
	case FlavorOpenLDAP:
		return "OpenLDAP"
	case FlavorAD:
		return "Active Directory"
	}
	return "auto"
}

// Config says where the directory is and how to bind to it.
type Config struct {
	// URL is ldap://host[:port] (StartTLS unless Plaintext) or
	// ldaps://host[:port].
	URL string
	// BindDN and Password are the simple bind's credentials; AD also takes
	// a user principal name (admin@example.com) as BindDN.
	BindDN, Password string
	// BaseDNs are the containers searched (subtree); at least one.
	BaseDNs []string
	// Domain is the directory's DNS domain (informational; templates build
	// user principal names from it).
	Domain string
	// CAFile or CAPEM holds the CA certificates that sign the server's
	// certificate; neither means the system's roots.
	CAFile string
	CAPEM  []byte
	// InsecureSkipVerify accepts any server certificate (tests only).
	InsecureSkipVerify bool
	// Plaintext sends ldap:// traffic, the password included, without
	// StartTLS (tests only).
	Plaintext bool
	// Flavor is FlavorAuto to detect it.
	Flavor Flavor
	// Name is the system name in provisioning logs; empty: "Active
	// Directory" for AD, the server's host name otherwise.
	Name string
	// Timeout bounds every call to the server (default 30 s); a caller's
	// earlier deadline wins.
	Timeout time.Duration
	// PoolSize is how many idle connections are kept (default 4).
	PoolSize int
	// Control, when set, is the dialer's net.Dialer.Control: it sees every
	// address dialled, resolved, and may refuse it (a network guard).
	Control func(network, address string, c syscall.RawConn) error
}

const defaultTimeout = 30 * time.Second

// parsed is a checked Config.
type parsed struct {
	Config
	u        *url.URL
	tls      *tls.Config
	bases    []string
	startTLS bool
}

func (c Config) parse() (*parsed, error) {
	if c.URL == "" {
		return nil, errors.New("the server address is not set (ldap://host:port or ldaps://host:port)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps") {
		return nil, fmt.Errorf("the server address %q is not ldap://host:port or ldaps://host:port", c.URL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("the server address %q has a path; give the containers as base DNs", c.URL)
	}
	if c.BindDN == "" || c.Password == "" {
		return nil, errors.New("the bind DN (or user principal name) and its password must both be set")
	}
	var bases []string
	for _, b := range c.BaseDNs {
		if b = strings.TrimSpace(b); b != "" {
			if !strings.Contains(b, "=") {
				return nil, fmt.Errorf("the container %q is not a distinguished name (e.g. ou=people,dc=example,dc=com)", b)
			}
			bases = append(bases, b)
		}
	}
	if len(bases) == 0 {
		return nil, errors.New("no container (base DN) to search is set")
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 4
	}
	tc := &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // an explicit test-only choice
	pem := c.CAPEM
	if c.CAFile != "" {
		if pem, err = os.ReadFile(c.CAFile); err != nil {
			return nil, fmt.Errorf("read the CA file: %w", err)
		}
	}
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("the CA certificate holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if c.Plaintext && u.Scheme == "ldaps" {
		return nil, errors.New("plaintext was asked for an ldaps:// address")
	}
	return &parsed{Config: c, u: u, tls: tc, bases: bases, startTLS: u.Scheme == "ldap" && !c.Plaintext}, nil
}

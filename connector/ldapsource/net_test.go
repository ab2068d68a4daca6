package ldapsource_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/ldapsource"
	"provisiond/netguard"
)

// proxy forwards TCP connections to addr until cut closes them all.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

// cut closes every connection through the proxy, as a server restart or a
// firewall dropping idle connections would.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A pooled connection the network dropped is replaced: the next call
// dials again and succeeds (StartTLS verified through the proxy: the
// certificate names 127.0.0.1).
func TestReconnect(t *testing.T) {
	srv := slapd(t)
	ou := srv.ou(t)
	dn := srv.user(t, ou, "Ada", userAttrs(srv, "ada@example.com"))
	u, _ := url.Parse(srv.cfg.URL)
	p := newProxy(t, u.Host)
	cfg := srv.cfg
	cfg.URL, cfg.BaseDNs, cfg.Flavor = "ldap://"+p.ln.Addr().String(), []string{ou}, ldapsource.FlavorOpenLDAP
	src, err := ldapsource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// Whether the client has seen the close when it next calls (a pooled
	// connection known to be closed) or not (a request on a dead
	// connection, retried on a fresh one), the call succeeds.
	for i := range 10 {
		if _, err := src.Get(ctx(t), "user", dn); err != nil {
			t.Fatalf("Get #%d = %v", i, err)
		}
		p.cut()
		if i%2 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// A server that accepts connections and never answers costs a call no
// more than the configured timeout, and the error is transient.
func TestUnresponsiveServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	for _, tt := range []struct {
		name string
		url  string
		f    ldapsource.Flavor
	}{{"StartTLS", "ldap://", ldapsource.FlavorOpenLDAP}, {"plaintext bind", "ldap://", ldapsource.FlavorOpenLDAP}, {"ldaps", "ldaps://", ldapsource.FlavorAD}} {
		cfg := ldapsource.Config{URL: tt.url + ln.Addr().String(), BindDN: "cn=admin", Password: "pw", BaseDNs: []string{"dc=example,dc=com"},
			Timeout: 300 * time.Millisecond, Flavor: tt.f, Plaintext: tt.name == "plaintext bind"}
		src, err := ldapsource.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = src.Test(ctx(t))
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: Test took %v with a 300 ms timeout", tt.name, took)
		}
		if connector.KindOf(err) != connector.KindTransient {
			t.Errorf("%s: Test() = %v, want KindTransient", tt.name, err)
		}
		if _, err := src.Get(ctx(t), "user", "cn=x,dc=example,dc=com"); connector.KindOf(err) != connector.KindTransient {
			t.Errorf("%s: Get() = %v, want KindTransient", tt.name, err)
		}
	}
}

// TestGuardRefusesTheServer: with a network guard (Config.Control), a
// server address the guard forbids — here provisiond's own listen
// address — is never dialled, and the error is permanent and says why.
func TestGuardRefusesTheServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	guard := netguard.New(nil, netip.MustParseAddrPort(ln.Addr().String()))
	src, err := ldapsource.New(ldapsource.Config{URL: "ldap://" + ln.Addr().String(), BindDN: "cn=admin", Password: "pw",
		BaseDNs: []string{"dc=example,dc=com"}, Timeout: time.Second, Flavor: ldapsource.FlavorOpenLDAP, Plaintext: true, Control: guard.Control})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Test(ctx(t))
	if connector.KindOf(err) != connector.KindInvalid || !errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), "the LDAP server's address "+ln.Addr().String()+" is provisiond's own listen address; provisiond never calls itself") {
		t.Errorf("Test() = %v (kind %v), want a permanent refusal saying why", err, connector.KindOf(err))
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the refused server got %d connections", n)
	}
}

// A server that accepts the connection and never answers is reported as
// not answering in time, not as a failed StartTLS that blames the CA
// certificate; one that hangs up on ldaps:// is said to fail TLS, with
// the hint that it may serve plain LDAP.
func TestSilentAndPlainServers(t *testing.T) {
	serve := func(handle func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go handle(c)
			}
		}()
		return ln.Addr().String()
	}
	test := func(url string) error {
		src, err := ldapsource.New(ldapsource.Config{URL: url, BindDN: "cn=admin", Password: "pw",
			BaseDNs: []string{"dc=example,dc=com"}, Timeout: 500 * time.Millisecond, Flavor: ldapsource.FlavorOpenLDAP})
		if err != nil {
			t.Fatal(err)
		}
		return src.Test(ctx(t))
	}
	held := make(chan net.Conn, 4)
	t.Cleanup(func() {
		close(held)
		for c := range held {
			c.Close()
		}
	})
	silent := serve(func(c net.Conn) { held <- c })
	err := test("ldap://" + silent) // StartTLS first
	if connector.KindOf(err) != connector.KindTransient || !strings.Contains(err.Error(), "StartTLS to "+silent+" did not finish in time") ||
		strings.Contains(err.Error(), "CA certificate") {
		t.Errorf("a silent server: %v (kind %v), want a transient error saying StartTLS did not finish in time", err, connector.KindOf(err))
	}

	plain := serve(func(c net.Conn) { // reads the ClientHello, no LDAP message, and hangs up
		_, _ = c.Read(make([]byte, 512))
		c.Close()
	})
	err = test("ldaps://" + plain)
	if !strings.Contains(err.Error(), "TLS with "+plain+" failed: the server closed the connection during the handshake; if it serves plain LDAP there, use ldap://") {
		t.Errorf("ldaps:// to a server that hangs up: %v, want a TLS failure hinting at plain LDAP", err)
	}
}

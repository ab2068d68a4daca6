package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is matched by every refusal (errors.Is).
var ErrRefused = errors.New("netguard: address refused")

// RefusedError is a refused address and the rule that refused it.
type RefusedError struct {
	Addr string // "169.254.169.254", or with the port when the rule is about it
	// Rule says why, completing "the address A ...", e.g. "is link-local
	// (cloud metadata); provisiond never calls it".
	Rule string
}

// Error says which address was refused and why; callers that know whose
// address it is (a target's, an LDAP server's) say so with Of.
func (e *RefusedError) Error() string { return e.Of("the address") }

// Of is the refusal, naming the address as whose, such as "the target
// address".
func (e *RefusedError) Of(whose string) string {
	return fmt.Sprintf("%s %s %s", whose, e.Addr, e.Rule)
}

// Is reports whether target is ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// metadata are cloud metadata addresses outside the link-local ranges.
var metadata = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"), // AWS instance metadata over IPv6
}

// Guard decides which addresses may be called. The zero value refuses only
// what every guard refuses. It is safe for concurrent use.
type Guard struct {
	allow []netip.Prefix      // empty: every network
	self  []netip.AddrPort    // provisiond's listen addresses
	local func() []netip.Addr // this host's addresses, for an unspecified listen address
}

// New returns a guard that allows only addresses inside allow (every
// address when allow is empty) and refuses the listen addresses given. An
// unspecified listen address (0.0.0.0:8080, [::]:8080) stands for every
// address of this host with that port.
func New(allow []netip.Prefix, listen ...netip.AddrPort) *Guard {
	return &Guard{allow: allow, self: listen, local: hostAddrs}
}

// ParseNetworks reads a comma-separated list of CIDR prefixes, such as the
// value of provisiond serve --target-networks; "" is none.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network in CIDR notation (such as 10.20.0.0/16 or fd00::/8)", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Check returns a *RefusedError when the guard forbids calling ap, else nil.
func (g *Guard) Check(ap netip.AddrPort) error {
	ip := ap.Addr().Unmap().WithZone("")
	refuse := func(rule string) error { return &RefusedError{Addr: ip.String(), Rule: rule} }
	switch {
	case !ip.IsValid():
		return refuse("is not an IP address; provisiond calls only addresses it can check")
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return refuse("is link-local (cloud metadata); provisiond never calls it")
	case isMetadata(ip):
		return refuse("is a cloud metadata address; provisiond never calls it")
	case ip.IsUnspecified():
		return refuse("is unspecified (it reaches this host); provisiond never calls it")
	case g.isSelf(ip, ap.Port()):
		return &RefusedError{Addr: netip.AddrPortFrom(ip, ap.Port()).String(),
			Rule: "is provisiond's own listen address; provisiond never calls itself"}
	case len(g.allow) > 0 && !g.allowed(ip):
		return refuse(fmt.Sprintf("is outside the target networks this provisiond allows (%s); provisiond does not call it", g.networks()))
	}
	return nil
}

func isMetadata(ip netip.Addr) bool {
	for _, m := range metadata {
		if ip == m {
			return true
		}
	}
	return false
}

func (g *Guard) isSelf(ip netip.Addr, port uint16) bool {
	for _, s := range g.self {
		if s.Port() != port {
			continue
		}
		lip := s.Addr().Unmap().WithZone("")
		if lip == ip {
			return true
		}
		if lip.IsUnspecified() && (ip.IsLoopback() || g.isLocal(ip)) {
			return true
		}
	}
	return false
}

func (g *Guard) isLocal(ip netip.Addr) bool {
	if g.local == nil {
		return false
	}
	for _, a := range g.local() {
		if a == ip {
			return true
		}
	}
	return false
}

func (g *Guard) allowed(ip netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *Guard) networks() string {
	s := make([]string, len(g.allow))
	for i, p := range g.allow {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// hostAddrs lists the addresses of this host's interfaces.
func hostAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap().WithZone(""))
		}
	}
	return out
}

// CheckURL checks a URL whose host is a literal IP address (a name is
// checked once resolved, when it is dialled): the early, clear refusal.
func (g *Guard) CheckURL(u *url.URL) error {
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return nil // not a URL anything can dial
		}
	}
	return g.Check(netip.AddrPortFrom(ip, uint16(port)))
}

// Control is a net.Dialer.Control that refuses a connection to a forbidden
// address; it sees the address after DNS resolution.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Addr: address, Rule: "cannot be checked; provisiond calls only addresses it can check"}
	}
	return g.Check(ap)
}

// Transport returns an http.Transport whose every connection passes the
// guard. It uses no proxy: through a proxy the guard would check the
// proxy's address, not the target's.
func (g *Guard) Transport() *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// CheckRedirect is an http.Client.CheckRedirect that refuses a redirect to
// a forbidden literal address before it is followed (a name is checked when
// dialled), and more than 10 redirects.
func (g *Guard) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return g.CheckURL(req.URL)
}

// Client returns an http.Client over Transport that checks redirects with
// CheckRedirect.
func (g *Guard) Client() *http.Client {
	return &http.Client{Transport: g.Transport(), CheckRedirect: g.CheckRedirect}
}

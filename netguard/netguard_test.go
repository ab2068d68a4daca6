package netguard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheck(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:8080")
	everywhere := New(nil, self)
	anyIface := &Guard{self: []netip.AddrPort{netip.MustParseAddrPort("[::]:9000")},
		local: func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("192.0.2.7")} }}
	tenOnly := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16")}, self)
	tests := []struct {
		g    *Guard
		addr string
		want string // "" for allowed
	}{
		{everywhere, "169.254.169.254:80", "the address 169.254.169.254 is link-local (cloud metadata); provisiond never calls it"},
		{everywhere, "[fe80::1%eth0]:443", "the address fe80::1 is link-local (cloud metadata)"},
		{everywhere, "[::ffff:169.254.169.254]:80", "the address 169.254.169.254 is link-local"},
		{everywhere, "[fd00:ec2::254]:80", "the address fd00:ec2::254 is a cloud metadata address"},
		{everywhere, "0.0.0.0:8080", "the address 0.0.0.0 is unspecified"},
		{everywhere, "[::]:80", "the address :: is unspecified"},
		{everywhere, "127.0.0.1:8080", "the address 127.0.0.1:8080 is provisiond's own listen address; provisiond never calls itself"},
		{everywhere, "[::ffff:127.0.0.1]:8080", "the address 127.0.0.1:8080 is provisiond's own listen address"},
		{everywhere, "127.0.0.1:9090", ""}, // a test target next to provisiond
		{everywhere, "[::1]:8080", ""},     // not where provisiond listens
		{everywhere, "10.1.2.3:443", ""},
		{everywhere, "203.0.113.9:443", ""},
		{anyIface, "127.0.0.1:9000", "the address 127.0.0.1:9000 is provisiond's own listen address"},
		{anyIface, "[::1]:9000", "the address [::1]:9000 is provisiond's own listen address"},
		{anyIface, "192.0.2.7:9000", "the address 192.0.2.7:9000 is provisiond's own listen address"},
		{anyIface, "192.0.2.7:9001", ""},
		{tenOnly, "10.1.2.3:443", ""},
		{tenOnly, "192.168.1.1:443", "the address 192.168.1.1 is outside the target networks this provisiond allows (10.0.0.0/8, 169.254.0.0/16); provisiond does not call it"},
		{tenOnly, "127.0.0.1:9090", "the address 127.0.0.1 is outside the target networks"},
		{tenOnly, "169.254.169.254:80", "is link-local"}, // never, even when listed
		{&Guard{}, "169.254.169.254:80", "is link-local"},
		{&Guard{}, "127.0.0.1:8080", ""},
	}
	for _, tc := range tests {
		err := tc.g.Check(netip.MustParseAddrPort(tc.addr))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%s) = %v, want allowed", tc.addr, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrRefused)):
			t.Errorf("Check(%s) = %v, want a refusal saying %q", tc.addr, err, tc.want)
		}
	}
}

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks(" 10.1.2.3/8, fd00::/8 ,")
	if err != nil || len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "fd00::/8" {
		t.Errorf("ParseNetworks = %v, %v", got, err)
	}
	if got, err := ParseNetworks(""); got != nil || err != nil {
		t.Errorf(`ParseNetworks("") = %v, %v`, got, err)
	}
	for _, bad := range []string{"10.0.0.1", "10.0.0.0/33", "example.com/8", "10.0.0.0/8;"} {
		if _, err := ParseNetworks(bad); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("ParseNetworks(%q) = %v, want an error about CIDR notation", bad, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	g := New(nil, netip.MustParseAddrPort("127.0.0.1:443"))
	for raw, want := range map[string]string{
		"http://169.254.169.254/latest/meta-data": "is link-local",
		"https://127.0.0.1/scim":                  "own listen address", // the default port of https
		"http://127.0.0.1/scim":                   "",
		"https://[fe80::1]:8443/":                 "is link-local",
		"https://scim.example.com/":               "", // a name: checked when dialled
	} {
		u, _ := url.Parse(raw)
		err := g.CheckURL(u)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%s) = %v, want %q", raw, err, want)
		}
	}
}

// counting is a test server that counts the requests it gets.
func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// The dial-time check refuses a forbidden address whatever name led to it:
// here "localhost", which only DNS turns into provisiond's own address.
func TestClientRefusesAtDialTime(t *testing.T) {
	self, n := counting(t, nil)
	ap := netip.MustParseAddrPort(strings.TrimPrefix(self.URL, "http://"))
	c := New(nil, ap).Client()
	for _, target := range []string{self.URL, "http://localhost:" + strings.Split(ap.String(), ":")[1] + "/v1.0/users"} {
		resp, err := c.Get(target)
		if err == nil {
			resp.Body.Close()
		}
		var re *RefusedError
		if !errors.Is(err, ErrRefused) || !errors.As(err, &re) || !strings.Contains(re.Rule, "own listen address") {
			t.Errorf("GET %s = %v, want a refusal of the listen address", target, err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("the refused server got %d requests", n.Load())
	}

	other, m := counting(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	resp, err := c.Get(other.URL)
	if err != nil {
		t.Fatalf("GET another loopback server: %v", err)
	}
	resp.Body.Close()
	if m.Load() != 1 {
		t.Errorf("the allowed server got %d requests, want 1", m.Load())
	}
}

// A redirect to a forbidden address is refused, by URL or at dial time.
func TestClientChecksRedirects(t *testing.T) {
	self, n := counting(t, nil)
	ap := netip.MustParseAddrPort(strings.TrimPrefix(self.URL, "http://"))
	c := New(nil, ap).Client()
	for _, loc := range []string{"http://169.254.169.254/latest/meta-data/", "http://localhost:" + strings.Split(ap.String(), ":")[1] + "/v1.0/users"} {
		redirector, _ := counting(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, loc, http.StatusFound) })
		resp, err := c.Get(redirector.URL + "/scim/Users")
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("redirect to %s: %v, want a refusal", loc, err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("the refused server got %d requests", n.Load())
	}
}

// FuzzParseNetworks checks that any flag value either fails or yields
// prefixes that print and parse back the same.
func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.0/8,fd00::/8", "", ",", "::ffff:1.2.3.4/128", "1.2.3.4/-1", "fe80::%eth0/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseNetworks(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			again, err := netip.ParsePrefix(p.String())
			if err != nil || again != p {
				t.Fatalf("ParseNetworks(%q) gave %v, which reads back as %v, %v", s, p, again, err)
			}
		}
	})
}

// FuzzControl checks that any dialled address string is either allowed or
// refused with a RefusedError, never a panic.
func FuzzControl(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:443", "169.254.169.254:80", "[fe80::1%lo]:80", "garbage", ":80", "[::ffff:0.0.0.0]:1"} {
		f.Add(s)
	}
	g := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, netip.MustParseAddrPort("127.0.0.1:8080"))
	f.Fuzz(func(t *testing.T, addr string) {
		err := g.Control("tcp", addr, nil)
		var re *RefusedError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("Control(%q) = %v, not a RefusedError", addr, err)
		}
		if ap, perr := netip.ParseAddrPort(addr); perr != nil && err == nil {
			t.Fatalf("Control(%q) allowed an address it cannot parse", addr)
		} else if perr == nil && !g.allowed(ap.Addr().Unmap()) && err == nil {
			t.Fatalf("Control(%q) allowed an address outside 127.0.0.0/8", addr)
		}
	})
}

package scim_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimserver"
	"provisiond/netguard"
)

// A base address at a forbidden literal IP is refused by New.
func TestGuardRefusesBaseAddress(t *testing.T) {
	g := netguard.New(nil)
	_, err := scim.New(scim.Config{BaseAddress: "http://169.254.169.254/latest/meta-data", Guard: g})
	if !errors.Is(err, netguard.ErrRefused) ||
		!strings.Contains(err.Error(), "the target address 169.254.169.254 is link-local (cloud metadata); provisiond never calls it") {
		t.Errorf("New = %v, want the link-local refusal", err)
	}
	if _, err := scim.New(scim.Config{BaseAddress: "http://127.0.0.1:9/scim", Guard: g}); err != nil {
		t.Errorf("New(loopback test target) = %v, want it allowed", err)
	}
}

// A name that resolves to a forbidden address is refused when dialled,
// as a permanent error with the guard's message, without retries.
func TestGuardRefusesAtDialTime(t *testing.T) {
	var n atomic.Int32
	self := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		scimserver.New(scimserver.Options{}).ServeHTTP(w, r)
	}))
	t.Cleanup(self.Close)
	ap := netip.MustParseAddrPort(strings.TrimPrefix(self.URL, "http://"))
	c, err := scim.New(scim.Config{BaseAddress: "http://localhost:" + strings.Split(ap.String(), ":")[1] + "/v1.0",
		Guard: netguard.New(nil, ap)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Test(t.Context())
	var ce *connector.Error
	want := "the target address " + ap.String() + " is provisiond's own listen address; provisiond never calls itself"
	if !errors.As(err, &ce) || ce.Kind != connector.KindInvalid || ce.Code != scim.CodeAddressRefused ||
		!strings.Contains(ce.Message, want) || !errors.Is(err, netguard.ErrRefused) {
		t.Errorf("Test = %v, want KindInvalid %s saying %q", err, scim.CodeAddressRefused, want)
	}
	if n.Load() != 0 {
		t.Errorf("provisiond's own address got %d requests", n.Load())
	}
}

// A redirect to a forbidden address is not followed.
func TestGuardChecksRedirects(t *testing.T) {
	hs := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect))
	t.Cleanup(hs.Close)
	c, err := scim.New(scim.Config{BaseAddress: hs.URL, Guard: netguard.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(t.Context(), "User", "1")
	if connector.KindOf(err) != connector.KindInvalid || !errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), "is link-local") {
		t.Errorf("Get = %v, want the link-local refusal", err)
	}
}

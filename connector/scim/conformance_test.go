package scim_test

import (
	"net/http/httptest"
	"testing"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimtest"
)

func newClient(t *testing.T, base, token string) *scim.Client {
	t.Helper()
	c, err := scim.New(scim.Config{BaseAddress: base, SecretToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformanceScimtest(t *testing.T) {
	srv := httptest.NewServer(scimtest.NewServer(scimtest.Options{Token: "s3cret"}))
	t.Cleanup(srv.Close)
	connectortest.RunTarget(t, func(t *testing.T) connector.Target { return newClient(t, srv.URL, "s3cret") })
}

// TestConformanceSCIMMY runs the suite against the third-party SCIMMY
// server (scripts/scimmy). Where SCIMMY differs from the in-process server
// the client copes, so the suite is the same:
//   - duplicate member adds are stored twice ({"members":[{"value":"a"},
//     {"value":"a"}]}): Flatten lists each member once, and a filtered
//     remove drops every copy;
//   - `replace` on a filtered path with no matching element is 400 noTarget:
//     Update reads the user first and sends `add` for new elements;
//   - booleans must be JSON booleans ("True" is 400): the client converts;
//   - removing an absent member answers 204, an unknown member id is
//     accepted, PATCH of a group answers 200 with the group;
//   - its filters compare strings case-sensitively, so the glue
//     (server.js) lower-cases userName/displayName to honour caseExact=false.
func TestConformanceSCIMMY(t *testing.T) {
	base, token := scimtest.StartSCIMMY(t)
	connectortest.RunTarget(t, func(t *testing.T) connector.Target { return newClient(t, base+"/", token) })
}

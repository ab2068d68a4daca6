package graphapi

import (
	"net/http"
	"sync"
	"testing"
)

// Concurrent PATCHes of one user's different properties all take effect:
// each write reads what the one before it stored (resource.edit).
func TestConcurrentPatchesKeepEveryChange(t *testing.T) {
	a := newAPITest(t)
	props := []string{"jobTitle", "department", "officeLocation", "city", "state", "country",
		"postalCode", "companyName", "mobilePhone", "streetAddress"}
	for round := range 5 {
		id := a.createUser("racer" + string(rune('a'+round)) + "@contoso.com")
		var wg sync.WaitGroup
		for _, p := range props {
			wg.Go(func() {
				if res := a.call("PATCH", "/v1.0/users/"+id, map[string]any{p: "set"}); res.status != http.StatusNoContent {
					t.Errorf("PATCH %s: %d %s", p, res.status, res.body)
				}
			})
		}
		wg.Wait()
		got := a.must(http.StatusOK, "GET", "/v1.0/users/"+id, nil).object(t)
		for _, p := range props {
			if got[p] != "set" {
				t.Errorf("round %d: %s = %v after its PATCH answered 204", round, p, got[p])
			}
		}
	}
}

// A PATCH that races a DELETE either lands before it or finds nothing:
// a deleted user or group never comes back.
func TestPatchRacingDeleteDoesNotResurrect(t *testing.T) {
	a := newAPITest(t)
	for round := range 10 {
		paths := []string{
			"/v1.0/users/" + a.createUser("gone"+string(rune('a'+round))+"@contoso.com"),
			"/v1.0/groups/" + a.createGroup("Gone-"+string(rune('a'+round))),
		}
		for _, path := range paths {
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					res := a.call("PATCH", path, map[string]any{"displayName": "Renamed " + string(rune('0'+i))})
					if res.status != http.StatusNoContent && res.status != http.StatusNotFound {
						t.Errorf("PATCH %s: %d %s", path, res.status, res.body)
					}
				})
			}
			wg.Go(func() {
				if res := a.call("DELETE", path, nil); res.status != http.StatusNoContent {
					t.Errorf("DELETE %s: %d %s", path, res.status, res.body)
				}
			})
			wg.Wait()
			if res := a.call("GET", path, nil); res.status != http.StatusNotFound {
				t.Errorf("round %d: GET %s after its DELETE answered 204: %d %s", round, path, res.status, res.body)
			}
		}
	}
}

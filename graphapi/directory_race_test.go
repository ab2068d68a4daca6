package graphapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"provisiond/store/sqlstore"
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

// Concurrent PATCHes through two servers on one database (two nodes) all
// take effect too: the read and the write of each are one store
// transaction, not a lock of one process.
func TestPatchesThroughTwoNodesKeepEveryChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "provisiond.db")
	var nodes []*httptest.Server
	for range 2 {
		st, err := sqlstore.OpenSQLite(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		hs := httptest.NewServer(New(Config{Store: st, Auth: &fakeAuth{def: adminPrincipal}, Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(hs.Close)
		nodes = append(nodes, hs)
	}
	send := func(node int, method, p string, body any) (int, []byte) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, nodes[node].URL+p, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		res, err := nodes[node].Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	props := []string{"jobTitle", "department", "officeLocation", "city", "state", "country",
		"postalCode", "companyName", "mobilePhone", "streetAddress"}
	for round := range 5 {
		status, b := send(0, "POST", "/v1.0/users", newUser(fmt.Sprintf("node%d@contoso.com", round)))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, b)
		}
		var u map[string]any
		_ = json.Unmarshal(b, &u)
		userPath := "/v1.0/users/" + u["id"].(string)
		var wg sync.WaitGroup
		for i, p := range props {
			wg.Go(func() {
				if status, b := send(i%2, "PATCH", userPath, map[string]any{p: "set"}); status != http.StatusNoContent {
					t.Errorf("PATCH %s: %d %s", p, status, b)
				}
			})
		}
		wg.Wait()
		_, b = send(1, "GET", userPath, nil)
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		for _, p := range props {
			if got[p] != "set" {
				t.Errorf("round %d: %s = %v after its PATCH answered 204", round, p, got[p])
			}
		}
	}
}

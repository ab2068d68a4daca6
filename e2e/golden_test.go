package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// uuidRE finds ids; the ones provisiond mints in tests are sequential and
// stable, the SCIM server's are random and get scrubbed.
var (
	uuidRE   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	stableRE = regexp.MustCompile(`^00000000-0000-4000-8000-\d{12}$`)
)

// golden compares the last provisionOnDemand key and value strings, in
// their own key order, with a golden file.
func golden(t *testing.T, e *env, name string) {
	t.Helper()
	var buf bytes.Buffer
	for _, raw := range []string{e.lastKey, e.lastValue} {
		if err := json.Indent(&buf, []byte(raw), "", "  "); err != nil {
			t.Fatalf("not JSON: %v: %s", err, raw)
		}
		buf.WriteByte('\n')
	}
	got := buf.Bytes()
	seen := map[string]string{}
	got = uuidRE.ReplaceAllFunc(got, func(id []byte) []byte {
		if stableRE.Match(id) {
			return id
		}
		if _, ok := seen[string(id)]; !ok {
			seen[string(id)] = fmt.Sprintf("<target-id-%d>", len(seen)+1)
		}
		return []byte(seen[string(id)])
	})
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -run Golden -update to create it)", err)
	}
	if d := cmp.Diff(string(bytes.TrimSpace(want)), string(bytes.TrimSpace(got))); d != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, d)
	}
}

// TestGoldenOnDemand pins the response shapes — key and value JSON, step
// names, types, statuses and detail keys — with injected time and ids.
func TestGoldenOnDemand(t *testing.T) {
	e := newEnv(t, options{fixed: true})
	e.setupApp()
	mk := func(given, sur string) string {
		nick := given + "." + sur
		m := e.do("POST", "/users", map[string]any{"accountEnabled": true, "displayName": given + " " + sur, "givenName": given,
			"surname": sur, "mailNickname": nick, "userPrincipalName": nick + "@contoso.test", "mail": nick + "@contoso.test",
			"jobTitle": "Analyst", "department": "Finance"}, 201)
		return m["id"].(string)
	}
	ada := mk("Ada", "Lovelace")
	e.assign(ada)
	e.onDemand(userSubject(ada))
	golden(t, e, "user_create")
	e.onDemand(userSubject(ada))
	golden(t, e, "user_redundant")
	e.do("PATCH", "/users/"+ada, map[string]any{"jobTitle": "Mathematician"}, 204)
	e.onDemand(userSubject(ada))
	golden(t, e, "user_update")

	grace := mk("Grace", "Hopper")
	e.onDemand(userSubject(grace))
	golden(t, e, "user_not_entitled")

	g := e.do("POST", "/groups", map[string]any{"displayName": "Analysts", "mailEnabled": false, "mailNickname": "analysts", "securityEnabled": true}, 201)
	gid := g["id"].(string)
	for _, u := range []string{ada, grace} {
		e.do("POST", "/groups/"+gid+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u}, 204)
	}
	e.assign(gid)
	e.onDemand(map[string]any{"objectId": gid, "objectTypeName": "Group",
		"links": map[string]any{"members": []any{userSubject(ada), userSubject(grace)}}})
	golden(t, e, "group_create")
}

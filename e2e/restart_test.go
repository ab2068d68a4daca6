package e2e

import (
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
)

// Restarting provisiond does not add cycles: each start resumes a started
// job with a cycle, and after any cycle the job has exactly one cycle
// scheduled for its interval, not one more per restart (which would run
// the job once per interval for every restart it went through).
func TestRestartsKeepOneIntervalCycle(t *testing.T) {
	bin := buildProvisiond(t)
	const token = "restart-test-token"
	ts := httptest.NewServer(scimtest.NewServer(scimtest.Options{Options: scimserver.Options{Token: token}}))
	t.Cleanup(ts.Close)
	d := &daemon{t: t, bin: bin, data: t.TempDir()}
	d.start()
	t.Cleanup(d.killIfRunning)
	api := d.client()
	u := api.must("POST", "/users", map[string]any{"accountEnabled": true, "displayName": "Restart User",
		"mailNickname": "restart.user", "userPrincipalName": "restart.user@contoso.test"}, 201)
	inst := api.must("POST", "/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate", map[string]any{"displayName": "Restart App"}, 201)
	spID := inst["servicePrincipal"].(map[string]any)["id"].(string)
	jobID := api.must("POST", "/servicePrincipals/"+spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}, 201)["id"].(string)
	api.must("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": []map[string]string{
		{"key": "BaseAddress", "value": ts.URL}, {"key": "SecretToken", "value": token}}}, 204)
	api.must("POST", "/servicePrincipals/"+spID+"/appRoleAssignedTo", map[string]any{
		"principalId": u["id"], "resourceId": spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}, 201)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	api.must("POST", jobPath+"/start", nil, 204)

	// lastCycle waits until a cycle other than prev has ended, and returns
	// its activity id.
	lastCycle := func(prev string) string {
		t.Helper()
		api := d.client()
		deadline := time.Now().Add(15 * time.Second)
		for {
			st := api.must("GET", jobPath, nil, 200)["status"].(map[string]any)
			if le, ok := st["lastExecution"].(map[string]any); ok && le["activityIdentifier"] != prev {
				return fmt.Sprint(le["activityIdentifier"])
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new cycle ended within 15s of the start: status %v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	cycle := lastCycle("")
	for range 3 {
		// Restarts seconds apart, as in life: River would merge cycles
		// scheduled for the same second.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		d.stop()
		d.start()
		cycle = lastCycle(cycle)
	}
	d.stop()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.data, "provisiond.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'provisiond_cycle' AND state = 'scheduled' AND args ->> 'job' = ?`, jobID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("after 3 restarts the job has %d cycles scheduled for later, want 1", n)
	}
}

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestGUIDsInAnyCase: Graph takes a GUID in any case; so does provisiond,
// in paths, in key syntax, in an assignment's principalId and in
// provisionOnDemand's objectId and ruleId.
func TestGUIDsInAnyCase(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	id, _ := e.user("Upper", "Case")
	up := strings.ToUpper(id)
	a := e.do("POST", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo", map[string]any{
		"principalId": up, "resourceId": strings.ToUpper(e.spID), "appRoleId": "00000000-0000-0000-0000-000000000000"}, 201)
	if a["principalId"] != id {
		t.Errorf("an assignment made with principalId in upper case = %v, want %s", a["principalId"], id)
	}
	for p, want := range map[string]string{"/users/" + up: id, "/users('" + up + "')": id, "/servicePrincipals/" + strings.ToUpper(e.spID): e.spID} {
		if got := e.do("GET", p, nil, 200)["id"]; got != want {
			t.Errorf("GET %s = id %v, want %s", p, got, want)
		}
	}
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	res := e.do("POST", path, map[string]any{"parameters": []any{map[string]any{"ruleId": strings.ToUpper(e.ruleID),
		"subjects": []any{map[string]any{"objectId": up, "objectTypeName": "User"}}}}}, 200)
	var ev struct {
		StatusInfo struct{ Status string } `json:"statusInfo"`
	}
	if v, _ := res["value"].(string); json.Unmarshal([]byte(v), &ev) != nil || ev.StatusInfo.Status != "Success" {
		t.Errorf("provisionOnDemand with upper-case GUIDs = %v", res)
	}
	if n := len(e.scimSrv.Users()); n != 1 {
		t.Errorf("the target holds %d users, want 1", n)
	}
}

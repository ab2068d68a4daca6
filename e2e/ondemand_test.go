package e2e

import (
	"fmt"
	"slices"
	"testing"
)

// targets runs f against each real SCIM target, and once more with the
// PostgreSQL store.
func targets(t *testing.T, f func(t *testing.T, e *env)) {
	for _, tc := range []struct {
		name             string
		scimmy, postgres bool
	}{{"scimtest", false, false}, {"SCIMMY", true, false}, {"postgres", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, options{scimmy: tc.scimmy, postgres: tc.postgres})
			e.setupApp()
			f(t, e)
		})
	}
}

func steps(value map[string]any) []string {
	var out []string
	for _, s := range value["provisioningSteps"].([]any) {
		m := s.(map[string]any)
		out = append(out, fmt.Sprintf("%s/%s/%s", m["name"], m["type"], m["status"]))
	}
	return out
}

func lastStepDetail(value map[string]any, key string) any {
	ss := value["provisioningSteps"].([]any)
	return ss[len(ss)-1].(map[string]any)["details"].(map[string]any)[key]
}

func wantResult(t *testing.T, key, value map[string]any, result, action string) {
	t.Helper()
	if key["result"] != result || value["action"] != action {
		t.Fatalf("result %v action %v, want %s %s\nkey %v\nsteps %v", key["result"], value["action"], result, action, key, steps(value))
	}
	if st := value["statusInfo"].(map[string]any)["status"]; st != result {
		t.Errorf("statusInfo.status = %v, want %s", st, result)
	}
}

func TestOnDemandUserLifecycle(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		id, upn := e.user("Ada", "Lovelace")
		assignment := e.assign(id)

		// 1. Create.
		key, value := e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Create")
		wantSteps := []string{"EntryImport/Import/Success", "EntrySynchronizationScoping/Scoping/Success",
			"EntryImportObjectNotFound/Matching/Success", "EntryExportAdd/Export/Success"}
		if got := steps(value); !slices.Equal(got, wantSteps) {
			t.Errorf("steps = %v, want %v", got, wantSteps)
		}
		hits := e.scimFind("Users", "userName", upn)
		if len(hits) != 1 {
			t.Fatalf("SCIM users with userName %s: %d, want 1", upn, len(hits))
		}
		scimID := hits[0]["id"].(string)
		if hits[0]["active"] != true || hits[0]["displayName"] != "Ada Lovelace" {
			t.Errorf("created SCIM user = %v", hits[0])
		}
		if ti := value["targetIdentity"].(map[string]any)["id"]; ti != scimID {
			t.Errorf("targetIdentity.id = %v, want %s", ti, scimID)
		}

		// 2. Same call again: already in sync.
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Skipped", "Other")
		if d := key["details"].(map[string]any); d["errorCode"] != "RedundantExport" {
			t.Errorf("key details = %v, want RedundantExport", d)
		}
		if r := lastStepDetail(value, "SkipReason"); r != "RedundantExport" {
			t.Errorf("SkipReason = %v", r)
		}

		// 3. A displayName change flows as exactly that modified property.
		e.do("PATCH", "/users/"+id, map[string]any{"displayName": "Ada King"}, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Update")
		mp := value["modifiedProperties"].([]any)
		want := map[string]any{"displayName": "displayName", "oldValue": "Ada Lovelace", "newValue": "Ada King"}
		if len(mp) != 1 || fmt.Sprint(mp[0]) != fmt.Sprint(want) {
			t.Errorf("modifiedProperties = %v, want [%v]", mp, want)
		}
		if got := e.scimGet("Users", scimID)["displayName"]; got != "Ada King" {
			t.Errorf("SCIM displayName = %v", got)
		}

		// 4. Unassigned after being provisioned: disabled in the target.
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+assignment, nil, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Disable")
		if got := e.scimGet("Users", scimID)["active"]; got != false {
			t.Errorf("SCIM active after unassignment = %v, want false", got)
		}
		mp = value["modifiedProperties"].([]any)
		if len(mp) != 1 || mp[0].(map[string]any)["displayName"] != "active" || mp[0].(map[string]any)["newValue"] != "False" {
			t.Errorf("modifiedProperties = %v, want active → False", mp)
		}

		// 5. Never assigned: skipped, nothing written.
		other, otherUPN := e.user("Grace", "Hopper")
		key, value = e.onDemand(userSubject(other))
		wantResult(t, key, value, "Skipped", "Other")
		if d := key["details"].(map[string]any); d["errorCode"] != "NotEffectivelyEntitled" {
			t.Errorf("key details = %v, want NotEffectivelyEntitled", d)
		}
		scoping := value["provisioningSteps"].([]any)[1].(map[string]any)["details"].(map[string]any)
		if scoping["Assigned"] != "False" || scoping["IsEffectivelyEntitledForProvisioning"] != "False" {
			t.Errorf("scoping details = %v", scoping)
		}
		if n := len(e.scimFind("Users", "userName", otherUPN)); n != 0 {
			t.Errorf("unassigned user was written to the target (%d objects)", n)
		}
	})
}

func TestOnDemandGroupWithMembers(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		u1, _ := e.user("Alan", "Turing")
		u2, _ := e.user("Joan", "Clarke")
		name := fmt.Sprintf("Codebreakers %s", e.jobID[len(e.jobID)-6:])
		g := e.do("POST", "/groups", map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": "cb", "securityEnabled": true}, 201)
		gid := g["id"].(string)
		for _, u := range []string{u1, u2} {
			e.do("POST", "/groups/"+gid+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u}, 204)
		}
		e.assign(gid) // members are in scope through the assigned group

		key, value := e.onDemand(map[string]any{"objectId": gid, "objectTypeName": "Group", "links": map[string]any{
			"members": []any{userSubject(u1), userSubject(u2)}}})
		wantResult(t, key, value, "Success", "Create")
		groups := e.scimFind("Groups", "displayName", name)
		if len(groups) != 1 {
			t.Fatalf("SCIM groups named %q: %d, want 1", name, len(groups))
		}
		full := e.scimGet("Groups", groups[0]["id"].(string))
		var members []string
		for _, m := range full["members"].([]any) {
			members = append(members, m.(map[string]any)["value"].(string))
		}
		slices.Sort(members)
		members = slices.Compact(members)
		var want []string
		for _, s := range value["provisioningSteps"].([]any) {
			d := s.(map[string]any)["details"].(map[string]any)
			if d["MembershipAction"] == "Add" {
				want = append(want, d["MemberTargetId"].(string))
			}
		}
		slices.Sort(want)
		if len(want) != 2 || !slices.Equal(members, want) {
			t.Errorf("SCIM group members = %v, want the two provisioned users %v (steps %v)", members, want, steps(value))
		}

		// Again: nothing to do for the group or its members.
		key, value = e.onDemand(map[string]any{"objectId": gid, "objectTypeName": "Group", "links": map[string]any{
			"members": []any{userSubject(u1), userSubject(u2)}}})
		wantResult(t, key, value, "Skipped", "Other")
	})
}

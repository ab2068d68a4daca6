package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"provisiond/store"
)

// provisionOnDemand?dryRun=true takes every step of a real call and says
// what the export would do, but writes nothing: not to the target, not to
// the anchors, not to the provisioning logs.
func TestOnDemandDryRun(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id, upn := e.user("Ada", "Lovelace")
		assignment := e.assign(id)
		logCount := func() int { return len(e.do("GET", "/auditLogs/provisioning", nil, 200)["value"].([]any)) }
		anchor := func() (store.Anchor, bool) {
			a, err := e.st.GetAnchor(ctx, e.jobID, "User", id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			return a, err == nil
		}
		wantDryExport := func(value map[string]any, name, verb string) {
			t.Helper()
			ss := value["provisioningSteps"].([]any)
			last := ss[len(ss)-1].(map[string]any)
			desc := fmt.Sprint(last["description"])
			if last["name"] != name || !strings.Contains(desc, "would be "+verb) || !strings.Contains(desc, "dry run") {
				t.Errorf("export step = %v %q; want %s saying it would be %s (dry run)", last["name"], desc, name, verb)
			}
		}

		// Create: the same steps and modified properties as a real create.
		key, value := e.onDemandQuery(userSubject(id), "?dryRun=true")
		wantResult(t, key, value, "Success", "Create")
		wantSteps := []string{"EntryImport/Import/Success", "EntrySynchronizationScoping/Scoping/Success",
			"EntryImportObjectNotFound/Matching/Success", "EntryExportAdd/Export/Success"}
		if got := steps(value); !slices.Equal(got, wantSteps) {
			t.Errorf("steps = %v, want %v", got, wantSteps)
		}
		wantDryExport(value, "EntryExportAdd", "created")
		if len(value["modifiedProperties"].([]any)) == 0 {
			t.Error("dry-run create lists no modified properties")
		}
		if n := len(e.scimFind("Users", "userName", upn)); n != 0 {
			t.Fatalf("dry run created %d SCIM users", n)
		}
		if _, ok := anchor(); ok {
			t.Fatal("dry run stored an anchor")
		}
		if n := logCount(); n != 0 {
			t.Fatalf("dry run wrote %d provisioning logs", n)
		}

		// Provision for real, then change the user: a dry-run update.
		e.onDemand(userSubject(id))
		before, _ := anchor()
		scimID := e.scimFind("Users", "userName", upn)[0]["id"].(string)
		logs := logCount()
		e.do("PATCH", "/users/"+id, map[string]any{"displayName": "Ada King"}, 204)
		key, value = e.onDemandQuery(userSubject(id), "?dryRun=true")
		wantResult(t, key, value, "Success", "Update")
		wantDryExport(value, "EntryExportUpdate", "updated")
		mp := value["modifiedProperties"].([]any)
		if len(mp) != 1 || mp[0].(map[string]any)["newValue"] != "Ada King" {
			t.Errorf("modifiedProperties = %v, want displayName → Ada King", mp)
		}
		if got := e.scimGet("Users", scimID)["displayName"]; got != "Ada Lovelace" {
			t.Errorf("dry run changed the SCIM displayName to %v", got)
		}
		if after, _ := anchor(); !after.Updated.Equal(before.Updated) || after.TargetID != before.TargetID {
			t.Errorf("dry run touched the anchor: %+v → %+v", before, after)
		}

		// Unassigned: a dry-run disable.
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+assignment, nil, 204)
		key, value = e.onDemandQuery(userSubject(id), "?dryRun=true")
		wantResult(t, key, value, "Success", "Disable")
		wantDryExport(value, "EntryExportUpdateSoftDelete", "disabled")
		if got := e.scimGet("Users", scimID)["active"]; got != true {
			t.Errorf("dry run disabled the SCIM user (active = %v)", got)
		}
		if n := logCount(); n != logs {
			t.Errorf("dry runs wrote provisioning logs: %d → %d", logs, n)
		}
		if after, ok := anchor(); !ok || !after.Updated.Equal(before.Updated) {
			t.Errorf("dry run touched the anchor: %+v → %+v (present %v)", before, after, ok)
		}

		// A bad dryRun value is the caller's mistake.
		status, m, _ := e.send("POST", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/provisionOnDemand?dryRun=maybe",
			map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}, e.token)
		if status != 400 || !strings.Contains(errMessage(m), "dryRun") {
			t.Errorf("dryRun=maybe: status %d %v, want 400 naming dryRun", status, m)
		}
	})
}

package e2e

import (
	"strings"
	"testing"
)

func TestJobsTemplatesSecretsAndCredentials(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		sp := "/servicePrincipals/" + e.spID + "/synchronization"
		tpl := e.do("GET", sp+"/templates", nil, 200)["value"].([]any)
		var tplIDs []string
		for _, x := range tpl {
			tplIDs = append(tplIDs, x.(map[string]any)["id"].(string))
		}
		// In id order, as $top and $skiptoken page them.
		if strings.Join(tplIDs, ",") != "AD2AADProvisioning,LDAP2AADProvisioning,scim" || tpl[2].(map[string]any)["factoryTag"] != "scim" ||
			tpl[2].(map[string]any)["default"] != true || tpl[0].(map[string]any)["default"] != false || tpl[2].(map[string]any)["schema"] != nil {
			t.Errorf("templates = %v, want the two cloud-sync ones and scim (the default), without their schemas", tpl)
		}
		// The query options Graph takes on templates.
		one := e.do("GET", sp+"/templates/scim?$select=factoryTag,default", nil, 200)
		if one["id"] != "scim" || one["factoryTag"] != "scim" || one["default"] != true || one["description"] != nil || one["schema"] != nil ||
			!strings.HasSuffix(one["@odata.context"].(string), "/templates(factoryTag,default)/$entity") {
			t.Errorf("GET template ?$select=factoryTag,default = %v, want id, factoryTag and default alone, and the context saying so", one)
		}
		cloud := e.do("GET", sp+"/templates?$filter=default%20eq%20false&$select=id&$count=true&$top=1", nil, 200)
		if v := cloud["value"].([]any); len(v) != 1 || cloud["@odata.count"] != float64(2) ||
			v[0].(map[string]any)["id"] != "AD2AADProvisioning" || v[0].(map[string]any)["factoryTag"] != nil {
			t.Errorf("GET templates ?$filter=default eq false&$select=id&$count=true&$top=1 = %v, want AD2AADProvisioning alone of a count of 2", cloud)
		}
		ts := e.do("GET", sp+"/templates/scim/schema", nil, 200)
		dirs := e.do("GET", sp+"/templates/scim/schema?$select=directories", nil, 200)
		if dirs["id"] != "scim" || len(dirs["directories"].([]any)) != 2 || dirs["synchronizationRules"] != nil ||
			!strings.HasSuffix(dirs["@odata.context"].(string), "/templates('scim')/schema(directories)/$entity") {
			t.Errorf("GET template schema ?$select=directories = %v, want id and directories alone, and the context saying so", dirs)
		}
		rules := e.do("GET", sp+"/jobs/"+e.jobID+"/schema?$select=synchronizationRules", nil, 200)
		if rules["id"] != e.jobID || len(rules["synchronizationRules"].([]any)) != 1 || rules["directories"] != nil {
			t.Errorf("GET job schema ?$select=synchronizationRules = %v, want id and the rules alone", rules)
		}
		if len(ts["synchronizationRules"].([]any)) != 1 || len(ts["directories"].([]any)) != 2 {
			t.Errorf("template schema = %v", ts)
		}
		jobs := e.do("GET", sp+"/jobs", nil, 200)["value"].([]any)
		if len(jobs) != 1 || !strings.HasPrefix(jobs[0].(map[string]any)["id"].(string), "scim.") {
			t.Errorf("jobs = %v", jobs)
		}
		job := e.do("GET", sp+"/jobs/"+e.jobID, nil, 200)
		if st := job["status"].(map[string]any)["code"]; st != "NotRun" {
			t.Errorf("job status with credentials = %v, want NotRun", st)
		}
		if len(e.jobID) != len("scim.")+32 {
			t.Errorf("job id %q is not scim.{32 hex}", e.jobID)
		}
		// The query options Graph takes on jobs (and the bad ones, on templates too).
		picked := e.do("GET", sp+"/jobs/"+e.jobID+"?$select=status", nil, 200)
		if picked["id"] != e.jobID || picked["status"] == nil || picked["schedule"] != nil || picked["templateId"] != nil ||
			!strings.HasSuffix(picked["@odata.context"].(string), "/jobs(status)/$entity") {
			t.Errorf("GET job ?$select=status = %v, want id and status alone, and the context saying so", picked)
		}
		listed := e.do("GET", sp+"/jobs?$select=templateId&$filter=templateId%20eq%20'scim'&$count=true", nil, 200)
		if v := listed["value"].([]any); len(v) != 1 || listed["@odata.count"] != float64(1) ||
			v[0].(map[string]any)["templateId"] != "scim" || v[0].(map[string]any)["status"] != nil {
			t.Errorf("GET jobs ?$select=templateId&$filter=templateId eq 'scim' = %v, want the job with its id and templateId", listed)
		}
		if none := e.do("GET", sp+"/jobs?$filter=templateId%20eq%20'other'", nil, 200)["value"].([]any); len(none) != 0 {
			t.Errorf("GET jobs ?$filter=templateId eq 'other' = %v, want none", none)
		}
		for _, bad := range []struct{ query, code, mention string }{
			{"/jobs/" + e.jobID + "?$select=nope", "Request_BadRequest", "nope"},
			{"/jobs?$select=nope", "Request_BadRequest", "nope"},
			{"/jobs?$orderby=id", "BadRequest", "$orderby"},
			{"/templates/scim?$select=schemaX", "Request_BadRequest", "schemaX"},
			{"/templates?$filter=nope%20eq%20'x'", "Request_BadRequest", "nope"},
			{"/templates?$orderby=id", "BadRequest", "$orderby"},
			{"/templates/scim/schema?$select=rules", "Request_BadRequest", "rules"},
			{"/jobs/" + e.jobID + "/schema?$select=rules", "Request_BadRequest", "rules"},
		} {
			status, m, raw := e.send("GET", sp+bad.query, nil, e.token)
			checkGraphError(t, status, m, raw, 400, bad.code, bad.mention)
		}

		// Credentials: saved ones work, a wrong token does not.
		e.do("POST", sp+"/jobs/"+e.jobID+"/validateCredentials", map[string]any{"useSavedCredentials": true}, 204)
		status, m, raw := e.send("POST", sp+"/jobs/"+e.jobID+"/validateCredentials", map[string]any{"credentials": []any{
			map[string]any{"key": "BaseAddress", "value": e.scimURL}, map[string]any{"key": "SecretToken", "value": "wrong"}}}, e.token)
		checkGraphError(t, status, m, raw, 400, "SystemForCrossDomainIdentityManagementCredentialValidationFailure", "customappsso")
		status, m, raw = e.send("PUT", sp+"/secrets", map[string]any{"value": []any{map[string]any{"key": "NoSuchKey", "value": "x"}}}, e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", "NoSuchKey")

		// Schema: edit, then reset to the template's default.
		s := e.schemaOf()
		dropMapping(userMapping(s), "title")
		e.putSchema(s)
		if n := len(userMapping(e.schemaOf())["attributeMappings"].([]any)); n != len(userMapping(ts)["attributeMappings"].([]any))-1 {
			t.Errorf("after PUT: %d user mappings", n)
		}
		e.do("DELETE", sp+"/jobs/"+e.jobID+"/schema", nil, 204)
		if n := len(userMapping(e.schemaOf())["attributeMappings"].([]any)); n != len(userMapping(ts)["attributeMappings"].([]any)) {
			t.Errorf("after reset: %d user mappings", n)
		}

		// Settings: a bad SCIM profile value is refused, a good one kept.
		got := e.do("PATCH", sp+"/jobs/"+e.jobID, map[string]any{"synchronizationJobSettings": []any{
			map[string]any{"name": "Custom", "value": "1"}}}, 200)
		if !strings.Contains(mustJSONString(got["synchronizationJobSettings"]), `"Custom"`) {
			t.Errorf("settings after PATCH = %v", got["synchronizationJobSettings"])
		}

		// Create from an unknown template; delete.
		status, m, raw = e.send("POST", sp+"/jobs", map[string]any{"templateId": "Workday"}, e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", "Workday")
		e.do("DELETE", sp+"/jobs/"+e.jobID, nil, 204)
		status, m, raw = e.send("GET", sp+"/jobs/"+e.jobID, nil, e.token)
		checkGraphError(t, status, m, raw, 404, "Request_ResourceNotFound", e.jobID)
	})
}

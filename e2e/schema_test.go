package e2e

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// schemaOf returns the job's schema.
func (e *env) schemaOf() map[string]any {
	e.t.Helper()
	m := e.do("GET", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/schema", nil, 200)
	delete(m, "@odata.context")
	return m
}

// userMappings returns the user object mapping of a schema, to edit in place.
func userMapping(s map[string]any) map[string]any {
	return s["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any)[0].(map[string]any)
}

// setMapping replaces (or adds) the mapping for a target attribute.
func setMapping(om map[string]any, target, expression string, matching int) {
	ams := om["attributeMappings"].([]any)
	m := map[string]any{"targetAttributeName": target, "flowBehavior": "FlowWhenChanged", "flowType": "Always",
		"matchingPriority": matching, "source": map[string]any{"expression": expression, "type": "Function"}}
	for i, a := range ams {
		if a.(map[string]any)["targetAttributeName"] == target {
			ams[i] = m
			return
		}
	}
	om["attributeMappings"] = append(ams, m)
}

func dropMapping(om map[string]any, target string) {
	ams := om["attributeMappings"].([]any)
	om["attributeMappings"] = slices.DeleteFunc(ams, func(a any) bool { return a.(map[string]any)["targetAttributeName"] == target })
}

func (e *env) putSchema(s map[string]any) {
	e.t.Helper()
	e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID+"/schema", s, 204)
}

func TestSchemaFunctionsOperatorsAndParse(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	base := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/schema"
	for _, p := range []string{"/functions", "/functions()"} {
		fns := e.do("GET", base+p, nil, 200)["value"].([]any)
		var names []string
		for _, f := range fns {
			names = append(names, f.(map[string]any)["name"].(string))
		}
		for _, want := range []string{"Switch", "Join", "Replace", "SelectUniqueValue", "IgnoreFlowIfNullOrEmpty", "Redact", "DateDiff", "FormatDateTime"} {
			if !slices.Contains(names, want) {
				t.Errorf("%s lacks %s", p, want)
			}
		}
	}
	ops := e.do("GET", base+"/filterOperators()", nil, 200)["value"].([]any)
	if len(ops) != 18 || ops[0].(map[string]any)["name"] != "EQUALS" || ops[0].(map[string]any)["arity"] != "Binary" {
		t.Errorf("filterOperators = %v", ops)
	}
	parse := func(body any) map[string]any { return e.do("POST", base+"/parseExpression", body, 200) }
	r := parse(map[string]any{"expression": `Join(" ", [givenName], [surname])`, "testInputObject": map[string]any{
		"properties": []any{map[string]any{"key": "givenName", "value": "Ada"}, map[string]any{"key": "surname", "value": "Lovelace"}}}})
	if r["parsingSucceeded"] != true || r["evaluationSucceeded"] != true || r["evaluationResult"].([]any)[0] != "Ada Lovelace" {
		t.Errorf("parseExpression = %v", r)
	}
	if pe := r["parsedExpression"].(map[string]any); pe["type"] != "Function" || pe["name"] != "Join" || len(pe["parameters"].([]any)) != 3 {
		t.Errorf("parsedExpression = %v", pe)
	}
	r = parse(map[string]any{"expression": `Join(" ", [givenName]`})
	if r["parsingSucceeded"] != false || !strings.Contains(r["error"].(map[string]any)["message"].(string), "expr:1:") {
		t.Errorf("bad expression answer = %v", r)
	}
	r = parse(map[string]any{"expression": `Redact([secret])`, "testInputObject": map[string]any{"properties": []any{map[string]any{"key": "secret", "value": "s3"}}}})
	if r["evaluationResult"].([]any)[0] != "[Redact]" {
		t.Errorf("Redact evaluation shown as %v", r["evaluationResult"])
	}
	// Two values for a single-valued target attribute fail as provisioning
	// would; a multi-valued one takes them.
	split := func(multivalued bool) map[string]any {
		return parse(map[string]any{"expression": `Split([mail], "@")`, "testInputObject": map[string]any{
			"properties": []any{map[string]any{"key": "mail", "value": "ada@example.com"}}},
			"targetAttributeDefinition": map[string]any{"name": "displayName", "multivalued": multivalued}})
	}
	if r = split(false); r["evaluationSucceeded"] != false || r["error"].(map[string]any)["code"] != "SchemaPropertyCanOnlyAcceptValue" {
		t.Errorf("two values for a single-valued attribute: %v, want evaluationSucceeded false with SchemaPropertyCanOnlyAcceptValue", r)
	}
	if r = split(true); r["evaluationSucceeded"] != true || len(r["evaluationResult"].([]any)) != 2 {
		t.Errorf("two values for a multi-valued attribute: %v, want both", r)
	}

	// A schema whose expression does not parse is refused, naming where.
	s := e.schemaOf()
	setMapping(userMapping(s), "displayName", `Jion(" ", [givenName], [surname])`, 0)
	status, m, raw := e.send("PUT", base, s, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "Provision Azure Active Directory Users", "displayName", "expr:1:1", "Jion")
	// So are directories emptied or nulled.
	for _, dirs := range []any{[]any{}, []any{nil}} {
		s = e.schemaOf()
		s["directories"] = dirs
		status, m, raw = e.send("PUT", base, s, e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", "directories")
	}
	if got := e.schemaOf()["directories"].([]any); len(got) == 0 || got[0].(map[string]any)["name"] == "" {
		t.Errorf("after refused PUTs the schema's directories are %v", got)
	}
	// So is a bad scoping filter.
	s = e.schemaOf()
	userMapping(s)["scope"] = map[string]any{"groups": []any{map[string]any{"name": "bad", "clauses": []any{
		map[string]any{"operatorName": "REGEX MATCH", "sourceOperandName": "mail", "targetOperand": map[string]any{"values": []any{"(["}}}}}}}
	status, m, raw = e.send("PUT", base, s, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "Provision Azure Active Directory Users", "regular expression")
	// So is a mapping to an attribute the target directory does not
	// define, also when the PUT leaves the directories out (it keeps the
	// stored ones, and is checked against them).
	for _, keep := range []bool{false, true} {
		s = e.schemaOf()
		setMapping(userMapping(s), "nickNme", `[mailNickname]`, 0)
		if keep {
			delete(s, "directories")
		}
		status, m, raw = e.send("PUT", base, s, e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", "Provision Azure Active Directory Users", "nickNme", "has no such attribute")
	}
	// And a second enabled mapping of the same source objects.
	s = e.schemaOf()
	oms := s["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any)
	again := maps.Clone(oms[0].(map[string]any))
	again["name"] = "Users again"
	s["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"] = append(oms, again)
	status, m, raw = e.send("PUT", base, s, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "Users again", "already provisions source objects")
}

func TestMappingFlowSemantics(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		s := e.schemaOf()
		om := userMapping(s)
		setMapping(om, "title", `Redact([jobTitle])`, 0)
		setMapping(om, "preferredLanguage", `IgnoreFlowIfNullOrEmpty([preferredLanguage])`, 0)
		setMapping(om, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
			`IIF([department]="Blocked", Error("Department Blocked may not be provisioned."), [department])`, 0)
		e.putSchema(s)

		id, upn := e.user("Redact", "Me")
		e.do("PATCH", "/users/"+id, map[string]any{"jobTitle": "Spy", "department": "Ops"}, 204)
		e.assign(id)
		key, value := e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Create")
		raw := e.lastValue
		if strings.Contains(raw, "Spy") {
			t.Errorf("the redacted value shows in the log: %s", raw)
		}
		var titleShown any
		for _, p := range value["modifiedProperties"].([]any) {
			pm := p.(map[string]any)
			if pm["displayName"] == "title" {
				titleShown = pm["newValue"]
			}
			if pm["displayName"] == "preferredLanguage" {
				t.Errorf("IgnoreFlowIfNullOrEmpty on a null value still flowed: %v", pm)
			}
		}
		if titleShown != "[Redact]" {
			t.Errorf("title shown as %v, want [Redact]", titleShown)
		}
		if got := e.scimFind("Users", "userName", upn)[0]["title"]; got != "Spy" {
			t.Errorf("target title = %v, want the real value", got)
		}

		e.do("PATCH", "/users/"+id, map[string]any{"department": "Blocked"}, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Failure", "Other")
		if d := key["details"].(map[string]any); d["errorCode"] != "ExpressionError" || d["errorMessage"] != "Department Blocked may not be provisioned." {
			t.Errorf("key details = %v", d)
		}
	})
}

func TestScopingFilterAndReactivation(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		s := e.schemaOf()
		userMapping(s)["scope"] = map[string]any{"groups": []any{map[string]any{"name": "Sales only", "clauses": []any{
			map[string]any{"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": map[string]any{"values": []any{"Sales"}}}}}}}
		e.putSchema(s)
		id, upn := e.user("Scope", "Me")
		e.do("PATCH", "/users/"+id, map[string]any{"department": "HR"}, 204)
		e.assign(id)

		key, value := e.onDemand(userSubject(id))
		wantResult(t, key, value, "Skipped", "Other")
		scoping := value["provisioningSteps"].([]any)[1].(map[string]any)["details"].(map[string]any)
		if scoping["Sales only department EQUALS 'Sales'"] != "False" || scoping["IsInProvisioningScopeDisplayName"] != "False" {
			t.Errorf("scoping details = %v", scoping)
		}
		var eval map[string]string
		if err := json.Unmarshal([]byte(scoping["ScopeEvaluationResult"].(string)), &eval); err != nil || len(eval) != 1 {
			t.Errorf("ScopeEvaluationResult = %v (%v)", scoping["ScopeEvaluationResult"], err)
		}

		e.do("PATCH", "/users/"+id, map[string]any{"department": "Sales"}, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Create")

		e.do("PATCH", "/users/"+id, map[string]any{"department": "HR"}, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Disable")
		if got := e.scimFind("Users", "userName", upn)[0]["active"]; got != false {
			t.Errorf("out of scope: active = %v", got)
		}

		e.do("PATCH", "/users/"+id, map[string]any{"department": "Sales"}, 204)
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Update")
		if got := e.scimFind("Users", "userName", upn)[0]["active"]; got != true {
			t.Errorf("back in scope: active = %v, want reactivated", got)
		}
	})
}

func TestScopeModesAndDeprovisioning(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		secrets := func(extra ...map[string]string) {
			v := []map[string]string{{"key": "BaseAddress", "value": e.scimURL}, {"key": "SecretToken", "value": e.scimTok}}
			e.do("PUT", "/servicePrincipals/"+e.spID+"/synchronization/secrets", map[string]any{"value": append(v, extra...)}, 204)
		}
		// Sync all: an unassigned user is in scope.
		secrets(map[string]string{"key": "SyncAll", "value": "true"})
		id, _ := e.user("Sync", "All")
		key, value := e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Create")

		// SkipOutOfScopeDeletions: leaving scope changes nothing.
		secrets(map[string]string{"key": "SkipOutOfScopeDeletions", "value": "True"})
		key, value = e.onDemand(userSubject(id))
		wantResult(t, key, value, "Skipped", "Other")
		if c := key["details"].(map[string]any)["errorCode"]; c != "SkipOutOfScopeDeletions" {
			t.Errorf("errorCode = %v", c)
		}

		// Soft-deleted in the source: disabled.
		secrets()
		sd, sdUPN := e.user("Soft", "Deleted")
		e.assign(sd)
		e.onDemand(userSubject(sd))
		e.do("DELETE", "/users/"+sd, nil, 204)
		key, value = e.onDemand(userSubject(sd))
		wantResult(t, key, value, "Success", "Disable")
		if got := e.scimFind("Users", "userName", sdUPN)[0]["active"]; got != false {
			t.Errorf("soft-deleted: active = %v", got)
		}

		// Hard-deleted in the source: removed from the target.
		if err := e.st.PurgeUser(t.Context(), sd); err != nil {
			t.Fatal(err)
		}
		key, value = e.onDemand(userSubject(sd))
		wantResult(t, key, value, "Success", "Delete")
		if n := len(e.scimFind("Users", "userName", sdUPN)); n != 0 {
			t.Errorf("hard-deleted user still in the target")
		}

		// Without the IsSoftDeleted mapping nothing can disable: unassigned → DELETE.
		s := e.schemaOf()
		dropMapping(userMapping(s), "active")
		e.putSchema(s)
		del, delUPN := e.user("Will", "Delete")
		a := e.assign(del)
		e.onDemand(userSubject(del))
		e.do("DELETE", "/servicePrincipals/"+e.spID+"/appRoleAssignedTo/"+a, nil, 204)
		key, value = e.onDemand(userSubject(del))
		wantResult(t, key, value, "Success", "Delete")
		if n := len(e.scimFind("Users", "userName", delUPN)); n != 0 {
			t.Errorf("unassigned user without an active mapping still in the target")
		}
		if got := steps(value); got[len(got)-1] != "EntryExportDelete/Export/Success" {
			t.Errorf("steps = %v", got)
		}
	})
}

func TestMatchingOutcomes(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		// Match on employeeId first, then userPrincipalName.
		s := e.schemaOf()
		om := userMapping(s)
		setMapping(om, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "[employeeId]", 1)
		setMapping(om, "userName", "[userPrincipalName]", 2)
		e.putSchema(s)

		id, upn := e.user("Match", "Second")
		e.assign(id)
		key, value := e.onDemand(userSubject(id)) // no employeeId: falls through to userName
		wantResult(t, key, value, "Success", "Create")
		e.do("PATCH", "/users/"+id, map[string]any{"employeeId": "E-1"}, 204)
		key, value = e.onDemand(userSubject(id)) // matched by anchor, employeeNumber flows
		wantResult(t, key, value, "Success", "Update")
		_ = upn

		// Only employeeId as matching attribute, and it is missing: ImportSkipped.
		s = e.schemaOf()
		om = userMapping(s)
		setMapping(om, "userName", "[userPrincipalName]", 0)
		e.putSchema(s)
		other, _ := e.user("No", "Employee")
		e.assign(other)
		key, value = e.onDemand(userSubject(other))
		wantResult(t, key, value, "Skipped", "Other")
		if c := key["details"].(map[string]any)["errorCode"]; c != "ImportSkipped" {
			t.Errorf("errorCode = %v, want ImportSkipped", c)
		}
	})
}

// TestSelectUniqueValueAsksTheTarget: the first candidate already taken in
// the target is skipped.
func TestSelectUniqueValueAsksTheTarget(t *testing.T) {
	targets(t, func(t *testing.T, e *env) {
		id, upn := e.user("Unique", "Value")
		nick := strings.SplitN(upn, "@", 2)[0]
		e.scimCreate(map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "someone-else-" + nick + "@target.test", "externalId": nick, "active": true})
		s := e.schemaOf()
		setMapping(userMapping(s), "externalId", `SelectUniqueValue([mailNickname], Join("", [mailNickname], "2"), Join("", [mailNickname], "3"))`, 0)
		e.putSchema(s)
		e.assign(id)
		key, value := e.onDemand(userSubject(id))
		wantResult(t, key, value, "Success", "Create")
		if got := e.scimFind("Users", "userName", upn)[0]["externalId"]; got != nick+"2" {
			t.Errorf("externalId = %v, want %s2 (the first candidate is taken)", got, nick)
		}
		key, value = e.onDemand(userSubject(id)) // creation only: no new pick later
		wantResult(t, key, value, "Skipped", "Other")
	})
}

// TestSchemaKeepsItsTemplatesTarget: a job's schema may read another
// source, but not write where its template does not — an application's
// job turned into one writing the directory would be cloud sync run by
// someone without the Hybrid Identity Administrator role — nor name a
// directory provisiond has no connector for.
func TestSchemaKeepsItsTemplatesTarget(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	path := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/schema"
	for _, tc := range []struct{ field, value, want string }{
		{"targetDirectoryName", "Azure Active Directory", "writes to 'Azure Active Directory', but a job of the template 'scim' writes only to 'customappsso'"},
		{"targetDirectoryName", "Nope", "writes to 'Nope', but a job of the template 'scim' writes only to 'customappsso'"},
		{"sourceDirectoryName", "Nope", "reads 'Nope', a directory provisiond has no connector for"},
	} {
		s := e.schemaOf()
		rule := s["synchronizationRules"].([]any)[0].(map[string]any)
		rule[tc.field] = tc.value
		body, _ := json.Marshal(s)
		status, m, raw := e.send("PUT", path, string(body), e.token)
		checkGraphError(t, status, m, raw, 400, "BadRequest", tc.want)
	}
	s := e.schemaOf()
	if rule := s["synchronizationRules"].([]any)[0].(map[string]any); rule["targetDirectoryName"] != "customappsso" || rule["sourceDirectoryName"] != "Azure Active Directory" {
		t.Errorf("a refused schema was stored: %v", rule)
	}
	e.putSchema(s) // the template's own directories stay accepted
}

package e2e

import (
	"regexp"
	"testing"
)

// goTypeSyntax matches Go type names in a message: []T, struct { ... },
// *string, map[...], package-qualified names such as schema.Rule.
var goTypeSyntax = regexp.MustCompile(`\[\]|\bstruct\b|\*string|\bmap\[|interface ?\{|json:"|\b[a-z][a-z0-9]*\.[A-Z]\w*|\b(u?int|float)(8|16|32|64)?\b`)

// TestWrongTypesNameGraphTypes: a body with a value of the wrong JSON
// type is a 400 that names the Graph (EDM) type expected, on every kind of
// endpoint, and never the Go type the server decodes into.
func TestWrongTypesNameGraphTypes(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	job := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	tests := []struct {
		name, method, path, body, code, want string
	}{
		{"provisionOnDemand parameters", "POST", job + "/provisionOnDemand", `{"parameters":"x"}`, "BadRequest",
			"Collection(microsoft.graph.synchronizationJobApplicationParameters)"},
		{"provisionOnDemand ruleId", "POST", job + "/provisionOnDemand", `{"parameters":[{"ruleId":7}]}`, "BadRequest", "Edm.String"},
		{"provisionOnDemand subjects", "POST", job + "/provisionOnDemand", `{"parameters":[{"ruleId":"r","subjects":"u"}]}`, "BadRequest",
			"Collection(microsoft.graph.synchronizationJobSubject)"},
		{"provisionOnDemand links", "POST", job + "/provisionOnDemand", `{"parameters":[{"subjects":[{"objectId":"u","links":["m"]}]}]}`, "BadRequest",
			"microsoft.graph.synchronizationLinkedObjects"},
		{"PUT secrets", "PUT", "/servicePrincipals/" + e.spID + "/synchronization/secrets", `{"value":"BaseAddress"}`, "BadRequest",
			"Collection(microsoft.graph.synchronizationSecretKeyStringValuePair)"},
		{"PUT secrets key", "PUT", "/servicePrincipals/" + e.spID + "/synchronization/secrets", `{"value":[{"key":true}]}`, "BadRequest", "Edm.String"},
		{"PUT schema rules", "PUT", job + "/schema", `{"synchronizationRules":{"id":"x"}}`, "BadRequest",
			"Collection(microsoft.graph.synchronizationRule)"},
		{"PUT schema priority", "PUT", job + "/schema", `{"synchronizationRules":[{"priority":"first"}]}`, "BadRequest", "Edm.Int32"},
		{"PUT schema mappings", "PUT", job + "/schema", `{"synchronizationRules":[{"objectMappings":[{"attributeMappings":[{"source":"x"}]}]}]}`, "BadRequest",
			"microsoft.graph.attributeMappingSource"},
		{"PUT schema not an object", "PUT", job + "/schema", `[1,2]`, "BadRequest", "must be a JSON object"},
		{"PATCH job settings", "PATCH", job, `{"synchronizationJobSettings":{"name":"x"}}`, "BadRequest", "Collection(microsoft.graph.keyValuePair)"},
		{"POST users", "POST", "/users", `{"accountEnabled":"yes","displayName":"x","mailNickname":"x","userPrincipalName":"x@contoso.test"}`, "Request_BadRequest", "Edm.Boolean"},
		{"POST users businessPhones", "POST", "/users", `{"businessPhones":"555"}`, "Request_BadRequest", "Collection(Edm.String)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, m, raw := e.send(tc.method, tc.path, tc.body, e.token)
			checkGraphError(t, status, m, raw, 400, tc.code, tc.want)
			msg, _ := m["error"].(map[string]any)["message"].(string)
			if s := goTypeSyntax.FindString(msg); s != "" {
				t.Errorf("message %q shows Go type syntax %q", msg, s)
			}
		})
	}
}

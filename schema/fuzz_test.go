package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzCompileSchema: whatever body a PUT schema decodes, Compile and
// CheckTargets answer an error or a compiled schema, never a panic; their
// errors are *CompileError (the handler's 400 names the mapping from it),
// and a compiled scope evaluates any values.
func FuzzCompileSchema(f *testing.F) {
	// The SCIM template cut to three user mappings and what they write:
	// its whole 24 KB make the fuzzer crawl.
	small := SCIMSchema()
	om := &small.SynchronizationRules[0].ObjectMappings[0]
	om.AttributeMappings = om.AttributeMappings[:3]
	small.SynchronizationRules[0].ObjectMappings = small.SynchronizationRules[0].ObjectMappings[:1]
	for di := range small.Directories {
		for oi := range small.Directories[di].Objects {
			o := &small.Directories[di].Objects[oi]
			o.Attributes = o.Attributes[:min(len(o.Attributes), 4)]
		}
	}
	base, err := json.Marshal(small)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base, "Sales")
	f.Add([]byte(strings.Replace(string(base), `"userName"`, `"nickNme"`, 1)), "")
	f.Add([]byte(`{"synchronizationRules":[{"id":"r","objectMappings":[{"enabled":true,"sourceObjectName":"User","targetObjectName":"User",
		"scope":{"groups":[{"clauses":[{"operatorName":"REGEX MATCH","sourceOperandName":"mail","targetOperand":{"values":["^a","(b"]}}]}]},
		"attributeMappings":[{"targetAttributeName":"userName","matchingPriority":1,"source":{"type":"Attribute","name":"userPrincipalName"}}]}]}],
		"directories":[{"name":"x","objects":[]}]}`), "a")
	f.Add([]byte(`{"synchronizationRules":[{"id":"r","objectMappings":[{"enabled":true,"sourceObjectName":"User","targetObjectName":"User"},{"enabled":true,"sourceObjectName":"user","targetObjectName":"User"}]}]}`), "1")
	f.Fuzz(func(t *testing.T, body []byte, value string) {
		var s Schema
		if json.Unmarshal(body, &s) != nil {
			return
		}
		c, err := Compile(&s)
		var ce *CompileError
		if err != nil {
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error %T %v, want *CompileError", err, err)
			}
			return
		}
		if err := CheckTargets(c); err != nil && !errors.As(err, &ce) {
			t.Fatalf("CheckTargets error %T %v, want *CompileError", err, err)
		}
		for _, r := range c.Rules {
			for _, o := range r.Objects {
				o.Scope.Eval(func(string) []string { return []string{value, ""} })
			}
		}
	})
}

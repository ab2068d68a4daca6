package graphapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindDuplicateKey(t *testing.T) {
	tests := []struct {
		raw         string
		name, where string
	}{
		{`{"a":1,"b":2}`, "", ""},
		{`{"a":1,"a":2}`, "a", ""},
		{`{"displayName":"x","DisplayName":"y"}`, "DisplayName", ""},
		{`{"a":{"b":1},"c":{"b":2}}`, "", ""},
		{`{"passwordProfile":{"password":"x","password":"y"}}`, "password", "passwordProfile"},
		{`{"parameters":[{"subjects":[{"objectId":"1"},{"objectId":"2","objectId":"3"}]}]}`, "objectId", "parameters[0].subjects[1]"},
		{`[{"a":1},{"a":1},[{"k":1,"k":2}]]`, "k", "[2][0]"},
		{`{"a":[1,2,{"x":null}],"b":"a","a\u0000":1}`, "", ""},
		{`{"\u0061":1,"a":2}`, "a", ""}, // escapes decode before comparing
		{`{"a":1,"b":`, "", ""},         // invalid JSON: the decoder reports it
		{`"a"`, "", ""},
		{`{}`, "", ""},
		{`{"a":{}} {"a":1,"a":1}`, "", ""}, // only the first value counts
	}
	for _, tt := range tests {
		name, where, found := findDuplicateKey([]byte(tt.raw))
		if found != (tt.name != "") || name != tt.name || where != tt.where {
			t.Errorf("findDuplicateKey(%s) = %q, %q, %v; want %q, %q", tt.raw, name, where, found, tt.name, tt.where)
		}
	}
	if err := checkDuplicateKeys([]byte(`{"value":[],"Value":[]}`)); err == nil || !strings.Contains(err.Error(), "'Value'") {
		t.Errorf("checkDuplicateKeys = %v", err)
	}
}

func TestDirectoryDuplicateKeys(t *testing.T) {
	a := newAPITest(t)
	id := a.createUser("dup@contoso.com")
	gid := a.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}).object(t)["id"].(string)
	user := `{"accountEnabled":true,"displayName":"A","mailNickname":"a","userPrincipalName":"a@contoso.com",`
	tests := []struct {
		method, path, body, name string
	}{
		{"POST", "/v1.0/users", user + `"displayName":"B"}`, "'displayName'"},
		{"POST", "/v1.0/users", user + `"passwordProfile":{"password":"x","Password":"y"}}`, "'Password' were found in 'passwordProfile'"},
		{"PATCH", "/v1.0/users/" + id, `{"city":"Oslo","city":"Paris"}`, "'city'"},
		{"POST", "/v1.0/groups", `{"displayName":"G","mailEnabled":false,"mailNickname":"g","securityEnabled":true,"mailNickname":"h"}`, "'mailNickname'"},
		{"PATCH", "/v1.0/groups/" + gid, `{"description":"a","DESCRIPTION":"b"}`, "'DESCRIPTION'"},
		{"POST", "/v1.0/groups/" + gid + "/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `","@odata.id":"x"}`, "'@odata.id'"},
		{"POST", "/v1.0/applicationTemplates/" + nonGalleryTemplateID + "/instantiate", `{"displayName":"a","displayName":"b"}`, "'displayName'"},
	}
	for _, tt := range tests {
		// The code is not pinned: Request_BadRequest from the directory's
		// decoder, BadRequest once the generic body decoder checks first.
		a.call(tt.method, tt.path, tt.body).wantError(t, 400, "", tt.name, "send each property once")
	}
	// Nothing was written.
	if vals := a.must(200, "GET", "/v1.0/users", nil).values(t); len(vals) != 1 {
		t.Errorf("users after refused creates: %v", vals)
	}
	if u := a.must(200, "GET", "/v1.0/users/"+id, nil).object(t); u["city"] != nil {
		t.Errorf("city = %v after a refused PATCH", u["city"])
	}
}

// FuzzFindDuplicateKey checks findDuplicateKey against an independent
// reading of the same document: encoding/json's, with duplicates made
// visible by re-encoding.
func FuzzFindDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1,"C":2}]}}`, `[1,{"x":[]},"y"]`, `{"":1,"":2}`,
		`{"a":1}`, `{`, `[[[[`, `{"a":[1,2,{"a":1}],"b":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		name, where, found := findDuplicateKey(raw)
		var v any
		valid := json.Unmarshal(raw, &v) == nil
		if !valid {
			return // nothing is promised beyond not panicking
		}
		if found {
			if !strings.Contains(strings.ToLower(string(raw)), strings.ToLower(strings.Trim(mustMarshal(t, name), `"`))) && name != "" {
				t.Fatalf("reported name %q (at %q) is not in %s", name, where, raw)
			}
		}
		// encoding/json keeps one member per exact name; re-encoded, the
		// document has a duplicate iff two names differ only in case.
		re := []byte(mustMarshal(t, v))
		_, _, reFound := findDuplicateKey(re)
		if reFound != caseCollision(v) {
			t.Fatalf("re-encoded %s: found=%v, want %v", re, reFound, caseCollision(v))
		}
		if reFound && !found {
			t.Fatalf("%s: the re-encoded form has a duplicate the original does not", raw)
		}
		// Repeating a member of a top-level object is always found.
		if m, ok := v.(map[string]any); ok && len(m) > 0 && !found {
			for k := range m {
				dup := `{` + mustMarshal(t, k) + `:null,` + strings.TrimPrefix(strings.TrimSpace(string(re)), "{")
				if _, _, ok := findDuplicateKey([]byte(dup)); !ok {
					t.Fatalf("repeated %q not found in %s", k, dup)
				}
				break
			}
		}
	})
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// caseCollision reports whether some object in v has two names equal
// ignoring case.
func caseCollision(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		seen := map[string]bool{}
		for k, e := range t {
			if seen[strings.ToLower(k)] || caseCollision(e) {
				return true
			}
			seen[strings.ToLower(k)] = true
		}
	case []any:
		for _, e := range t {
			if caseCollision(e) {
				return true
			}
		}
	}
	return false
}

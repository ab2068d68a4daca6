package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"provisiond/jobs"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/throttle"
)

func TestTextProblem(t *testing.T) {
	for _, c := range []struct {
		name, raw, where, hint string
	}{
		{"plain", `{"value":[{"key":"SecretToken","value":"s3cr\u00e9t \ud83d\ude00"}]}`, "", ""},
		{"escaped backslash before u0000", `{"expression":"Replace([a], \"\\u0000\", \"\")"}`, "", ""},
		{"bytes that are not UTF-8", "{\"value\":[{\"key\":\"SecretToken\",\"value\":\"a\xffb\"}]}", "value[0].value", "not valid UTF-8"},
		{"a lone surrogate", `{"value":[{"key":"k","value":"ok"},{"key":"SecretToken","value":"\ud800"}]}`, "value[1].value", "unpaired UTF-16 surrogate"},
		{"NUL", `{"schedule":{"interval":"PT40M\u0000"}}`, "schedule.interval", "NUL"},
		{"NUL after an escaped backslash", `{"a":"\\\u0000"}`, "a", "NUL"},
		{"NUL in a name", `{"sche\u0000dule":{"interval":"PT40M"}}`, "", "NUL character (\\u0000) in a property name"},
		{"NUL in a nested name", `{"schedule":{"int\u0000":1}}`, "schedule", "in a property name"},
		{"a top-level string", "\"\xff\"", "", "not valid UTF-8"},
	} {
		where, hint := textProblem(json.RawMessage(c.raw))
		if where != c.where || !strings.Contains(hint, c.hint) || (c.hint == "") != (hint == "") {
			t.Errorf("%s: textProblem(%s) = %q, %q; want %q and a hint with %q", c.name, c.raw, where, hint, c.where, c.hint)
		}
	}
	// Past maxCheckDepth the place named is where the descent stopped.
	deep := strings.Repeat("[", 100) + `"\u0000"` + strings.Repeat("]", 100)
	if where, hint := textProblem(json.RawMessage(deep)); hint == "" || where != strings.Repeat("[0]", maxCheckDepth) {
		t.Errorf("deep NUL: %q, %q", where, hint)
	}
}

// FuzzTextProblem checks textProblem against encoding/json: a body it
// passes must be UTF-8 and decode to text without NUL, and one that
// decodes to text with NUL must not pass.
func FuzzTextProblem(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":["\u0000"]}`, `{"\\u0000":1}`, "[\"\xc3(\"]", `{"a":"\udc00\ud800"}`, `"\\\\\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		_, hint := textProblem(raw)
		if hint == "" && !utf8.Valid(raw) {
			t.Fatalf("passed bytes that are not UTF-8: %q", raw)
		}
		if hint == "" && holdsNUL(v) {
			t.Fatalf("passed a NUL: %q", raw)
		}
	})
}

func holdsNUL(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.ContainsRune(t, 0)
	case []any:
		for _, e := range t {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range t {
			if holdsNUL(k) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}

type checkedInner struct {
	Name  string `json:"name"`
	Skip  string `json:"-"`
	Value *int   `json:"value,omitempty"`
}

type checkedEmbedded struct {
	ID string `json:"id"`
}

type checkedBody struct {
	checkedEmbedded
	Items  []checkedInner          `json:"items"`
	One    *checkedInner           `json:"one"`
	Free   map[string]any          `json:"free"`
	Raw    json.RawMessage         `json:"raw"`
	Open   []objectValuePair       `json:"open"`
	ByName map[string]checkedInner `json:"byName"`
	Plain  string
}

func TestUnknownProperty(t *testing.T) {
	typ := reflect.TypeFor[*checkedBody]()
	for _, raw := range []string{
		`{}`, `null`, `[]`, `"not an object"`,
		`{"id":"1","items":[{"name":"a","value":1}],"one":{"NAME":"b"},"Plain":"p","plain":"q"}`,
		`{"free":{"anything":1},"raw":{"anything":2},"open":[{"key":"k","value":1,"value@odata.type":"#Int32","extra":3}]}`,
		`{"@odata.type":"#x","items":[{"name@odata.type":"#String","name":"a"}],"one":null}`,
		`{"items":"not a list","one":7}`, // type errors are the decoder's
	} {
		if err := unknownProperty(json.RawMessage(raw), typ); err != nil {
			t.Errorf("unknownProperty(%s) = %v, want nil", raw, err)
		}
	}
	for _, c := range []struct{ raw, message string }{
		{`{"idd":"1"}`, "Property 'idd' does not exist in the request body; it takes id, items, one, free, raw, open, byName, Plain."},
		{`{"items":[{"name":"a"},{"nam":"b"}]}`, "Property 'nam' does not exist in 'items[1]'; it takes name, value."},
		{`{"one":{"Skip":"x"}}`, "Property 'Skip' does not exist in 'one'"},
		{`{"byName":{"k":{"valu":1}}}`, "Property 'valu' does not exist in 'byName.k'"},
	} {
		err := unknownProperty(json.RawMessage(c.raw), typ)
		if err == nil || err.Status != http.StatusBadRequest || err.Code != "RequestParameterInvalid" || !strings.Contains(err.Message, c.message) {
			t.Errorf("unknownProperty(%s) = %v, want 400 %q", c.raw, err, c.message)
		}
	}
}

// Every body of the synchronization API is checked: text decoding would
// alter and properties it would drop are 400s naming them, and the state
// is unchanged.
func TestSyncBodiesRefuseWhatDecodingHides(t *testing.T) {
	a, base := newSyncTest(t)
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{"templateId": "scim"}).object(t)
	jobPath := base + "/jobs/" + job["id"].(string)
	before := a.must(http.StatusOK, "GET", jobPath, nil).body
	schema := a.must(http.StatusOK, "GET", jobPath+"/schema", nil).object(t)
	misspelt := jsonValue(t, schema).(map[string]any)
	rule := misspelt["synchronizationRules"].([]any)[0].(map[string]any)
	mapping := rule["objectMappings"].([]any)[0].(map[string]any)
	mapping["attributeMappings"].([]any)[0].(map[string]any)["targetAttribteName"] = "userName"

	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		code, fragment     string
	}{
		{"secret not UTF-8", "PUT", base + "/secrets", "{\"value\":[{\"key\":\"SecretToken\",\"value\":\"a\xffb\"}]}",
			400, "BadRequest", "'value[0].value': it is not valid UTF-8"},
		{"secret with a lone surrogate", "PUT", base + "/secrets", `{"value":[{"key":"SecretToken","value":"\udead"}]}`,
			400, "BadRequest", "unpaired UTF-16 surrogate"},
		{"setting with NUL", "PATCH", jobPath, `{"synchronizationJobSettings":[{"name":"X","value":"a\u0000"}]}`,
			400, "BadRequest", "'synchronizationJobSettings[0].value': it holds a NUL"},
		{"misspelt secret pair", "PUT", base + "/secrets", `{"value":[{"key":"SecretToken","valeu":"t"}]}`,
			400, "RequestParameterInvalid", "Property 'valeu' does not exist on type 'microsoft.graph.synchronizationSecretKeyStringValuePair' (in 'value[0]')"},
		{"misspelt interval", "PATCH", jobPath, `{"schedule":{"intervall":"PT5M"}}`,
			400, "RequestParameterInvalid", "Property 'intervall' does not exist on type 'microsoft.graph.synchronizationSchedule' (in 'schedule'); it takes interval, state, expiration"},
		{"templateId on PATCH", "PATCH", jobPath, `{"templateId":"other","schedule":{"interval":"PT5M"}}`,
			400, "BadRequest", "'templateId' of a job cannot be changed"},
		{"status on PATCH", "PATCH", jobPath, `{"status":{"code":"Active"}}`,
			400, "BadRequest", "'status' of a synchronizationJob is read-only"},
		{"misspelt create", "POST", base + "/jobs", `{"templateId":"scim","scheduel":{"interval":"PT5M"}}`,
			400, "RequestParameterInvalid", "Property 'scheduel' does not exist in the request body"},
		{"misspelt subject", "POST", jobPath + "/provisionOnDemand", `{"parameters":[{"ruleId":"x","subjects":[{"objectIdd":"u","objectTypeName":"User"}]}]}`,
			400, "RequestParameterInvalid", "'objectIdd' does not exist on type 'microsoft.graph.synchronizationJobSubject' (in 'parameters[0].subjects[0]')"},
		{"a manager link", "POST", jobPath + "/provisionOnDemand", `{"parameters":[{"ruleId":"x","subjects":[{"objectId":"u","objectTypeName":"User","links":{"manager":{"objectId":"m","objectTypeName":"User"}}}]}]}`,
			400, "RequestParameterInvalid", "subjects[0].links.manager is not supported"},
		{"misspelt validateCredentials", "POST", jobPath + "/validateCredentials", `{"useSavedCredential":true}`,
			400, "RequestParameterInvalid", "'useSavedCredential' does not exist"},
		{"misspelt parseExpression", "POST", jobPath + "/schema/parseExpression", `{"expression":"[a]","testInput":{}}`,
			400, "RequestParameterInvalid", "'testInput' does not exist"},
		{"misspelt schema", "PUT", jobPath + "/schema", misspelt,
			400, "RequestParameterInvalid", "'targetAttribteName' does not exist on type 'microsoft.graph.attributeMapping' (in 'synchronizationRules[0].objectMappings[0].attributeMappings[0]')"},
	} {
		a.call(c.method, c.path, c.body).wantError(t, c.status, c.code, c.fragment)
		if c.name == "misspelt create" {
			continue
		}
		if after := a.must(http.StatusOK, "GET", jobPath, nil).body; string(after) != string(before) {
			t.Errorf("%s changed the job:\n%s\nwas\n%s", c.name, after, before)
		}
	}
	if got := a.must(http.StatusOK, "GET", base+"/jobs", nil).values(t); len(got) != 1 {
		t.Errorf("after a refused create: %d jobs, want 1", len(got))
	}

	// parseExpression takes Graph's whole expressionInputObject; its
	// properties are an open type.
	res := a.must(http.StatusOK, "POST", jobPath+"/schema/parseExpression", `{"expression":"Join(\" \", [givenName], [surname])",
		"testInputObject":{"definition":{"name":"User","attributes":[]},"properties":[
			{"key":"givenName","value":"Ada","value@odata.type":"#String","note":"open type"},{"key":"surname","value":"Lovelace"}]}}`).object(t)
	if got, _ := json.Marshal(res["evaluationResult"]); string(got) != `["Ada Lovelace"]` {
		t.Errorf("parseExpression with a definition: %s", got)
	}
}

// A job may be created with its interval and settings, as Graph's
// synchronizationJob has them; they are checked as PATCH checks them.
func TestCreateJobWithScheduleAndSettings(t *testing.T) {
	a, base := newSyncTest(t)
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{
		"@odata.type": "#microsoft.graph.synchronizationJob", "templateId": "scim",
		"schedule":                   map[string]any{"interval": "PT5M"},
		"synchronizationJobSettings": []any{map[string]any{"name": "LogSkippedEvents", "value": "false"}},
	}).object(t)
	diff(t, "schedule", job["schedule"], map[string]any{"expiration": nil, "interval": "PT5M", "state": "Disabled"})
	diff(t, "settings", job["synchronizationJobSettings"], []any{
		map[string]any{"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
		map[string]any{"name": "LogSkippedEvents", "value": "false"}})

	a.call("POST", base+"/jobs", map[string]any{"templateId": "scim", "schedule": map[string]any{"interval": "PT5S"}}).
		wantError(t, 400, "BadRequest", "schedule.interval")
	a.call("POST", base+"/jobs", map[string]any{"templateId": "scim", "schedule": map[string]any{"interval": "PT5M", "state": "Active"}}).
		wantError(t, 400, "BadRequest", "schedule.state")
	a.call("POST", base+"/jobs", map[string]any{"templateId": "scim",
		"synchronizationJobSettings": []any{map[string]any{"name": "LogSkippedEvents", "value": "maybe"}}}).
		wantError(t, 400, "BadRequest", "LogSkippedEvents")
	a.call("POST", base+"/jobs", map[string]any{"templateId": "scim", "synchronizationJobSettings": []any{
		map[string]any{"name": "A", "value": "1"}, map[string]any{"name": "A", "value": "2"}}}).
		wantError(t, 400, "BadRequest", "synchronizationJobSettings[1].name 'A' is also synchronizationJobSettings[0].name; send each setting once.")
	res := a.call("POST", base+"/jobs", map[string]any{"templateId": "scim", "synchronizationJobSettings": []any{
		map[string]any{"name": "logskippedevents", "value": "true"}}})
	res.wantError(t, 400, "BadRequest", "is spelt 'LogSkippedEvents'")
	if _, msg := res.graphError(t); strings.Contains(msg, "..") {
		t.Errorf("message %q has a doubled period", msg)
	}
	a.call("POST", base+"/jobs", map[string]any{"templateId": "scim", "id": "mine"}).
		wantError(t, 400, "BadRequest", "'id' of a synchronizationJob is read-only")
	if got := a.must(http.StatusOK, "GET", base+"/jobs", nil).values(t); len(got) != 1 {
		t.Errorf("after refused creates: %d jobs, want 1", len(got))
	}
}

// The functions, filter operators and secrets take no query options: one
// sent is a 400, not ignored; options without '$' pass.
func TestNoQueryOptions(t *testing.T) {
	a, base := newSyncTest(t)
	for _, p := range []string{base + "/templates/scim/schema/functions", base + "/templates/scim/schema/filterOperators", base + "/secrets"} {
		a.call("GET", p+"?$top=1", nil).wantError(t, 400, "BadRequest", "Query option '$top' is not supported on this resource, which takes none.")
		a.call("GET", p+"?$select=name&x=1", nil).wantError(t, 400, "BadRequest", "'$select'")
		a.call("GET", p+"?%zz", nil).wantError(t, 400, "BadRequest", "malformed")
		a.must(http.StatusOK, "GET", p+"?x=1", nil)
	}
}

// provisionOnDemand's rate limit counts well-formed requests alone: a
// client correcting its body is not throttled for its mistakes. A
// missing ruleId says what to send.
func TestOnDemandLimitCountsWellFormedRequests(t *testing.T) {
	box := testBox(t)
	a := newAPITest(t, func(c *Config) {
		c.Sync = &Sync{Jobs: jobs.New(jobs.Options{Store: c.Store, Secrets: box}), OnDemand: throttle.New(1, time.Hour, nil)}
	})
	sp := a.instantiate("Limited")
	base := "/v1.0/servicePrincipals/" + sp["id"].(string) + "/synchronization"
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{"templateId": "scim"}).object(t)
	od := base + "/jobs/" + job["id"].(string) + "/provisionOnDemand"
	subject := `"subjects":[{"objectId":"0c4b4b7e-0000-4000-8000-000000000000","objectTypeName":"User"}]`
	a.call("POST", od, `{"parameters":[{`+subject+`}]}`).wantError(t, 400, "RequestParameterInvalid", "The parameter 'ruleId' is required")
	for _, body := range []string{`not json`, `{"parameters":[]}`, `{"parameters":[{"ruleId":"x"}]}`} {
		if res := a.call("POST", od, body); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", body, res.status, res.body)
		}
	}
	first := a.call("POST", od, `{"parameters":[{"ruleId":"`+schema.SCIMUserRuleID+`",`+subject+`}]}`)
	if first.status == http.StatusTooManyRequests {
		t.Fatalf("the first well-formed request was throttled after malformed ones: %s", first.body)
	}
	a.call("POST", od, `{"parameters":[{"ruleId":"`+schema.SCIMUserRuleID+`",`+subject+`}]}`).wantError(t, http.StatusTooManyRequests, "TooManyRequests")
}

// FuzzUnknownProperty checks unknownProperty against encoding/json's
// DisallowUnknownFields, once annotations are taken out: for the body
// types of the synchronization API (open types aside), the two agree on
// whether a document names a property its type lacks.
func FuzzUnknownProperty(f *testing.F) {
	for _, s := range []string{`{"parameters":[{"ruleId":"r","subjects":[{"objectId":"o","objectTypeName":"User","links":{"members":[{"objectId":"m","x":1}]}}]}]}`,
		`{"synchronizationRules":[{"objectMappings":[{"attributeMappings":[{"source":{"parameters":[{"key":"k","value":{"name":"n","nam":1}}]}}]}]}]}`,
		`{"criteria":{"resetScope":"Full","@odata.type":"#x"}}`, `{"value":[{"key":"k","value":"v","Value":"w"}]}`,
		`{"schedule":{"interval":"PT1M","intervall":1},"id":null}`, `[{"a":1}]`, `{"A":{"b":{}}}`} {
		f.Add([]byte(s))
	}
	types := []reflect.Type{
		reflect.TypeFor[onDemandBody](), reflect.TypeFor[schema.Schema](), reflect.TypeFor[restartParameters](),
		reflect.TypeFor[struct {
			Value *[]secrets.Pair `json:"value"`
		}](),
		reflect.TypeFor[struct {
			jobReadOnly
			TemplateID *string         `json:"templateId"`
			Settings   *[]keyValuePair `json:"synchronizationJobSettings"`
			Schedule   *schedulePatch  `json:"schedule"`
		}](),
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var doc any
		if json.Unmarshal(raw, &doc) != nil || jsonDepth(doc) > maxCheckDepth-2 {
			return
		}
		plain, _ := json.Marshal(withoutAnnotations(doc))
		for _, typ := range types {
			ours := unknownProperty(raw, typ) != nil
			dec := json.NewDecoder(bytes.NewReader(plain))
			dec.DisallowUnknownFields()
			err := dec.Decode(reflect.New(typ).Interface())
			theirs := err != nil && strings.Contains(err.Error(), "unknown field")
			if err != nil && !theirs {
				continue // a type error came first: the decoder says nothing of names
			}
			if ours != theirs {
				t.Fatalf("%v on %s: unknownProperty says %v, DisallowUnknownFields %v", typ, raw, ours, err)
			}
		}
	})
}

func withoutAnnotations(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if !strings.Contains(k, "@") {
				out[k] = withoutAnnotations(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = withoutAnnotations(e)
		}
		return out
	}
	return v
}

func jsonDepth(v any) int {
	d := 0
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range t {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}

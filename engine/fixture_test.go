package engine_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
	"provisiond/store/memory"
)

// The fixture is built from real parts: the in-memory store as directory
// and engine State, the built-in directory as source, memtarget as target
// and the built-in SCIM schema.

const (
	spID       = "sp-1"
	jobID      = "job-1"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	dept       = enterprise + ":department"
	empNumber  = enterprise + ":employeeNumber"
	workEmail  = `emails[type eq "work"].value`
)

// epoch is the fixture's fixed clock.
var epoch = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// Step shapes: name/type/status.
const (
	stImport     = "EntryImport/Import/Success"
	stInScope    = "EntrySynchronizationScoping/Scoping/Success"
	stOutOfScope = "EntrySynchronizationScoping/Scoping/Skipped"
	stNoMatch    = "EntryImportObjectNotFound/Matching/Success"
	stMatched    = "EntryImport/Matching/Success"
	stMatchFail  = "EntryImport/Matching/Failure"
	stAdd        = "EntryExportAdd/Export/Success"
	stAddFail    = "EntryExportAdd/Export/Failure"
	stUpdate     = "EntryExportUpdate/Export/Success"
	stUpdateFail = "EntryExportUpdate/Export/Failure"
	stDisable    = "EntryExportUpdateSoftDelete/Export/Success"
	stDelete     = "EntryExportDelete/Export/Success"
	stSkip       = "EntrySynchronizationSkip/Export/Skipped"
	stGone       = "EntryImportDelete/Import/Success"
	stMember     = "EntryExportUpdate/Export/Success"
	stMemberNone = "EntryExportUpdate/Export/Skipped"
)

type fixture struct {
	t   testing.TB
	st  *memory.Store
	tgt *memtarget.Target
	eng *engine.Engine
	job *engine.Job

	changeIDs atomic.Int64 // engine.Config.NewID
	targetIDs atomic.Int64 // memtarget ids: t1, t2, ...
	assigned  int
	calls     int // target calls before the request under test
}

// newFixture compiles the built-in SCIM schema after edit (if any) and
// wires an engine over a fresh store and target.
func newFixture(t testing.TB, edit func(*schema.Schema)) *fixture {
	t.Helper()
	s := schema.SCIMSchema()
	if edit != nil {
		edit(s)
	}
	comp, err := schema.Compile(s)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	f := &fixture{t: t, st: memory.New()}
	f.tgt = memtarget.New(memtarget.Options{NewID: func() string { return fmt.Sprintf("t%d", f.targetIDs.Add(1)) }})
	ctx := t.Context()
	must(t, f.st.CreateServicePrincipal(ctx,
		store.Application{ID: "app-1", AppID: "appid-1", DisplayName: "SCIM app", Created: epoch},
		store.ServicePrincipal{ID: spID, AppID: "appid-1", ApplicationID: "app-1", DisplayName: "SCIM app", Created: epoch}))
	must(t, f.st.CreateJob(ctx, store.Job{ID: jobID, ServicePrincipalID: spID, TemplateID: "scim", Created: epoch, Updated: epoch}))
	f.useState(f.st)
	f.job = &engine.Job{
		ID: jobID, ServicePrincipalID: spID, Rule: comp.Rules[0],
		Source: directory.NewSource(f.st, spID), Target: f.tgt,
	}
	return f
}

// useState rebuilds the engine over st.
func (f *fixture) useState(st engine.State) {
	f.eng = engine.New(engine.Config{State: st, Now: func() time.Time { return epoch },
		NewID: func() string { return fmt.Sprintf("c%d", f.changeIDs.Add(1)) }})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// userMapping returns the schema's User object mapping.
func userMapping(s *schema.Schema) *schema.ObjectMapping {
	return &s.SynchronizationRules[0].ObjectMappings[0]
}

// salesOnly scopes users to department Sales.
func salesOnly(s *schema.Schema) {
	userMapping(s).Scope = &schema.Filter{Groups: []schema.FilterGroup{{Name: "sales", Clauses: []schema.FilterClause{
		{OperatorName: "EQUALS", SourceOperandName: "department", TargetOperand: &schema.FilterOperand{Values: []string{"Sales"}}}}}}}
}

// flowTypes sets the User mapping's flow types.
func flowTypes(ft string) func(*schema.Schema) {
	return func(s *schema.Schema) { userMapping(s).FlowTypes = ft }
}

// withoutSoftDelete removes the mapping that reads IsSoftDeleted (active).
func withoutSoftDelete(s *schema.Schema) {
	om := userMapping(s)
	om.AttributeMappings = slices.DeleteFunc(om.AttributeMappings, func(m schema.AttributeMapping) bool {
		return m.TargetAttributeName == "active"
	})
}

// setMapping sets (or adds) the User mapping of target to expression with
// the matching priority. The expression is the test's own: it must parse.
func setMapping(target, expression string, priority int32) func(*schema.Schema) {
	return func(s *schema.Schema) {
		src, err := schema.SourceFromExpression(expression)
		if err != nil {
			panic(fmt.Sprintf("test expression %s: %v", expression, err))
		}
		om := userMapping(s)
		for i := range om.AttributeMappings {
			if m := &om.AttributeMappings[i]; m.TargetAttributeName == target {
				m.Source, m.MatchingPriority = src, priority
				return
			}
		}
		om.AttributeMappings = append(om.AttributeMappings, schema.AttributeMapping{Source: src, TargetAttributeName: target,
			FlowBehavior: "FlowWhenChanged", FlowType: "Always", MatchingPriority: priority})
	}
}

// all applies every edit in order.
func all(edits ...func(*schema.Schema)) func(*schema.Schema) {
	return func(s *schema.Schema) {
		for _, e := range edits {
			e(s)
		}
	}
}

// user creates an enabled directory user "u-<nick>" in department Sales,
// with props on top.
func (f *fixture) user(nick string, props map[string]any) string {
	f.t.Helper()
	p := map[string]any{"displayName": nick, "givenName": nick, "surname": "Golden", "mailNickname": nick,
		"mail": nick + "@contoso.test", "department": "Sales"}
	for k, v := range props {
		p[k] = v
	}
	id := "u-" + nick
	must(f.t, f.st.CreateUser(f.t.Context(), store.User{ID: id, UserPrincipalName: nick + "@contoso.test",
		AccountEnabled: true, Props: p, Created: epoch}))
	return id
}

// editUser changes a directory user.
func (f *fixture) editUser(id string, edit func(*store.User)) {
	f.t.Helper()
	u, err := f.st.GetUser(f.t.Context(), id)
	must(f.t, err)
	edit(&u)
	must(f.t, f.st.UpdateUser(f.t.Context(), u))
}

// setProp sets one property of a directory user.
func (f *fixture) setProp(id, name string, v any) {
	f.editUser(id, func(u *store.User) { u.Props[name] = v })
}

// group creates a directory group "g-<name>" with the members.
func (f *fixture) group(name string, members ...string) string {
	f.t.Helper()
	id := "g-" + name
	must(f.t, f.st.CreateGroup(f.t.Context(), store.Group{ID: id, DisplayName: name, Created: epoch}))
	for _, m := range members {
		must(f.t, f.st.AddMember(f.t.Context(), id, m))
	}
	return id
}

// assign assigns a user or group to the application and returns the
// assignment id.
func (f *fixture) assign(principalID string) string {
	f.t.Helper()
	f.assigned++
	id := fmt.Sprintf("a%d", f.assigned)
	typ := "User"
	if strings.HasPrefix(principalID, "g-") {
		typ = "Group"
	}
	must(f.t, f.st.CreateAppRoleAssignment(f.t.Context(), store.AppRoleAssignment{ID: id,
		AppRoleID: directory.DefaultAppRoleID, PrincipalID: principalID, PrincipalType: typ, ResourceID: spID, Created: epoch}))
	return id
}

// process runs a request that must not fail as a whole.
func (f *fixture) process(req engine.Request) *engine.Outcome {
	f.t.Helper()
	out, err := f.eng.Process(f.t.Context(), f.job, req)
	if err != nil {
		f.t.Fatalf("Process(%s %s): %v", req.ObjectType, req.ObjectID, err)
	}
	checkEncoding(f.t, &out.Event)
	return out
}

func userReq(id string) engine.Request { return engine.Request{ObjectType: "User", ObjectID: id} }

func groupReq(id string, members ...string) engine.Request {
	r := engine.Request{ObjectType: "Group", ObjectID: id}
	for _, m := range members {
		r.Members = append(r.Members, userReq(m))
	}
	return r
}

// mark starts counting target calls afresh (see writes).
func (f *fixture) mark() { f.calls = len(f.tgt.Calls()) }

// writes lists the target writes since mark: "Create User",
// "Update User t1 [title]", "Delete User t1", "AddMembers t2 [t1]".
func (f *fixture) writes() []string {
	var out []string
	for _, c := range f.tgt.Calls()[f.calls:] {
		switch c.Op {
		case memtarget.OpCreate:
			out = append(out, fmt.Sprintf("Create %s", c.Type))
		case memtarget.OpUpdate:
			names := make([]string, 0, len(c.Attrs))
			for k := range c.Attrs {
				names = append(names, k)
			}
			slices.Sort(names)
			out = append(out, fmt.Sprintf("Update %s %s %v", c.Type, c.ID, names))
		case memtarget.OpDelete:
			out = append(out, fmt.Sprintf("Delete %s %s", c.Type, c.ID))
		case memtarget.OpAddMembers, memtarget.OpRemoveMembers:
			out = append(out, fmt.Sprintf("%s %s %v", c.Op, c.ID, c.MemberIDs))
		}
	}
	return out
}

// anchor returns the target id the subject is anchored to, "" if none.
func (f *fixture) anchor(sourceType, sourceID string) string {
	f.t.Helper()
	a, err := f.st.GetAnchor(f.t.Context(), jobID, sourceType, sourceID)
	if err != nil {
		return ""
	}
	return a.TargetID
}

// anchors lists every anchor as "SourceType/SourceID -> TargetType/TargetID".
func (f *fixture) anchors() []string {
	f.t.Helper()
	as, err := f.st.ListAnchors(f.t.Context(), jobID)
	must(f.t, err)
	out := []string{}
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s/%s -> %s/%s", a.SourceType, a.SourceID, a.TargetType, a.TargetID))
	}
	return out
}

func (f *fixture) logs() []store.ProvisioningLog {
	f.t.Helper()
	ls, err := f.st.ListProvisioningLogs(f.t.Context(), jobID, store.ListOptions{})
	must(f.t, err)
	return ls
}

// loggedEvent returns the stored event with the change id.
func (f *fixture) loggedEvent(changeID string) (engine.Event, bool) {
	f.t.Helper()
	for _, l := range f.logs() {
		if l.ChangeID == changeID {
			var ev engine.Event
			must(f.t, json.Unmarshal(l.Data, &ev))
			return ev, true
		}
	}
	return engine.Event{}, false
}

// summary is what a case pins of an outcome: status, action, code, each
// step as name/type/status, and the modified property names.
type summary struct {
	Status   engine.Status
	Action   engine.Action
	Code     string
	Steps    []string
	Modified []string
}

func summarize(out *engine.Outcome) summary {
	s := summary{Status: out.Status, Action: out.Action, Code: out.Code}
	for _, st := range out.Event.ProvisioningSteps {
		s.Steps = append(s.Steps, st.Name+"/"+st.Type+"/"+st.Status)
	}
	for _, p := range out.Event.ModifiedProperties {
		s.Modified = append(s.Modified, p.DisplayName)
	}
	return s
}

// checkEvent checks what every outcome must agree with: its event's
// status, action and error code, and a skip step's SkipReason.
func checkEvent(t *testing.T, out *engine.Outcome) {
	t.Helper()
	checkEncoding(t, &out.Event)
	info := out.Event.StatusInfo
	if info.Status != string(out.Status) || out.Event.Action != string(out.Action) {
		t.Errorf("event says %s/%s, outcome %s/%s", info.Status, out.Event.Action, out.Status, out.Action)
	}
	if out.Status == engine.StatusFailure && (info.ErrorCode == nil || *info.ErrorCode != out.Code || info.Reason == nil || *info.Reason != out.Message) {
		t.Errorf("failure event errorCode/reason = %v/%v, outcome %q/%q", info.ErrorCode, info.Reason, out.Code, out.Message)
	}
	steps := out.Event.ProvisioningSteps
	if n := len(steps); n > 0 && steps[n-1].Name == "EntrySynchronizationSkip" {
		if r, _ := steps[n-1].Details.Get("SkipReason"); r != out.Code {
			t.Errorf("SkipReason = %q, outcome code %q", r, out.Code)
		}
	}
}

// userAttrs is what the default mappings write for f.user(nick, nil).
func userAttrs(nick string, active string) connector.Attributes {
	return connector.Attributes{
		"userName": {nick + "@contoso.test"}, "active": {active}, "displayName": {nick},
		workEmail: {nick + "@contoso.test"}, "name.givenName": {nick}, "name.familyName": {"Golden"},
		"name.formatted": {nick + " Golden"}, "externalId": {nick}, dept: {"Sales"},
	}
}

// createdNames are the modified properties of creating f.user(nick, nil).
var createdNames = []string{"userName", "active", "displayName", workEmail, "name.givenName", "name.familyName",
	"name.formatted", "externalId", dept}

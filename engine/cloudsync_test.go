package engine_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/adfake"
	"provisiond/directory"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/store"
	"provisiond/store/memory"
)

// cloudSyncFixture is an AD2AADProvisioning job over an in-memory AD into
// the built-in directory (a real store), run as the jobs service runs
// cloud-sync jobs (CloudSync) or, for comparison, without it.
type cloudSyncFixture struct {
	t   *testing.T
	st  *memory.Store
	ad  *adfake.Source
	eng *engine.Engine
	job *engine.Job
	n   int
}

func newCloudSyncFixture(t *testing.T, cloudSync bool) *cloudSyncFixture {
	t.Helper()
	comp, err := schema.Compile(schema.AD2AADSchema())
	if err != nil {
		t.Fatal(err)
	}
	f := &cloudSyncFixture{t: t, st: memory.New(), ad: adfake.New(schema.DirectoryAD, "objectGUID")}
	ctx := t.Context()
	must(t, f.st.CreateServicePrincipal(ctx,
		store.Application{ID: "app-1", AppID: "appid-1", DisplayName: "Cloud sync", Created: epoch},
		store.ServicePrincipal{ID: spID, AppID: "appid-1", ApplicationID: "app-1", DisplayName: "Cloud sync", Created: epoch}))
	must(t, f.st.CreateJob(ctx, store.Job{ID: jobID, ServicePrincipalID: spID, TemplateID: schema.TemplateAD2AAD, Created: epoch, Updated: epoch}))
	f.eng = engine.New(engine.Config{State: f.st, Now: func() time.Time { return epoch },
		NewID: func() string { f.n++; return fmt.Sprintf("c%d", f.n) }})
	f.job = &engine.Job{
		ID: jobID, ServicePrincipalID: spID, Rule: comp.Rules[0], CloudSync: cloudSync,
		Source: f.ad, Target: directory.NewTarget(f.st, func() time.Time { return epoch }, nil),
	}
	return f
}

func (f *cloudSyncFixture) process(id string) *engine.Outcome {
	f.t.Helper()
	out, err := f.eng.Process(f.t.Context(), f.job, engine.Request{ObjectType: "user", ObjectID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

const adeleGUID = "1b17a238-048b-4b21-8133-ca8ae52c4173"

func adele(disabled bool) adfake.Entry {
	return adfake.Entry{ID: adeleGUID, DN: "CN=AdeleV,CN=Users,DC=corp,DC=chicago,DC=com", Disabled: disabled,
		Attrs: connector.Attributes{"userPrincipalName": {"adelev@chicago.com"}, "sAMAccountName": {"adelev"},
			"cn": {"Adele Vest"}, "objectSid": {"S-1-5-21-2131559260-2045905398-530207130-93720"}}}
}

// steps lists an outcome's steps as name/type/status: description.
func steps(out *engine.Outcome) []string {
	var s []string
	for _, st := range out.Event.ProvisioningSteps {
		s = append(s, st.Name+"/"+st.Type+"/"+st.Status+": "+st.Description)
	}
	return s
}

// A cloud-sync job's steps are cloud sync's (seed example 2): the change
// received (Add, then Update once linked) before the retrieval, cloud
// sync's scoping lines, "User '...' was created/updated".
func TestCloudSyncSteps(t *testing.T) {
	f := newCloudSyncFixture(t, true)
	f.ad.Put(adele(false))
	out := f.process(adeleGUID)
	want := []string{
		"EntryImportAdd/Import/Success: Received user 'adelev@chicago.com' change of type (Add) from Active Directory",
		"EntryImport/Import/Success: Retrieved user 'adelev@chicago.com' from Active Directory",
		"EntrySynchronizationScoping/Scoping/Success: Determine if user in scope by evaluating against each scoping filter",
		"EntryImportObjectNotFound/Matching/Success: No matching User was found in Azure Active Directory for 'adelev@chicago.com'",
		"EntryExportAdd/Export/Success: User 'adelev@chicago.com' was created in Azure Active Directory",
	}
	if d := cmp.Diff(want, steps(out)); d != "" {
		t.Errorf("steps of a create (-want +got):\n%s", d)
	}
	// An entry without displayName is named in the log by its common name.
	if dn := out.Event.SourceIdentity.DisplayName; dn == nil || *dn != "Adele Vest" {
		t.Errorf("sourceIdentity.displayName = %v, want the cn", dn)
	}
	scoping := out.Event.ProvisioningSteps[2].Details
	if d := cmp.Diff(engine.Details{{Key: "Active in the source system", Value: "True"}, {Key: "Scoping filter evaluation passed", Value: "True"}}, scoping); d != "" {
		t.Errorf("scoping details (-want +got):\n%s", d)
	}
	// Both import steps show the same attributes, binary ones as base64.
	add, imp := out.Event.ProvisioningSteps[0].Details, out.Event.ProvisioningSteps[1].Details
	if d := cmp.Diff(add, imp); d != "" {
		t.Errorf("EntryImportAdd and EntryImport details differ (-add +import):\n%s", d)
	}
	for k, want := range map[string]string{"objectSid": "AQUAAAAAAAUVAAAAXAMNf/YJ8nmaUZofGG4BAA==", "objectGUID": "OKIXG4sEIUuBM8qK5SxBcw==", "accountDisabled": "False"} {
		if got, _ := imp.Get(k); got != want {
			t.Errorf("import %s = %q, want %q", k, got, want)
		}
	}

	f.ad.Modify(adeleGUID, connector.Attributes{"cn": {"Adele Vance"}})
	out = f.process(adeleGUID)
	want = []string{
		"EntryImportUpdate/Import/Success: Received user 'adelev@chicago.com' change of type (Update) from Active Directory",
		"EntryImport/Import/Success: Retrieved user 'adelev@chicago.com' from Active Directory",
		"EntrySynchronizationScoping/Scoping/Success: Determine if user in scope by evaluating against each scoping filter",
		"EntryImport/Matching/Success: Retrieved User 'adelev@chicago.com' from Azure Active Directory (matched by anchor)",
		"EntryExportUpdate/Export/Success: User 'adelev@chicago.com' was updated in Azure Active Directory",
	}
	if d := cmp.Diff(want, steps(out)); d != "" {
		t.Errorf("steps of an update (-want +got):\n%s", d)
	}
	// The directory user: Graph's SID form, Entra's immutable id.
	u, err := f.st.GetUser(t.Context(), out.TargetID)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"onPremisesSecurityIdentifier": "S-1-5-21-2131559260-2045905398-530207130-93720",
		"onPremisesImmutableId": "OKIXG4sEIUuBM8qK5SxBcw=="} {
		if u.Props[k] != want {
			t.Errorf("directory user %s = %v, want %v", k, u.Props[k], want)
		}
	}
	// Nothing changed: the SID read back compares equal to the mapping's.
	if out := f.process(adeleGUID); out.Code != "RedundantExport" {
		t.Errorf("again: %s %s, want RedundantExport; steps %v", out.Status, out.Code, steps(out))
	}
}

// Cloud sync creates a disabled AD account, disabled; a SCIM-style job
// (without CloudSync) still skips what is disabled in the source.
func TestCloudSyncCreatesDisabledAccounts(t *testing.T) {
	f := newCloudSyncFixture(t, true)
	f.ad.Put(adele(true))
	out := f.process(adeleGUID)
	if out.Status != engine.StatusSuccess || out.Action != engine.ActionCreate {
		t.Fatalf("a disabled AD account: %s %s %s, want Success Create; steps %v", out.Status, out.Action, out.Code, steps(out))
	}
	u, err := f.st.GetUser(t.Context(), out.TargetID)
	if err != nil || u.AccountEnabled {
		t.Errorf("directory user: accountEnabled %v, %v; want false", u.AccountEnabled, err)
	}
	// Enabled on premises: enabled in the directory.
	f.ad.Put(adele(false))
	if out := f.process(adeleGUID); out.Action != engine.ActionUpdate {
		t.Errorf("enabled: %s %s, want Update", out.Status, out.Action)
	}
	if u, _ := f.st.GetUser(t.Context(), out.TargetID); !u.AccountEnabled {
		t.Error("enabled on premises, still disabled in the directory")
	}

	g := newCloudSyncFixture(t, false)
	g.ad.Put(adele(true))
	if out := g.process(adeleGUID); out.Code != "NotEffectivelyEntitled" {
		t.Errorf("without CloudSync, a disabled account: %s %s %s, want Skipped NotEffectivelyEntitled", out.Status, out.Action, out.Code)
	}
	if us, _ := g.st.ListUsers(t.Context(), store.ListOptions{}); len(us) != 0 {
		t.Errorf("without CloudSync, a disabled account was created: %v", us)
	}
}

// The provisioning log keeps who initiated the event; the event itself
// (the on-demand answer) does not carry it.
func TestInitiatedByIsLogged(t *testing.T) {
	f := newCloudSyncFixture(t, true)
	f.ad.Put(adele(false))
	f.job.InitiatedBy = &engine.Initiator{ID: "u-1", DisplayName: "admin@contoso.com", Type: engine.InitiatorUser}
	out := f.process(adeleGUID)
	if b, _ := json.Marshal(out.Event); containsKey(t, b, "initiatedBy") {
		t.Errorf("the event carries initiatedBy: %s", b)
	}
	f.job.InitiatedBy = nil
	f.ad.Modify(adeleGUID, connector.Attributes{"cn": {"Adele Vance"}})
	f.process(adeleGUID)
	logs, err := f.st.ListProvisioningLogs(t.Context(), jobID, store.ListOptions{})
	if err != nil || len(logs) != 2 {
		t.Fatalf("logs: %d, %v; want 2", len(logs), err)
	}
	got := map[string]*engine.Initiator{}
	for _, l := range logs {
		var v struct {
			InitiatedBy *engine.Initiator `json:"initiatedBy"`
		}
		must(t, json.Unmarshal(l.Data, &v))
		got[l.ChangeID] = v.InitiatedBy
	}
	want := map[string]*engine.Initiator{out.Event.ChangeID: {ID: "u-1", DisplayName: "admin@contoso.com", Type: engine.InitiatorUser}}
	for _, l := range logs {
		if l.ChangeID != out.Event.ChangeID {
			want[l.ChangeID] = nil
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("initiatedBy by change (-want +got):\n%s", d)
	}
}

func containsKey(t *testing.T, b []byte, key string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	must(t, json.Unmarshal(b, &m))
	_, ok := m[key]
	return ok
}

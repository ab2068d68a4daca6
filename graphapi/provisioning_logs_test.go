package graphapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"provisiond/store"
)

// logTest is an API with one service principal, two jobs and six logs
// whose events look like the engine's.
type logTest struct {
	*apiTest
	sp string
}

var logT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newLogTest(t *testing.T) logTest {
	a := newAPITest(t, func(c *Config) { c.Sync = &Sync{} })
	ctx := context.Background()
	inst := a.must(http.StatusCreated, "POST", "/v1.0/applicationTemplates/"+nonGalleryTemplateID+"/instantiate", map[string]any{"displayName": "Logs"}).object(t)
	sp := inst["servicePrincipal"].(map[string]any)["id"].(string)
	for _, job := range []string{"job.1", "job.2"} {
		now := time.Now()
		if err := a.store.CreateJob(ctx, store.Job{ID: job, ServicePrincipalID: sp, TemplateID: "scim", Schema: []byte("{}"), Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		job, cycle, action, status, src, name, target string
	}
	for i, r := range []row{
		{"job.1", "cy1", "Create", "Success", "u1", "Alice Adams", "t1"},
		{"job.1", "cy1", "Update", "Failure", "u2", "Bob Brown", "t2"},
		{"job.2", "cy2", "Other", "Skipped", "u3", "Carol", ""},
		{"job.1", "", "Disable", "Success", "u1", "Alice Adams", "t1"},
		{"job.2", "cy2", "StagedDelete", "Skipped", "u4", "Dave", "t4"},
		{"job.1", "cy3", "Create", "Success", "u5", "Alfred", "t5"},
	} {
		start := logT0.Add(time.Duration(i) * time.Minute)
		ev := map[string]any{
			"action": r.action, "changeId": fmt.Sprint("ch", i), "cycleId": r.cycle,
			"startTime": start.Format(time.RFC3339Nano), "endTime": start.Add(1500 * time.Millisecond).Format(time.RFC3339Nano),
			"modifiedProperties": []any{map[string]any{"displayName": "userName", "oldValue": nil, "newValue": r.name}},
			"provisioningSteps": []any{map[string]any{"name": "EntryImport", "type": "Import", "status": "Success",
				"description": "read", "timestamp": start.Format(time.RFC3339Nano), "details": map[string]any{"k": "v"}}},
			"statusInfo":     map[string]any{"status": r.status},
			"sourceIdentity": map[string]any{"id": r.src, "type": "User", "displayName": r.name, "details": map[string]any{}},
			"sourceSystem":   map[string]any{"id": nil, "name": "Entra ID", "details": map[string]any{}},
			"targetIdentity": map[string]any{"id": r.target, "type": "urn:User", "displayName": nil, "details": map[string]any{}},
			"targetSystem":   map[string]any{"id": nil, "name": "SCIM", "details": map[string]any{}},
		}
		if r.status == "Failure" {
			si := ev["statusInfo"].(map[string]any)
			si["errorCode"], si["reason"], si["errorCategory"] = "SystemForCrossDomainIdentityManagementBadResponse", "the target said 500", "NonServiceFailure"
		}
		data, _ := json.Marshal(ev)
		l := store.ProvisioningLog{ID: fmt.Sprint("log", i), JobID: r.job, ServicePrincipalID: sp, ChangeID: fmt.Sprint("ch", i),
			Activity: start, CycleID: r.cycle, Action: r.action, Status: r.status, SourceID: r.src, SourceName: r.name, TargetID: r.target, Data: data}
		if err := a.store.AddProvisioningLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	return logTest{a, sp}
}

// ids lists the logs a query returns (one page).
func (lt logTest) ids(t *testing.T, query string) []string {
	t.Helper()
	var out []string
	for _, v := range lt.must(http.StatusOK, "GET", "/v1.0/auditLogs/provisioning?"+query, nil).values(t) {
		out = append(out, v["id"].(string))
	}
	return out
}

func filterQ(f string) string { return "$filter=" + url.QueryEscape(f) }

func TestProvisioningLogShape(t *testing.T) {
	lt := newLogTest(t)
	body := lt.must(http.StatusOK, "GET", "/v1.0/auditLogs/provisioning?"+filterQ("changeId eq 'ch1'"), nil).object(t)
	if c, _ := body["@odata.context"].(string); !strings.HasSuffix(c, "/$metadata#auditLogs/provisioning") {
		t.Errorf("@odata.context = %q", c)
	}
	want := map[string]any{
		"id": "log1", "activityDateTime": "2026-01-01T00:01:00Z", "changeId": "ch1", "cycleId": "cy1",
		"durationInMilliseconds": 1500, "jobId": "job.1", "tenantId": "tenant-1",
		"initiatedBy":        map[string]any{"id": "", "displayName": "provisiond", "initiatorType": "system"},
		"modifiedProperties": []any{map[string]any{"displayName": "userName", "oldValue": nil, "newValue": "Bob Brown"}},
		"provisioningAction": "update",
		"provisioningStatusInfo": map[string]any{"status": "failure", "errorInformation": map[string]any{
			"errorCode": "SystemForCrossDomainIdentityManagementBadResponse", "reason": "the target said 500",
			"additionalDetails": nil, "errorCategory": "nonServiceFailure", "recommendedAction": nil}},
		"provisioningSteps": []any{map[string]any{"name": "EntryImport", "provisioningStepType": "import", "status": "success",
			"description": "read", "details": map[string]any{"k": "v"}}},
		"servicePrincipal": map[string]any{"id": lt.sp, "displayName": "Logs"},
		"sourceIdentity":   map[string]any{"id": "u2", "displayName": "Bob Brown", "identityType": "User", "details": map[string]any{}},
		"sourceSystem":     map[string]any{"id": nil, "displayName": "Entra ID", "details": map[string]any{}},
		"targetIdentity":   map[string]any{"id": "t2", "displayName": nil, "identityType": "urn:User", "details": map[string]any{}},
		"targetSystem":     map[string]any{"id": nil, "displayName": "SCIM", "details": map[string]any{}},
	}
	vals := body["value"].([]any)
	if len(vals) != 1 {
		t.Fatalf("%d logs, want 1", len(vals))
	}
	got := vals[0].(map[string]any)
	if tid, _ := got["tenantId"].(string); tid == "" {
		t.Error("tenantId is empty, want the caller's tenant")
	}
	got["tenantId"] = "tenant-1" // the caller's, whatever the test auth calls it
	diff(t, "log", got, jsonValue(t, want))
	// An on-demand event has no cycle; a success no error information.
	v := lt.must(http.StatusOK, "GET", "/v1.0/auditLogs/provisioning?"+filterQ("changeId eq 'ch3'"), nil).values(t)[0]
	if v["cycleId"] != nil || v["provisioningStatusInfo"].(map[string]any)["errorInformation"] != nil || v["provisioningAction"] != "disable" {
		t.Errorf("on-demand success = %v", v)
	}
	if v := lt.ids(t, filterQ("provisioningAction eq 'stagedDelete'")); !slices.Equal(v, []string{"log4"}) {
		t.Errorf("stagedDelete logs = %v", v)
	}
}

func TestProvisioningLogFilters(t *testing.T) {
	lt := newLogTest(t)
	tests := []struct {
		filter string
		want   []string
	}{
		{"jobId eq 'job.2'", []string{"log4", "log2"}},
		{"jobId ne 'job.1'", []string{"log4", "log2"}},
		{"cycleId eq 'cy1'", []string{"log1", "log0"}},
		{"changeId eq 'CH5'", []string{"log5"}},
		{"provisioningAction eq 'create'", []string{"log5", "log0"}},
		{"provisioningAction eq 'Create'", []string{"log5", "log0"}},
		{"provisioningStatusInfo/status eq 'skipped'", []string{"log4", "log2"}},
		{"provisioningStatusInfo/status ne 'success'", []string{"log4", "log2", "log1"}},
		{"servicePrincipal/id eq '" + lt.sp + "'", []string{"log5", "log4", "log3", "log2", "log1", "log0"}},
		{"sourceIdentity/id eq 'u1'", []string{"log3", "log0"}},
		{"sourceIdentity/displayName eq 'carol'", []string{"log2"}},
		{"startswith(sourceIdentity/displayName,'al')", []string{"log5", "log3", "log0"}},
		{"contains(sourceIdentity/displayName,'b')", []string{"log1"}},
		{"targetIdentity/id eq 't1'", []string{"log3", "log0"}},
		{"targetIdentity/id eq null", []string{"log2"}},
		{"activityDateTime ge 2026-01-01T00:04:00Z", []string{"log5", "log4"}},
		{"activityDateTime gt 2026-01-01T00:04:00Z", []string{"log5"}},
		{"activityDateTime lt 2026-01-01T00:01:00Z", []string{"log0"}},
		{"activityDateTime le 2026-01-01T00:01:00Z", []string{"log1", "log0"}},
		{"activityDateTime ge 2026-01-01T00:01:00Z and activityDateTime le 2026-01-01T00:03:00Z", []string{"log3", "log2", "log1"}},
		{"jobId eq 'job.1' and (provisioningAction eq 'Disable' or provisioningStatusInfo/status eq 'failure')", []string{"log3", "log1"}},
		{"cycleId eq 'cy3' or cycleId eq 'cy2'", []string{"log5", "log4", "log2"}},
		{"sourceIdentity/id gt 'u3'", []string{"log5", "log4"}},
		{"sourceIdentity/id lt 'u2'", []string{"log3", "log0"}},
	}
	for _, tt := range tests {
		if got := lt.ids(t, filterQ(tt.filter)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestProvisioningLogFilterErrors(t *testing.T) {
	lt := newLogTest(t)
	for _, tt := range []struct{ filter, code, want string }{
		{"action eq 'Create'", "Request_BadRequest", "Could not find a property named 'action' on type 'microsoft.graph.provisioningObjectSummary'"},
		{"sourceIdentity/upn eq 'x'", "Request_BadRequest", "'sourceIdentity/upn'"},
		{"jobId has 'x'", "Request_UnsupportedQuery", "'has'"},
		{"activityDateTime ge 'tomorrow'", "BadRequest", "Edm.DateTimeOffset"},
		{"contains(activityDateTime,'1')", "Request_UnsupportedQuery", "Edm.DateTimeOffset"},
	} {
		lt.call("GET", "/v1.0/auditLogs/provisioning?"+filterQ(tt.filter), nil).wantError(t, http.StatusBadRequest, tt.code, tt.want)
	}
	lt.call("GET", "/v1.0/auditLogs/provisioning?$orderby=jobId", nil).wantError(t, http.StatusBadRequest, "BadRequest", "activityDateTime")
	lt.call("GET", "/v1.0/auditLogs/provisioning?$select=statusInfo", nil).wantError(t, http.StatusBadRequest, "Request_BadRequest", "statusInfo", "provisioningObjectSummary")
}

func TestProvisioningLogOrderBy(t *testing.T) {
	lt := newLogTest(t)
	newest := []string{"log5", "log4", "log3", "log2", "log1", "log0"}
	oldest := slices.Clone(newest)
	slices.Reverse(oldest)
	for q, want := range map[string][]string{
		"":                                 newest,
		"$orderby=activityDateTime%20desc": newest,
		"$orderby=activityDateTime":        oldest,
		"$orderby=activityDateTime%20asc":  oldest,
	} {
		if got := lt.ids(t, q); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
}

func TestProvisioningLogPagingAndCount(t *testing.T) {
	lt := newLogTest(t)
	for _, order := range []string{"desc", "asc"} {
		path := "/v1.0/auditLogs/provisioning?$top=2&$count=true&$orderby=activityDateTime%20" + order + "&" + filterQ("jobId eq 'job.1'")
		var got []string
		for path != "" {
			body := lt.must(http.StatusOK, "GET", path, nil).object(t)
			if body["@odata.count"] != float64(4) {
				t.Errorf("%s: @odata.count = %v, want 4", order, body["@odata.count"])
			}
			for _, v := range body["value"].([]any) {
				got = append(got, v.(map[string]any)["id"].(string))
			}
			next, _ := body["@odata.nextLink"].(string)
			path = ""
			if next != "" {
				u, err := url.Parse(next)
				if err != nil {
					t.Fatal(err)
				}
				path = u.RequestURI()
			}
			if len(got) > 10 {
				t.Fatal("paging does not end")
			}
		}
		want := []string{"log5", "log3", "log1", "log0"}
		if order == "asc" {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s pages: %v, want %v", order, got, want)
		}
	}
	lt.call("GET", "/v1.0/auditLogs/provisioning?$skiptoken=garbage", nil).wantError(t, http.StatusBadRequest, "BadRequest", "$skiptoken")
}

func TestProvisioningLogSelect(t *testing.T) {
	lt := newLogTest(t)
	body := lt.must(http.StatusOK, "GET", "/v1.0/auditLogs/provisioning?$select=ChangeId,provisioningStatusInfo&$top=1", nil).object(t)
	diff(t, "selected", body["value"], jsonValue(t, []map[string]any{{"id": "log5", "changeId": "ch5", "provisioningStatusInfo": map[string]any{"status": "success", "errorInformation": nil}}}))
	if c, _ := body["@odata.context"].(string); !strings.HasSuffix(c, "/$metadata#auditLogs/provisioning(changeId,provisioningStatusInfo)") {
		t.Errorf("@odata.context = %q", c)
	}
}

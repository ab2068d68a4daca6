package graphapi

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"provisiond/graphapi/odata"
	"provisiond/store"
	"provisiond/store/memory"
	"provisiond/store/sqlstore"
)

// FuzzLogFilter: a $filter the parser accepts translates into a store
// condition that the SQL store and the in-memory store (store.LogCond.Match)
// answer alike; one it refuses is a Graph 400, never a panic.
func FuzzLogFilter(f *testing.F) {
	for _, s := range []string{
		"jobId eq 'j1'",
		"provisioningAction eq 'create' or provisioningStatusInfo/status ne 'Success'",
		"(cycleId eq 'c1' or cycleId eq '') and activityDateTime ge 2026-01-01T00:00:30Z",
		"startswith(sourceIdentity/displayName,'a_') or contains(targetIdentity/id,'%')",
		"sourceIdentity/id gt 'U1' and sourceIdentity/id le 'u9' and servicePrincipal/id eq 'sp'",
		"activityDateTime lt 2026-01-01 or activityDateTime ne 2026-01-01T00:01:00.0000001Z",
		"changeId eq null and targetIdentity/id eq 'É'",
		"((jobId eq 'x'))",
		"jobId eq 'a' or",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	sql, err := sqlstore.OpenSQLite(ctx, filepath.Join(f.TempDir(), "logs.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sql.Close() })
	mem := memory.New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []store.Store{sql, mem} {
		if err := s.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}); err != nil {
			f.Fatal(err)
		}
		if err := s.CreateJob(ctx, store.Job{ID: "j1", ServicePrincipalID: "sp", TemplateID: "scim", Created: t0, Updated: t0}); err != nil {
			f.Fatal(err)
		}
		for i, v := range []string{"", "a_b", "A%c", "u1", "U2", "é", "É", "x'y", "c1"} {
			l := store.ProvisioningLog{ID: fmt.Sprint("l", i), JobID: "j1", ServicePrincipalID: "sp", ChangeID: v,
				Activity: t0.Add(time.Duration(i) * 15 * time.Second), CycleID: v, Action: []string{"Create", "Update", "Other"}[i%3],
				Status: []string{"Success", "Skipped"}[i%2], SourceID: v, SourceName: v, TargetID: v}
			if err := s.AddProvisioningLog(ctx, l); err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, filter string) {
		q, err := odata.Parse("$filter="+url.QueryEscape(filter), logFields)
		if err != nil {
			if _, ok := err.(*odata.Error); !ok {
				t.Fatalf("parse error %T %v, want *odata.Error", err, err)
			}
			return
		}
		lq, err := logQuery(q)
		if err != nil {
			t.Fatalf("an accepted filter does not translate: %v", err)
		}
		lq.Count = true
		var got [2][]string
		for i, s := range []store.Store{sql, mem} {
			p, err := s.QueryProvisioningLogs(ctx, lq)
			if err != nil {
				t.Fatalf("query %q: %v", filter, err)
			}
			if p.Count != len(p.Logs) {
				t.Fatalf("count %d for %d logs", p.Count, len(p.Logs))
			}
			for _, l := range p.Logs {
				got[i] = append(got[i], l.ID)
			}
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("%q: SQL store %v, memory store %v", filter, got[0], got[1])
		}
	})
}

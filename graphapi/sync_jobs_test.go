package graphapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"provisiond/jobs"
	"provisiond/secrets"
	"provisiond/store"
)

// newSyncTest is an apiTest serving the synchronization API, with one
// non-gallery service principal; it returns the path of its
// synchronization resource.
func newSyncTest(t *testing.T) (*apiTest, string) {
	t.Helper()
	box := testBox(t)
	a := newAPITest(t, func(c *Config) { c.Sync = &Sync{Jobs: jobs.New(jobs.Options{Store: c.Store, Secrets: box})} })
	sp := a.instantiate("Parallel SCIM")
	return a, "/v1.0/servicePrincipals/" + sp["id"].(string) + "/synchronization"
}

// TestPatchJobConcurrent sends PATCHes of different settings of one job at
// once: every one must take effect (none may overwrite another's setting
// with the job as it read it before).
func TestPatchJobConcurrent(t *testing.T) {
	a, base := newSyncTest(t)
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{"templateId": "scim"}).object(t)
	path := a.http.URL + base + "/jobs/" + job["id"].(string)

	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body, _ := json.Marshal(map[string]any{"synchronizationJobSettings": []any{
				map[string]any{"name": fmt.Sprintf("Setting%02d", i), "value": fmt.Sprint(i)}}})
			req, _ := http.NewRequest("PATCH", path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer test")
			req.Header.Set("Content-Type", "application/json")
			res, err := a.http.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			if b, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("PATCH Setting%02d: status %d: %s", i, res.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got := a.must(http.StatusOK, "GET", base+"/jobs/"+job["id"].(string), nil).object(t)
	have := map[string]any{}
	for _, kv := range got["synchronizationJobSettings"].([]any) {
		kv := kv.(map[string]any)
		have[kv["name"].(string)] = kv["value"]
	}
	want := map[string]any{"QuarantineTooManyDeletesThreshold": "500"}
	for i := range n {
		want[fmt.Sprintf("Setting%02d", i)] = fmt.Sprint(i)
	}
	diff(t, "settings after concurrent PATCHes", have, want)
}

// TestNewJobStatusAndSchedule pins the Graph shape of a new job's status
// and schedule, before and after credentials are saved.
func TestNewJobStatusAndSchedule(t *testing.T) {
	a, base := newSyncTest(t)
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{"templateId": "scim"}).object(t)
	wantStatus := func(code string) map[string]any {
		return map[string]any{
			"code": code, "countSuccessiveCompleteFailures": float64(0), "escrowsPruned": false,
			"lastExecution": nil, "lastSuccessfulExecution": nil, "lastSuccessfulExecutionWithExports": nil,
			"progress": []any{}, "quarantine": nil,
			"steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z", "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
			"synchronizedEntryCountByType": []any{}, "troubleshootingUrl": nil,
		}
	}
	diff(t, "new job status", job["status"], wantStatus("NotConfigured"))
	diff(t, "new job schedule", job["schedule"], map[string]any{
		"expiration": nil, "interval": "P10675199DT2H48M5.4775807S", "state": "Disabled"})

	a.must(http.StatusNoContent, "PUT", base+"/secrets", map[string]any{"value": []any{
		map[string]any{"key": "BaseAddress", "value": "https://scim.example.com"}}})
	got := a.must(http.StatusOK, "GET", base+"/jobs/"+job["id"].(string), nil).object(t)
	diff(t, "job status after saving credentials", got["status"], wantStatus("NotRun"))
}

// TestJobStatusView stores a status with every field set and expects
// Graph's synchronizationStatus and synchronizationSchedule, times in UTC.
func TestJobStatusView(t *testing.T) {
	a, base := newSyncTest(t)
	job := a.must(http.StatusCreated, "POST", base+"/jobs", map[string]any{"templateId": "scim"}).object(t)
	spID := strings.Split(base, "/")[3]
	zone := time.FixedZone("UTC+02:00", 2*3600)
	at := func(h int) time.Time { return time.Date(2025, 3, 4, h, 30, 0, 500_000_000, zone) }
	_, err := a.store.UpdateJob(t.Context(), spID, job["id"].(string), func(j *store.Job) error {
		j.Schedule = store.Schedule{Interval: "PT40M", State: store.ScheduleActive, Expiration: ptrTo(at(9))}
		j.Status = store.Status{
			Code: store.StatusQuarantine, CountSuccessiveCompleteFailures: 4, EscrowsPruned: true,
			LastExecution: &store.Execution{ActivityIdentifier: "act", CountEntitled: 1, CountEntitledForProvisioning: 2,
				CountEscrowed: 3, CountEscrowedRaw: 4, CountExported: 5, CountExports: 6, CountImported: 7,
				CountImportedDeltas: 8, CountImportedReferenceDeltas: 9, State: store.ExecutionFailed,
				Error:     &store.SyncError{Code: "SecretTokenInvalid", Message: "401 from the target", TenantActionable: true},
				TimeBegan: at(10), TimeEnded: at(11)},
			Progress:                     []store.Progress{{CompletedUnits: 3, TotalUnits: 9, Units: "Users", Observed: at(12)}},
			Quarantine:                   &store.Quarantine{Reason: "EncounteredQuarantineException", CurrentBegan: at(13), NextAttempt: at(14), SeriesBegan: at(13), SeriesCount: 1},
			SteadyStateFirstAchieved:     at(8),
			SynchronizedEntryCountByType: []store.EntryCount{{Key: "user to User", Value: 12}},
			TroubleshootingURL:           "https://example.com/help",
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := a.must(http.StatusOK, "GET", base+"/jobs/"+job["id"].(string), nil).object(t)
	diff(t, "schedule", got["schedule"], map[string]any{
		"expiration": "2025-03-04T07:30:00.5Z", "interval": "PT40M", "state": "Active"})
	diff(t, "status", got["status"], map[string]any{
		"code": "Quarantine", "countSuccessiveCompleteFailures": float64(4), "escrowsPruned": true,
		"lastExecution": map[string]any{
			"activityIdentifier": "act", "countEntitled": float64(1), "countEntitledForProvisioning": float64(2),
			"countEscrowed": float64(3), "countEscrowedRaw": float64(4), "countExported": float64(5), "countExports": float64(6),
			"countImported": float64(7), "countImportedDeltas": float64(8), "countImportedReferenceDeltas": float64(9),
			"error": map[string]any{"code": "SecretTokenInvalid", "message": "401 from the target", "tenantActionable": true},
			"state": "Failed", "timeBegan": "2025-03-04T08:30:00.5Z", "timeEnded": "2025-03-04T09:30:00.5Z",
		},
		"lastSuccessfulExecution": nil, "lastSuccessfulExecutionWithExports": nil,
		"progress": []any{map[string]any{"completedUnits": float64(3), "progressObservationDateTime": "2025-03-04T10:30:00.5Z",
			"totalUnits": float64(9), "units": "Users"}},
		"quarantine": map[string]any{"currentBegan": "2025-03-04T11:30:00.5Z", "error": nil, "nextAttempt": "2025-03-04T12:30:00.5Z",
			"reason": "EncounteredQuarantineException", "seriesBegan": "2025-03-04T11:30:00.5Z", "seriesCount": float64(1)},
		"steadyStateFirstAchievedTime": "2025-03-04T06:30:00.5Z", "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
		"synchronizedEntryCountByType": []any{map[string]any{"key": "user to User", "value": float64(12)}},
		"troubleshootingUrl":           "https://example.com/help",
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestListSecrets: GET .../secrets names the keys set, never their values.
func TestListSecrets(t *testing.T) {
	a, base := newSyncTest(t)
	got := a.must(http.StatusOK, "GET", base+"/secrets", nil).object(t)
	diff(t, "secrets never put", got["value"], []any{})
	a.must(http.StatusNoContent, "PUT", base+"/secrets", map[string]any{"value": []any{
		map[string]any{"key": "BaseAddress", "value": "https://scim.example.com"},
		map[string]any{"key": "SecretToken", "value": "s3cret-value"}}})
	res := a.must(http.StatusOK, "GET", base+"/secrets", nil)
	diff(t, "secrets set", res.object(t)["value"], []any{
		map[string]any{"key": "BaseAddress", "value": nil}, map[string]any{"key": "SecretToken", "value": nil}})
	if raw := fmt.Sprint(res.object(t)); strings.Contains(raw, "s3cret-value") || strings.Contains(raw, "scim.example.com") {
		t.Errorf("GET secrets shows a value: %s", raw)
	}
}

// TestFlagSecretsAreBooleans: the secrets read as flags take True or
// False in any case, and refuse anything else, which would silently mean
// false.
func TestFlagSecretsAreBooleans(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"SkipOutOfScopeDeletions", "True", true},
		{"SkipOutOfScopeDeletions", " false ", true},
		{"SyncAll", "TRUE", true},
		{"SkipOutOfScopeDeletions", "1", false},
		{"SyncAll", "yes", false},
		{"SyncAll", "", false},
		{"SecretToken", "1", true}, // not a flag
	} {
		err := decodeCredentials([]secrets.Pair{{Key: tc.key, Value: secrets.Value(tc.value)}}, "value")
		if (err == nil) != tc.ok {
			t.Errorf("%s=%q: err %v, want ok %v", tc.key, tc.value, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "value[0].value of "+tc.key+" must be 'True' or 'False'") || tc.value != "" && strings.Contains(err.Error(), tc.value)) {
			t.Errorf("%s=%q: message %q does not say what to send, or shows the value", tc.key, tc.value, err)
		}
	}
}

// TestCredentialsChecked: a key sent twice, and a BaseAddress that is not
// an endpoint's URL, are refused without showing the value.
func TestCredentialsChecked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pairs   []secrets.Pair
		message string // "" when accepted
	}{
		{"an https endpoint", []secrets.Pair{{Key: "BaseAddress", Value: "https://scim.example.com/scim/v2"}, {Key: "SecretToken", Value: "t"}}, ""},
		{"an http endpoint, any case", []secrets.Pair{{Key: "BaseAddress", Value: " HTTP://127.0.0.1:8080/scim "}}, ""},
		{"a host alone", []secrets.Pair{{Key: "BaseAddress", Value: "scim.contoso.test/scim"}}, "value[0].value of BaseAddress must be the SCIM endpoint's absolute http or https URL"},
		{"another scheme", []secrets.Pair{{Key: "BaseAddress", Value: "ftp://scim.contoso.test"}}, "absolute http or https URL"},
		{"no host", []secrets.Pair{{Key: "BaseAddress", Value: "https:///scim"}}, "absolute http or https URL"},
		{"empty", []secrets.Pair{{Key: "SecretToken", Value: "t"}, {Key: "BaseAddress", Value: ""}}, "value[1].value of BaseAddress is empty or null"},
		{"an empty token", []secrets.Pair{{Key: "SecretToken", Value: " "}}, "value[0].value of SecretToken is empty or null; give it a value, or leave the key out"},
		{"a user name", []secrets.Pair{{Key: "BaseAddress", Value: "https://u:p@scim.contoso.test/scim"}}, "must not hold a user name or password; send the token as SecretToken"},
		{"a query", []secrets.Pair{{Key: "BaseAddress", Value: "https://scim.contoso.test/scim?aadOptscim062020"}}, "must not have a query string"},
		{"a fragment", []secrets.Pair{{Key: "BaseAddress", Value: "https://scim.contoso.test/scim#top"}}, "must not have a fragment"},
		{"a key twice", []secrets.Pair{{Key: "SecretToken", Value: "one"}, {Key: "BaseAddress", Value: "https://a.test"}, {Key: "SecretToken", Value: "two"}},
			"value[2].key 'SecretToken' is also value[0].key; send each key once."},
	} {
		err := decodeCredentials(tc.pairs, "value")
		switch {
		case tc.message == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.message)
		}
		for _, p := range tc.pairs {
			if v := p.Value.Reveal(); err != nil && len(v) > 3 && strings.Contains(err.Error(), v) {
				t.Errorf("%s: the message shows a value: %v", tc.name, err)
			}
		}
	}
}

// TestJobItemKeepsNumbers: a job goes through the query options as a map,
// and comes out with its counts as written: not through float64, which
// holds integers exactly only up to 2^53.
func TestJobItemKeepsNumbers(t *testing.T) {
	j := store.Job{ID: "scim.1", TemplateID: "scim", Status: store.Status{Code: store.StatusActive,
		LastExecution: &store.Execution{CountExported: 1_000_000, CountImported: 1<<53 + 1, TimeBegan: time.Unix(1, 0).UTC()}}}
	item, err := jobItem(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(viewJob(j))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"countExported":1000000`, `"countImported":9007199254740993`} {
		if !strings.Contains(string(got), s) || !strings.Contains(string(want), s) {
			t.Errorf("job as a map %s\nwant it to hold %s, as the job does: %s", got, s, want)
		}
	}
}

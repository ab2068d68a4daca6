package e2e

import "testing"

// TestJobLifecycleOverHTTP starts, pauses and restarts a job on the
// production wiring (no scheduler yet: the calls change the job's state)
// and reads each change back with GET job.
func TestJobLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t, options{})
	e.setupApp()
	job := "/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID
	want := func(step, interval, state, code string) {
		t.Helper()
		j := e.do("GET", job, nil, 200)
		sched, status := j["schedule"].(map[string]any), j["status"].(map[string]any)
		if sched["interval"] != interval || sched["state"] != state || status["code"] != code {
			t.Errorf("%s: schedule %v/%v, status %v; want %s/%s, %s", step, sched["interval"], sched["state"], status["code"], interval, state, code)
		}
	}
	want("new", "P10675199DT2H48M5.4775807S", "Disabled", "NotRun")

	e.do("POST", job+"/start", nil, 204)
	want("start", "PT40M", "Active", "Active")
	e.do("POST", job+"/pause", nil, 204)
	want("pause", "PT40M", "Paused", "Paused")
	e.do("PATCH", job, map[string]any{"schedule": map[string]any{"interval": "PT15M"}}, 200)
	want("PATCH interval", "PT15M", "Paused", "Paused")
	e.do("POST", job+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Watermark, Escrows"}}, 204)
	want("restart", "PT15M", "Active", "Active")

	status, m, raw := e.send("POST", job+"/restart", map[string]any{"criteria": map[string]any{"resetScope": "Everything"}}, e.token)
	checkGraphError(t, status, m, raw, 400, "RequestParameterInvalid", "Everything", "Watermark")
	status, m, raw = e.send("PATCH", job, map[string]any{"schedule": map[string]any{"state": "Paused", "interval": "PT15M"}}, e.token)
	checkGraphError(t, status, m, raw, 400, "BadRequest", "start", "pause")
	want("after refusals", "PT15M", "Active", "Active")

	e.do("DELETE", job, nil, 204)
	status, m, raw = e.send("POST", job+"/start", nil, e.token)
	checkGraphError(t, status, m, raw, 404, "Request_ResourceNotFound", e.jobID)
}

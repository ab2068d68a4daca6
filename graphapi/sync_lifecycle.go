package graphapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"provisiond/isoduration"
	"provisiond/jobs"
	"provisiond/store"
)

// This file serves a job's lifecycle (start, pause, restart) and the
// schedule part of PATCH job. The jobs service owns the transitions.

// startJob serves POST .../jobs/{jobId}/start. The action has no
// parameters (see noParameters).
func (y *Sync) startJob(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	if err := noParameters(w, r); err != nil {
		return err
	}
	if err := y.Jobs.Start(r.Context(), sp.ID, j.ID); err != nil {
		return jobError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pauseJob serves POST .../jobs/{jobId}/pause, which has no parameters.
func (y *Sync) pauseJob(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	if err := noParameters(w, r); err != nil {
		return err
	}
	if err := y.Jobs.Pause(r.Context(), sp.ID, j.ID); err != nil {
		return jobError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// noParameters checks the body of an action without parameters: none, or
// a JSON object of annotations alone ({} included). A parameter sent
// would otherwise be ignored without a word.
func noParameters(w http.ResponseWriter, r *http.Request) error {
	_, err := decodeOptionalJSON(w, r, &struct{}{})
	return err
}

// restartJob serves POST .../jobs/{jobId}/restart with an optional
// {"criteria":{"resetScope":"Watermark, Escrows"}}; no body, no criteria
// or no resetScope is the portal's restart (jobs.DefaultResetScope).
func (y *Sync) restartJob(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	var body restartParameters
	if _, err := decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	scope := jobs.DefaultResetScope
	if body.Criteria != nil && body.Criteria.ResetScope != nil {
		if scope, err = jobs.ParseResetScope(*body.Criteria.ResetScope); err != nil {
			return invalidParam("Invalid criteria.resetScope: %v; for example {\"criteria\":{\"resetScope\":\"Watermark, Escrows, QuarantineState\"}}.", err)
		}
	}
	if err := y.Jobs.Restart(r.Context(), sp.ID, j.ID, scope); err != nil {
		return jobError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// restartParameters is the body of restart. A misspelt name is refused
// (see unknownProperty): as the default scope it would do more (lift a
// quarantine, drop escrows) than asked.
type restartParameters struct {
	Criteria *restartCriteria `json:"criteria"`
}

type restartCriteria struct {
	ResetScope *string `json:"resetScope"`
}

// durationText is an Edm.Duration in a request body.
type durationText string

// schedulePatch is the schedule of a PATCH job: only the interval
// changes; the state changes by start and pause.
type schedulePatch struct {
	Interval   *durationText   `json:"interval"`
	State      *string         `json:"state"`
	Expiration json.RawMessage `json:"expiration"`
}

// check validates p before the update and returns the canonical interval
// to store.
func (p *schedulePatch) check() (string, error) {
	if len(p.Expiration) > 0 && string(p.Expiration) != "null" {
		return "", badRequest("The property 'schedule.expiration' cannot be set: a job's schedule does not expire; pause the job to stop it.")
	}
	if p.Interval == nil {
		return "", badRequest(`The property 'schedule.interval' is required to change a schedule: {"schedule":{"interval":"PT40M"}}.`)
	}
	d, err := jobs.ParseInterval(string(*p.Interval))
	if err != nil {
		return "", badRequest("Invalid value for property 'schedule.interval': %v. Use an ISO 8601 duration of at least PT1M, such as \"PT40M\" (40 minutes) or \"PT1H30M\".", err)
	}
	return isoduration.Format(d), nil
}

// apply sets the checked interval on j, refusing a change of state.
func (p *schedulePatch) apply(j *store.Job, interval string) error {
	if p.State != nil && !strings.EqualFold(*p.State, string(j.Schedule.State)) {
		return badRequest("The property 'schedule.state' cannot be changed with PATCH (it is %s): POST .../jobs/%s/start or .../pause changes it.", j.Schedule.State, j.ID)
	}
	j.Schedule.Interval = interval
	return nil
}

package graphapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/engine"
	"provisiond/graphapi/odata"
	"provisiond/jobs"
	"provisiond/throttle"
)

type onDemandSubject struct {
	ObjectID       *string `json:"objectId"`
	ObjectTypeName *string `json:"objectTypeName"`
	Links          *struct {
		Members []onDemandSubject `json:"members"`
		// Graph's synchronizationLinkedObjects has these too; on
		// demand does not take them (see toSubject).
		Manager json.RawMessage `json:"manager"`
		Owners  json.RawMessage `json:"owners"`
	} `json:"links"`
}

type onDemandBody struct {
	Parameters *[]struct {
		RuleID   *string            `json:"ruleId"`
		Subjects *[]onDemandSubject `json:"subjects"`
	} `json:"parameters"`
}

// provisionOnDemand decodes Graph's call and hands it to the jobs service.
// ?dryRun=true is provisiond's extension: the same steps, nothing written.
func (y *Sync) provisionOnDemand(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	dryRun := false
	if v := r.URL.Query().Get("dryRun"); v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			return invalidParam("The query parameter dryRun must be true or false, not '%s'.", v)
		}
	}
	var body onDemandBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Parameters == nil || len(*body.Parameters) == 0 {
		return invalidParam(`The parameter 'parameters' is required: {"parameters":[{"ruleId":"...","subjects":[{"objectId":"...","objectTypeName":"User"}]}]}.`)
	}
	if len(*body.Parameters) > 1 {
		return invalidParam("Only one entry in 'parameters' is supported per call; send one request per rule.")
	}
	p := (*body.Parameters)[0]
	req := jobs.OnDemand{DryRun: dryRun, InitiatedBy: initiator(principal(r))}
	if p.RuleID == nil || strings.TrimSpace(*p.RuleID) == "" {
		return invalidParam("The parameter 'ruleId' is required: GET .../jobs/%s/schema lists the rules in synchronizationRules[].id.", j.ID)
	}
	req.RuleID = *p.RuleID
	if p.Subjects == nil || len(*p.Subjects) == 0 {
		return invalidParam("The parameter 'subjects' is required and must name one object: [{\"objectId\":\"...\",\"objectTypeName\":\"User\"}].")
	}
	if len(*p.Subjects) > 1 {
		return invalidParam("Only one subject per call is supported (one user, or one group with up to %d members); the request has %d.", jobs.MaxGroupMembers, len(*p.Subjects))
	}
	if req.Subject, err = toSubject((*p.Subjects)[0], "subjects[0]"); err != nil {
		return err
	}
	// Counted once the request is well formed: a client correcting its
	// body is not throttled for its mistakes.
	if y.OnDemand != nil {
		ok, wait, err := y.OnDemand.Check(r.Context(), principal(r).TenantID+"/"+sp.ID)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if !ok {
			n, per := y.OnDemand.Limit()
			return &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
				Message: "Too many provisionOnDemand requests for this service principal (the limit is " + strconv.Itoa(n) + " per " + humanDuration(per) + "). Retry after the time in the Retry-After header.",
				Header:  http.Header{"Retry-After": {throttle.RetryAfterHeader(wait)}}}
		}
	}
	res, err := y.Jobs.ProvisionOnDemand(r.Context(), sp, j, req)
	if err != nil {
		return jobError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{
		"@odata.context": contextURL(r, "microsoft.graph.stringKeyStringValuePair"),
		"key":            res.Key,
		"value":          res.Value,
	})
}

// initiator names the caller as provisioning logs' initiatedBy does: the
// signed-in user of a delegated token, else the calling application.
func initiator(p auth.Principal) engine.Initiator {
	if p.Delegated {
		return engine.Initiator{ID: p.ObjectID, DisplayName: p.Name, Type: engine.InitiatorUser}
	}
	id := p.ObjectID
	if id == "" {
		id = p.AppID
	}
	return engine.Initiator{ID: id, DisplayName: p.Name, Type: engine.InitiatorApplication}
}

// humanDuration says a window as people do: "10 seconds", "1 minute".
func humanDuration(d time.Duration) string {
	unit, n := "second", d.Seconds()
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", d.Hours()
	case d >= time.Minute && d%time.Minute == 0:
		unit, n = "minute", d.Minutes()
	}
	s := strconv.FormatFloat(n, 'f', -1, 64) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

func toSubject(s onDemandSubject, where string) (jobs.Subject, error) {
	if s.ObjectID == nil || strings.TrimSpace(*s.ObjectID) == "" {
		return jobs.Subject{}, invalidParam("%s.objectId is required.", where)
	}
	if s.ObjectTypeName == nil || strings.TrimSpace(*s.ObjectTypeName) == "" {
		return jobs.Subject{}, invalidParam("%s.objectTypeName is required (User or Group).", where)
	}
	subj := jobs.Subject{ObjectID: odata.GUID(*s.ObjectID), ObjectTypeName: *s.ObjectTypeName}
	if s.Links != nil {
		for _, l := range []struct {
			name string
			v    json.RawMessage
		}{{"manager", s.Links.Manager}, {"owners", s.Links.Owners}} {
			if len(l.v) > 0 && string(l.v) != "null" {
				return subj, invalidParam("%s.links.%s is not supported: on demand takes a group's members (links.members); a user's manager and a group's owners flow through the job's attribute mappings.", where, l.name)
			}
		}
		for i, m := range s.Links.Members {
			ms, err := toSubject(m, where+".links.members["+strconv.Itoa(i)+"]")
			if err != nil {
				return subj, err
			}
			subj.Members = append(subj.Members, ms)
		}
	}
	return subj, nil
}

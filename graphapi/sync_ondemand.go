package graphapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"provisiond/engine"
	"provisiond/throttle"
)

type onDemandSubject struct {
	ObjectID       *string `json:"objectId"`
	ObjectTypeName *string `json:"objectTypeName"`
	Links          *struct {
		Members []onDemandSubject `json:"members"`
	} `json:"links"`
}

type onDemandBody struct {
	Parameters *[]struct {
		RuleID   *string            `json:"ruleId"`
		Subjects *[]onDemandSubject `json:"subjects"`
	} `json:"parameters"`
}

func (y *Sync) provisionOnDemand(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	if y.OnDemand != nil {
		if ok, wait := y.OnDemand.Allow(principal(r).TenantID + "/" + sp.ID); !ok {
			return &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
				Message: "Too many provisionOnDemand requests for this service principal (the limit is 5 per 10 seconds). Retry after the time in the Retry-After header.",
				Header:  http.Header{"Retry-After": {throttle.RetryAfterHeader(wait)}}}
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
	comp, err := y.compiledSchema(j)
	if err != nil {
		return err
	}
	ruleID := ""
	if p.RuleID != nil {
		ruleID = *p.RuleID
	}
	rule := comp.Rule(ruleID)
	if rule == nil {
		return invalidParam("The request identified this synchronization job: %s. The request also identified this synchronization rule: %s. However, the job does not include the rule. GET .../jobs/%s/schema lists the rules in synchronizationRules[].id.", j.ID, ruleID, j.ID)
	}
	if p.Subjects == nil || len(*p.Subjects) == 0 {
		return invalidParam("The parameter 'subjects' is required and must name one object: [{\"objectId\":\"...\",\"objectTypeName\":\"User\"}].")
	}
	if len(*p.Subjects) > 1 {
		return invalidParam("Only one subject per call is supported (one user, or one group with up to %d members); the request has %d.", engine.MaxGroupMembers, len(*p.Subjects))
	}
	subj, err := toSubject((*p.Subjects)[0], "subjects[0]")
	if err != nil {
		return err
	}
	if rule.Object(subj.ObjectTypeName) == nil {
		var names []string
		for _, o := range rule.Objects {
			if o.Mapping.Enabled {
				names = append(names, o.Mapping.SourceObjectName)
			}
		}
		return invalidParam("The objectTypeName '%s' is not mapped by rule '%s'; use one of: %s.", subj.ObjectTypeName, ruleID, strings.Join(names, ", "))
	}
	if len(subj.Members) > engine.MaxGroupMembers {
		return invalidParam("A group can be provisioned on demand with at most %d members in links.members; the request lists %d.", engine.MaxGroupMembers, len(subj.Members))
	}
	creds, err := y.secretsOf(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	settings, err := jobSettings(j)
	if err != nil {
		return err
	}
	source, target, err := y.Connect(r.Context(), j.TemplateID, sp, creds, settings)
	if err != nil {
		return badRequest("The job '%s' cannot connect: %v. Set its credentials with PUT .../synchronization/secrets.", j.ID, err)
	}
	res, err := y.Engine.Provision(r.Context(), &engine.Job{
		ID: j.ID, ServicePrincipalID: sp.ID, Rule: rule,
		SyncAll: flagTrue(creds, "SyncAll"), SkipOutOfScopeDeletions: flagTrue(creds, "SkipOutOfScopeDeletions"),
		Source: source, Target: target,
	}, subj)
	if err != nil {
		var se *engine.SubjectError
		if errors.As(err, &se) {
			if se.NotFound {
				return notFound("%s", se.Msg)
			}
			return invalidParam("%s", se.Msg)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{
		"@odata.context": contextURL(r, "microsoft.graph.stringKeyStringValuePair"),
		"key":            res.KeyJSON(),
		"value":          res.ValueJSON(),
	})
}

func toSubject(s onDemandSubject, where string) (engine.Subject, error) {
	if s.ObjectID == nil || strings.TrimSpace(*s.ObjectID) == "" {
		return engine.Subject{}, invalidParam("%s.objectId is required.", where)
	}
	if s.ObjectTypeName == nil || strings.TrimSpace(*s.ObjectTypeName) == "" {
		return engine.Subject{}, invalidParam("%s.objectTypeName is required (User or Group).", where)
	}
	subj := engine.Subject{ObjectID: *s.ObjectID, ObjectTypeName: *s.ObjectTypeName}
	if s.Links != nil {
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

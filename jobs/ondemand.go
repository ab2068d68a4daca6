package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"provisiond/connector"
	"provisiond/engine"
	"provisiond/store"
)

// MaxGroupMembers is how many members one provisionOnDemand call may name.
const MaxGroupMembers = 5

// Subject is the object provisionOnDemand names.
type Subject struct {
	ObjectID       string
	ObjectTypeName string
	// Members are users to provision with a group subject (links.members).
	Members []Subject
}

// OnDemand is one provisionOnDemand request.
type OnDemand struct {
	RuleID  string
	Subject Subject
	// DryRun runs every step without writing to the target, the anchors or
	// the provisioning logs (an extension of Graph's call).
	DryRun bool
	// InitiatedBy is the caller, as the provisioning logs name it.
	InitiatedBy engine.Initiator
}

// OnDemandResult is the answer: Graph's stringKeyStringValuePair, whose key
// is the outcome and value the provisioning event, both as JSON strings.
type OnDemandResult struct {
	Key, Value string
	Outcome    *engine.Outcome
}

// key is the provisionOnDemand key object: the outcome and why.
type key struct {
	Result  engine.Status `json:"result"`
	Details keyDetails    `json:"details"`
}

type keyDetails struct {
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// ProvisionOnDemand provisions one subject of a job now, within the
// interactive budget. A request the caller must fix is an *Error.
func (s *Service) ProvisionOnDemand(ctx context.Context, sp store.ServicePrincipal, j store.Job, req OnDemand) (res *OnDemandResult, err error) {
	defer func(begin time.Time) { s.observeOnDemand(begin, res, err) }(time.Now())
	comp, err := s.Compiled(j)
	if err != nil {
		return nil, err
	}
	rule := comp.Rule(req.RuleID)
	if rule == nil {
		return nil, invalid("The request identified this synchronization job: %s. The request also identified this synchronization rule: %s. However, the job does not include the rule. GET .../jobs/%s/schema lists the rules in synchronizationRules[].id.", j.ID, req.RuleID, j.ID)
	}
	subj := req.Subject
	if rule.Object(subj.ObjectTypeName) == nil {
		var names []string
		for _, o := range rule.Objects {
			if o.Mapping.Enabled {
				names = append(names, o.Mapping.SourceObjectName)
			}
		}
		return nil, invalid("The objectTypeName '%s' is not mapped by rule '%s'; use one of: %s.", subj.ObjectTypeName, req.RuleID, strings.Join(names, ", "))
	}
	if len(subj.Members) > MaxGroupMembers {
		return nil, invalid("A group can be provisioned on demand with at most %d members in links.members; the request lists %d.", MaxGroupMembers, len(subj.Members))
	}
	ereq := engine.Request{ObjectType: subj.ObjectTypeName, ObjectID: subj.ObjectID, DryRun: req.DryRun}
	for i, m := range subj.Members {
		if len(m.Members) > 0 {
			return nil, invalid("links.members[%d] ('%s') has links of its own; only the subject may list members.", i, m.ObjectID)
		}
		ereq.Members = append(ereq.Members, engine.Request{ObjectType: m.ObjectTypeName, ObjectID: m.ObjectID})
	}
	ctx, cancel := context.WithTimeout(ctx, s.interactive)
	defer cancel()
	job, err := s.Runtime(ctx, sp, j, rule)
	if err != nil {
		return nil, err
	}
	if req.InitiatedBy.Type != "" {
		in := req.InitiatedBy
		job.InitiatedBy = &in
	}
	out, err := s.engine.Process(ctx, job, ereq)
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.store.GetJob(ctx, sp.ID, j.ID); errors.Is(gerr, store.ErrNotFound) {
			return nil, &Error{NotFound: true, Message: fmt.Sprintf("The job '%s' was deleted while provisionOnDemand ran; "+
				"what it had sent the target by then stays there, without the job's anchor or provisioning log.", j.ID)}
		}
	}
	if err != nil {
		return nil, s.onDemandError(err)
	}
	if out.Code == connector.CodeAddressRefused {
		// The job's target points where provisiond never calls: a
		// configuration to fix, not a provisioning outcome.
		return nil, &Error{Connect: true, Message: fmt.Sprintf("The job '%s' cannot call its target: %s", j.ID, out.Message)}
	}
	k := key{Result: out.Status}
	if out.Code != "" {
		k.Details = keyDetails{ErrorCode: out.Code, ErrorMessage: out.Message}
	}
	value, err := out.Event.AppendJSON(nil)
	if err != nil {
		return nil, fmt.Errorf("encode the on-demand event: %w", err)
	}
	return &OnDemandResult{Key: mustJSON(k), Value: string(value), Outcome: out}, nil
}

// onDemandError says an engine refusal in provisionOnDemand's words.
func (s *Service) onDemandError(err error) error {
	var ue *engine.UnmappedError
	var nf *engine.NotFoundError
	var me *engine.MemberError
	var be *engine.BusyError
	var ie *engine.ImportError
	switch {
	case errors.As(err, &ue):
		what := "objectTypeName"
		if ue.Member {
			what = "member objectTypeName"
		}
		return invalid("The synchronization rule '%s' has no enabled object mapping for %s '%s'.", ue.RuleID, what, ue.ObjectType)
	case errors.As(err, &nf):
		if nf.Member {
			return &Error{NotFound: true, Message: fmt.Sprintf("The member %s '%s' was not found in %s.", nf.ObjectType, nf.ID, nf.Source)}
		}
		return &Error{NotFound: true, Message: fmt.Sprintf("The %s '%s' was not found in %s.", nf.ObjectType, nf.ID, nf.Source)}
	case errors.As(err, &me):
		switch me.Reason {
		case engine.MembersOfNonGroup:
			return invalid("links.members is only allowed on a Group subject.")
		case engine.MemberIsSubject:
			return invalid("links.members names the subject '%s' itself; a group cannot be provisioned as its own member.", me.Member.ObjectID)
		}
		return invalid("links.members: the member '%s' has objectTypeName '%s'; members of a group subject must be users.", me.Member.ObjectID, me.Member.ObjectType)
	case errors.As(err, &ie) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
		// The job's source, not the request, is what to fix (or wait for).
		return &Error{Connect: true, Message: fmt.Sprintf("The job cannot read %s '%s' from its source, %s: %v. "+
			"Check the source's address and credentials (POST .../jobs/{id}/validateCredentials tests them) and that it is reachable.",
			ie.ObjectType, ie.ID, ie.Source, ie.Err)}
	case errors.As(err, &be):
		return &Error{Busy: true, Message: fmt.Sprintf("The request gave up waiting: another provisioning call is working on the same objects (%v). Retry when it has finished.", be.Err)}
	case errors.Is(err, context.DeadlineExceeded):
		// The budget ran out before the object could be read, typically
		// after waiting for another call on the same object.
		return &Error{Busy: true, Message: fmt.Sprintf("The request ran out of its %s budget before it could read the object (%v). Retry when other calls on it have finished.", s.interactive, err)}
	}
	return err // the source's or the store's failure: the service's own
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("jobs: marshal: " + err.Error()) // only plain data types: cannot fail
	}
	return string(b)
}

package engine

import (
	"context"
	"fmt"
	"slices"

	"provisiond/connector"
	"provisiond/schema"
)

// MaxGroupMembers is how many members one provisionOnDemand call may name.
const MaxGroupMembers = 5

// provisionGroup provisions a group, then each listed member (through the
// user pipeline, so a member not yet provisioned is created first), then
// adds to the target group the members that are source members and have a
// target object, and removes listed members that left the source group.
// The group's event lists one step per member.
func (e *Engine) provisionGroup(ctx context.Context, job *Job, om *schema.CompiledObject, src connector.Object, members []Subject) (*Result, error) {
	if len(members) > MaxGroupMembers {
		return nil, &SubjectError{Msg: fmt.Sprintf("A group can be provisioned on demand with at most %d members; the request lists %d.", MaxGroupMembers, len(members))}
	}
	unlock := e.lockObject(job, om, src)
	defer unlock()
	r := e.newRun(ctx, job, om, src)
	res, groupID, err := r.pipeline()
	if err != nil {
		return nil, err
	}
	if len(members) > 0 {
		if res, err = r.members(res, groupID, members); err != nil {
			return nil, err
		}
	}
	if err := e.saveLog(ctx, job, &res.Event); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *run) members(res *Result, groupID string, members []Subject) (*Result, error) {
	if groupID == "" || res.Key.Result == "Failure" || res.Event.Action == "Disable" {
		for _, m := range members {
			d := Details{}
			d.Add("MemberObjectId", m.ObjectID)
			r.step("EntryExportUpdate", "Export", "Skipped",
				fmt.Sprintf("Member '%s' was not processed because the %s itself was not provisioned.", m.ObjectID, r.kind), d)
		}
		return r.refinish(res), nil
	}
	current, err := r.job.Target.Get(r.ctx, r.om.Mapping.TargetObjectName, groupID)
	if err != nil {
		return r.fail("Export", err), nil
	}
	inTarget := current.Attrs["members"]
	inSource := r.src.Attrs["members"]
	var add, remove []string
	type memberStep struct {
		d      Details
		action string
		target string
	}
	var steps []memberStep
	for _, m := range members {
		d := Details{}
		d.Add("MemberObjectId", m.ObjectID)
		mr, targetID, err := r.member(m)
		if err != nil {
			return nil, err
		}
		if mr != nil {
			d.Add("MemberProvisioningResult", mr.Key.Result)
			if mr.Key.Details.ErrorCode != "" {
				d.Add("MemberProvisioningCode", mr.Key.Details.ErrorCode)
			}
			res.Members = append(res.Members, mr)
		}
		isMember := slices.Contains(inSource, m.ObjectID)
		d.Add("IsMemberInSource", boolString(isMember))
		action := "None"
		switch {
		case targetID == "":
		case isMember && !slices.Contains(inTarget, targetID):
			action, add = "Add", append(add, targetID)
		case !isMember && slices.Contains(inTarget, targetID):
			action, remove = "Remove", append(remove, targetID)
		}
		if targetID != "" {
			d.Add("MemberTargetId", targetID)
		}
		steps = append(steps, memberStep{d, action, targetID})
	}
	var exportErr error
	if len(add) > 0 {
		exportErr = r.job.Target.AddMembers(r.ctx, groupID, add)
	}
	if exportErr == nil && len(remove) > 0 {
		exportErr = r.job.Target.RemoveMembers(r.ctx, groupID, remove)
	}
	for _, s := range steps {
		status, desc := "Skipped", fmt.Sprintf("No membership change for member '%s'.", s.d[0].Value)
		switch {
		case s.action != "None" && exportErr != nil:
			status, desc = "Failure", fmt.Sprintf("Membership change (%s) for member '%s' failed: %v", s.action, s.d[0].Value, exportErr)
		case s.action == "Add":
			status, desc = "Success", fmt.Sprintf("ADD member '%s' by targetAnchor %s to %s '%s' in %s", s.d[0].Value, s.target, r.kind, r.id, r.job.Target.Name())
			r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: "members", NewValue: &s.target})
		case s.action == "Remove":
			status, desc = "Success", fmt.Sprintf("REMOVE member '%s' by targetAnchor %s from %s '%s' in %s", s.d[0].Value, s.target, r.kind, r.id, r.job.Target.Name())
			r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: "members", OldValue: &s.target})
		}
		s.d.Add("MembershipAction", s.action)
		r.step("EntryExportUpdate", "Export", status, desc, s.d)
	}
	if exportErr != nil {
		return r.fail("Export", exportErr), nil
	}
	if len(add)+len(remove) > 0 && res.Key.Result != "Failure" {
		return r.finish("Success", actionAfterMembers(res.Event.Action), "", "", ""), nil
	}
	return r.refinish(res), nil
}

// refinish re-stamps the end of the event after member steps were added,
// keeping the outcome.
func (r *run) refinish(res *Result) *Result {
	r.ev.EndTime = Time(r.e.now())
	res.Event = r.ev
	return res
}

func actionAfterMembers(action string) string {
	if action == "Create" {
		return "Create"
	}
	return "Update"
}

// member provisions one listed member through its own object mapping and
// returns its result and target id.
func (r *run) member(m Subject) (*Result, string, error) {
	typ := m.ObjectTypeName
	if typ == "" {
		typ = connector.TypeUser
	}
	om := r.job.Rule.Object(typ)
	if om == nil {
		return nil, "", &SubjectError{Msg: fmt.Sprintf("The synchronization rule '%s' has no enabled object mapping for member objectTypeName '%s'.", r.job.Rule.Rule.ID, typ)}
	}
	src, err := r.job.Source.Get(r.ctx, om.Mapping.SourceObjectName, m.ObjectID)
	if err != nil {
		if connector.IsNotFound(err) {
			return nil, "", &SubjectError{NotFound: true, Msg: fmt.Sprintf("The member %s '%s' was not found in %s.", typ, m.ObjectID, r.job.Source.Name())}
		}
		return nil, "", fmt.Errorf("import member %s: %w", m.ObjectID, err)
	}
	return r.e.provisionObject(r.ctx, r.job, om, src)
}

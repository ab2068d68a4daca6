package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"provisiond/connector"
	"provisiond/schema"
)

// group provisions a group, then each listed member (through the user
// pipeline, so a member not yet provisioned is created first), then adds to
// the target group the members that are source members and have a target
// object, and removes listed members that left the source group. The
// group's event lists one step per member.
func (u *unit) group(ctx context.Context, om *schema.CompiledObject, src connector.Object, members []member, ahead func() linked) (*Outcome, error) {
	// Members are imported before anything is written, so a request naming
	// one that does not exist is refused having changed nothing.
	for i := range members {
		m := &members[i]
		var err error
		if m.src, _, err = u.read(ctx, m.om, m.id, true); err != nil {
			return nil, err
		}
		// Named by another key (an LDAP DN): anchors and membership
		// speak of the id the source imported.
		m.id = m.src.ID
	}
	r := u.newRun(ctx, om, src)
	r.ahead = ahead
	out, err := r.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case u.allMembers:
		if out, err = r.allMembers(ctx, out); err != nil {
			return nil, err
		}
	case len(members) > 0:
		if out, err = r.members(ctx, out, members); err != nil {
			return nil, err
		}
	}
	if err := u.save(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *run) members(ctx context.Context, res *Outcome, members []member) (*Outcome, error) {
	groupID := res.TargetID
	// A dry run that would create the group still shows what its members
	// would get: the group is new, so it has none yet.
	wouldCreate := r.dry && groupID == "" && res.Status == StatusSuccess && res.Action == ActionCreate
	if (groupID == "" && !wouldCreate) || res.Status == StatusFailure || res.Action == ActionDisable {
		for _, m := range members {
			d := Details{}
			d.Add("MemberObjectId", m.id)
			r.step("EntryExportUpdate", StepExport, StatusSkipped,
				fmt.Sprintf("Member '%s' was not processed because the %s itself was not provisioned.", m.id, r.kind), d)
		}
		return r.refinish(res), nil
	}
	mw, canWrite := r.job.Target.(connector.MemberWriter)
	if !canWrite {
		return r.fail(ctx, StepExport, &connector.Error{Kind: connector.KindInvalid,
			Message: fmt.Sprintf("%s cannot change group membership", r.job.Target.Name())}), nil
	}
	var inTarget []string
	if !wouldCreate {
		current, err := r.job.Target.Get(ctx, r.om.Mapping.TargetObjectName, groupID)
		if err != nil {
			return r.fail(ctx, StepExport, err), nil
		}
		inTarget = current.Attrs["members"]
	}
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
		d.Add("MemberObjectId", m.id)
		mr, err := r.member(ctx, m)
		if err != nil {
			return nil, err
		}
		d.Add("MemberProvisioningResult", string(mr.Status))
		if mr.Code != "" {
			d.Add("MemberProvisioningCode", mr.Code)
		}
		res.Members = append(res.Members, mr)
		targetID := mr.TargetID
		isMember := slices.Contains(inSource, m.id)
		d.Add("IsMemberInSource", boolString(isMember))
		action := "None"
		// In a dry run, a member that would be created would then be added.
		newMember := r.dry && targetID == "" && mr.Status == StatusSuccess && mr.Action == ActionCreate
		switch {
		case newMember && isMember:
			action = "Add"
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
	if !r.dry && len(add) > 0 {
		exportErr = mw.AddMembers(ctx, groupID, add)
	}
	if !r.dry && exportErr == nil && len(remove) > 0 {
		exportErr = mw.RemoveMembers(ctx, groupID, remove)
	}
	for _, s := range steps {
		status, desc := StatusSkipped, fmt.Sprintf("No membership change for member '%s'.", s.d[0].Value)
		switch {
		case s.action != "None" && exportErr != nil:
			status, desc = StatusFailure, fmt.Sprintf("Membership change (%s) for member '%s' failed: %v", s.action, s.d[0].Value, exportErr)
		case s.action == "Add" && s.target == "": // dry run: the member would be new
			status, desc = StatusSuccess, r.did("", fmt.Sprintf("ADD member '%s' to %s '%s' in %s", s.d[0].Value, r.kind, r.id, r.job.Target.Name()))
		case s.action == "Add":
			msg := fmt.Sprintf("ADD member '%s' by targetAnchor %s to %s '%s' in %s", s.d[0].Value, s.target, r.kind, r.id, r.job.Target.Name())
			status, desc = StatusSuccess, r.did(msg, msg)
			r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: "members", NewValue: &s.target})
		case s.action == "Remove":
			msg := fmt.Sprintf("REMOVE member '%s' by targetAnchor %s from %s '%s' in %s", s.d[0].Value, s.target, r.kind, r.id, r.job.Target.Name())
			status, desc = StatusSuccess, r.did(msg, msg)
			r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: "members", OldValue: &s.target})
		}
		s.d.Add("MembershipAction", s.action)
		r.step("EntryExportUpdate", StepExport, status, desc, s.d)
	}
	if exportErr != nil {
		out := r.fail(ctx, StepExport, exportErr)
		out.Members, out.TargetID = res.Members, groupID
		return out, nil
	}
	if len(add)+len(remove) > 0 && res.Status != StatusFailure {
		out := r.finish(StatusSuccess, actionAfterMembers(res.Action), "", "", "")
		out.Members, out.TargetID = res.Members, groupID
		return out, nil
	}
	return r.refinish(res), nil
}

// refinish re-stamps the end of the event after member steps were added,
// keeping the outcome.
func (r *run) refinish(res *Outcome) *Outcome {
	r.ev.EndTime = Time(r.e.now())
	res.Event = r.ev
	return res
}

func actionAfterMembers(action Action) Action {
	if action == ActionCreate {
		return ActionCreate
	}
	return ActionUpdate
}

// member provisions one listed member (imported already) through its own
// object mapping (the request locked it already) and returns its outcome.
func (r *run) member(ctx context.Context, m member) (*Outcome, error) {
	return r.u.object(ctx, m.om, m.src, nil)
}

// allMembers reconciles the group's whole membership in the target with
// the source's: members are users the job provisioned (they have anchors).
// It removes only target members the job provisioned, as Entra does, so
// members added in the target by other means stay. The members go chunk
// by chunk (memberDiff), so a group of a million costs little more than
// its two member lists.
func (r *run) allMembers(ctx context.Context, res *Outcome) (*Outcome, error) {
	groupID := res.TargetID
	if groupID == "" || res.Status == StatusFailure || res.Action == ActionDisable || res.Action == ActionDelete {
		return r.refinish(res), nil
	}
	uom := r.userMapping()
	mw, canWrite := r.job.Target.(connector.MemberWriter)
	if uom == nil || !canWrite {
		return r.refinish(res), nil // nothing to reconcile members with
	}
	var current []string
	if !(r.dry && res.Action == ActionCreate) {
		obj, err := r.job.Target.Get(ctx, r.om.Mapping.TargetObjectName, groupID)
		if err != nil {
			return r.fail(ctx, StepExport, err), nil
		}
		current = obj.Attrs["members"]
	}
	diff := r.newMemberDiff(uom, mw, groupID, current)
	if err := diff.add(ctx, r.src.Attrs["members"]); err != nil {
		return nil, err
	}
	if err := diff.remove(ctx); err != nil {
		return nil, err
	}
	if diff.added+diff.removed == 0 {
		return r.refinish(res), nil
	}
	d := Details{}
	d.Add("MembersAdded", strconv.Itoa(diff.added))
	d.Add("MembersRemoved", strconv.Itoa(diff.removed))
	if diff.err != nil {
		r.step("EntryExportUpdate", StepExport, StatusFailure, fmt.Sprintf("Membership of %s '%s' could not be changed: %v", r.kind, r.id, diff.err), d)
		out := r.fail(ctx, StepExport, diff.err)
		out.TargetID, out.Reference = groupID, true
		return out, nil
	}
	// The event names the first maxMemberChanges members changed; the
	// step's details count them all (a million-member group's event
	// would otherwise be tens of megabytes).
	r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, diff.changes...)
	r.step("EntryExportUpdate", StepExport, StatusSuccess, r.did(
		fmt.Sprintf("Membership of %s '%s' in %s: %d added, %d removed", r.kind, r.id, r.job.Target.Name(), diff.added, diff.removed),
		fmt.Sprintf("Membership of %s '%s' in %s: %d would be added, %d removed", r.kind, r.id, r.job.Target.Name(), diff.added, diff.removed)), d)
	out := r.finish(StatusSuccess, actionAfterMembers(res.Action), "", "", "")
	out.TargetID = groupID
	return out, nil
}

// userMapping is the rule's object mapping for users (members are users).
func (r *run) userMapping() *schema.CompiledObject {
	for _, om := range r.job.Rule.Objects {
		if om.Mapping.Enabled && connector.ClassOf(r.job.Source, om.Mapping.SourceObjectName) == connector.ClassUser {
			return om
		}
	}
	return nil
}

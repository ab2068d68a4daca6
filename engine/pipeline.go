package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"provisiond/connector"
	"provisiond/expr"
	"provisiond/schema"
	"provisiond/store"
)

// run carries one object through the pipeline and builds its event.
type run struct {
	u    *unit
	e    *Engine
	job  *Job
	dry  bool
	om   *schema.CompiledObject
	src  connector.Object
	ev   Event
	kind string // "User" or "Group", as descriptions say it
	id   string // reportable identifier
	// linked is the target id the stored anchor names ("" if none), so an
	// unchanged link is not written again.
	linked string
	// ahead, if set, returns the anchor and target object read ahead.
	ahead func() linked
}

const redacted = "[Redact]"

func (u *unit) newRun(ctx context.Context, om *schema.CompiledObject, src connector.Object) *run {
	e, job := u.e, u.job
	r := &run{u: u, e: e, job: job, dry: u.dry, om: om, src: src, kind: om.Mapping.SourceObjectName}
	start := e.now()
	r.ev = Event{
		ChangeID:           e.newID(),
		StartTime:          Time(start),
		ModifiedProperties: []ModifiedProperty{},
		ProvisioningSteps:  make([]Step, 0, 6), // an export's steps
		SourceIdentity:     Identity{ID: src.ID, Type: om.Mapping.SourceObjectName, Details: nullJSON},
		SourceSystem:       System{Name: job.Source.Name(), Details: nullJSON},
		TargetIdentity:     Identity{Type: om.Mapping.TargetObjectName, Details: nullJSON},
		TargetSystem:       System{Name: job.Target.Name(), Details: nullJSON},
		CycleID:            job.CycleID,
	}
	// The directory's displayName; an LDAP or AD entry may have only its
	// common name.
	for _, name := range []string{"displayName", "cn"} {
		if dn, ok := src.Attrs.Get(name); ok && dn != "" {
			r.ev.SourceIdentity.DisplayName = &dn
			break
		}
	}
	// The identifier logs show: a user's userPrincipalName when the source
	// has one (as Entra reports users, whatever they match on), else the
	// first matching attribute's value, else the source id.
	r.id = src.ID
	if upn, ok := src.Attrs.Get("userPrincipalName"); ok && upn != "" && connector.ClassOf(job.Source, om.Mapping.SourceObjectName) == connector.ClassUser {
		r.id = upn
	} else if len(om.Matching) > 0 {
		if v, err := r.eval(ctx, om.Matching[0]); err == nil && !v.Ignore && v.Value.String() != "" {
			r.id = v.Value.String()
		}
	}
	r.ev.ReportableIdentifier = r.id
	return r
}

var nullJSON = []byte("null")

func (r *run) step(name string, typ StepType, status Status, desc string, details Details) {
	if details == nil {
		details = Details{}
	}
	r.ev.ProvisioningSteps = append(r.ev.ProvisioningSteps, Step{
		Name: name, Type: string(typ), Status: string(status), Description: desc, Timestamp: Time(r.e.now()), Details: details,
	})
}

// env is the expression environment over the source object. softDeleted
// overrides IsSoftDeleted when deprovisioning; SelectUniqueValue asks the
// target about the attribute *targetAttr names when it is called.
func (r *run) env(ctx context.Context, softDeleted bool, targetAttr *string) *expr.Env {
	attrs := r.src.Attrs
	return &expr.Env{
		Attr: func(name string) expr.Value {
			if name == "IsSoftDeleted" {
				// Computed from the source's state, whatever the source
				// calls it; deprovisioning evaluates it as True.
				return expr.Str(boolString(softDeleted || r.src.SoftDeleted))
			}
			return toValue(attrs[name])
		},
		Now: r.e.now,
		IsTaken: func(candidate string) (bool, error) {
			hits, err := r.job.Target.Find(ctx, r.om.Mapping.TargetObjectName, *targetAttr, candidate)
			return len(hits) > 0, err
		},
	}
}

func toValue(vs []string) expr.Value {
	switch len(vs) {
	case 0:
		return expr.Null()
	case 1:
		return expr.Str(vs[0])
	}
	return expr.Multi(vs)
}

func (r *run) eval(ctx context.Context, ca *schema.CompiledAttr) (expr.Result, error) {
	return ca.Expr.Eval(r.env(ctx, false, &ca.Target))
}

// finish completes the event with the outcome.
func (r *run) finish(status Status, action Action, code, message, category string) *Outcome {
	r.ev.Action = string(action)
	r.ev.EndTime = Time(r.e.now())
	r.ev.StatusInfo = StatusInfo{Status: string(status)}
	out := &Outcome{Status: status, Action: action, TargetID: r.ev.TargetIdentity.ID}
	if code != "" {
		out.Code, out.Message = code, message
	}
	if status == StatusFailure {
		r.ev.StatusInfo.ErrorCode = &code
		r.ev.StatusInfo.Reason = &message
		r.ev.StatusInfo.ErrorCategory = &category
		rec := recommendedAction(code)
		r.ev.StatusInfo.RecommendedAction = &rec
	}
	out.Event = r.ev
	return out
}

// pipeline runs the steps; the outcome's TargetID is the target object
// when there is one.
func (r *run) pipeline(ctx context.Context) (*Outcome, error) {
	l := r.readLinked(ctx)
	if l.err != nil {
		return nil, fmt.Errorf("read anchor: %w", l.err)
	}
	anchor, hasAnchor := l.anchor, l.has
	r.importStep(hasAnchor)
	inScope, reasons, err := r.scopingStep(ctx)
	if err != nil {
		return nil, err
	}
	if hasAnchor {
		r.linked = anchor.TargetID
	}
	if !inScope && !hasAnchor {
		msg := fmt.Sprintf("The %s '%s' will be skipped due to the following reasons: %s If you did not expect the object to be skipped, assign the object to the application, change the scoping filter, or update the provisioning scope to 'Sync all users and groups'.",
			r.kind, r.id, reasons)
		r.skipStep("NotEffectivelyEntitled", msg)
		return r.finish(StatusSkipped, ActionOther, "NotEffectivelyEntitled", msg, ""), nil
	}
	if !inScope && r.job.SkipOutOfScopeDeletions {
		msg := fmt.Sprintf("The %s '%s' is out of scope, but SkipOutOfScopeDeletions is set, so it is left as it is in %s.", r.kind, r.id, r.job.Target.Name())
		r.skipStep("SkipOutOfScopeDeletions", msg)
		out := r.finish(StatusSkipped, ActionOther, "SkipOutOfScopeDeletions", msg, "")
		out.TargetID = anchor.TargetID
		return out, nil
	}
	target, found, res := r.matchingStep(ctx, l)
	if res != nil {
		res.TargetID = ""
		return res, nil
	}
	if !inScope {
		if !found {
			msg := fmt.Sprintf("The %s '%s' is out of scope and no longer exists in %s; nothing to do.", r.kind, r.id, r.job.Target.Name())
			r.skipStep("NotEffectivelyEntitled", msg)
			return r.finish(StatusSkipped, ActionOther, "NotEffectivelyEntitled", msg, ""), nil
		}
		return r.update(ctx, target, true)
	}
	if !found {
		return r.create(ctx)
	}
	return r.update(ctx, target, false)
}

// importStep shows the source object. A cloud-sync job first says what
// change it received, as Entra's cloud sync does: an Add for an object it
// never linked, an Update for a linked one, a Delete for a soft-deleted
// one.
func (r *run) importStep(linked bool) {
	d := make(Details, 0, 1+len(r.om.SourceAttributes)+3) // and a few state attributes
	d.Add("objectId", r.src.ID)
	add := func(name string) {
		if _, shown := d.Get(name); shown {
			return // a name is shown once; one without values never is
		}
		if vs, ok := r.src.Attrs[name]; ok && len(vs) > 0 {
			v := shownValues(vs)
			if slices.Contains(r.om.Redacted, name) {
				v = redacted
			}
			d.Add(name, v)
		}
	}
	for _, n := range r.om.SourceAttributes {
		add(n)
	}
	if sa, ok := r.job.Source.(connector.StateAttributer); ok {
		for _, n := range sa.StateAttributes(r.om.Mapping.SourceObjectName) {
			add(n)
		}
	}
	if r.job.CloudSync {
		change := "Add"
		switch {
		case r.src.SoftDeleted:
			change = "Delete"
		case linked:
			change = "Update"
		}
		r.step("EntryImport"+change, StepImport, StatusSuccess,
			fmt.Sprintf("Received %s '%s' change of type (%s) from %s", r.kind, r.id, change, r.job.Source.Name()), d)
	}
	r.step("EntryImport", StepImport, StatusSuccess,
		fmt.Sprintf("Retrieved %s '%s' from %s", r.kind, r.id, r.job.Source.Name()), d)
}

// maxShownValues is how many values of one attribute the import step
// shows: a million-member group's would be tens of megabytes.
const maxShownValues = 1000

// shownValues is vs as the import step shows them: comma-separated, the
// first maxShownValues only, and how many more there are.
func shownValues(vs []string) string {
	if len(vs) <= maxShownValues {
		return strings.Join(vs, ",")
	}
	return fmt.Sprintf("%s,… (%d more)", strings.Join(vs[:maxShownValues], ","), len(vs)-maxShownValues)
}

// scopingStep decides whether the object is in scope and says why not.
func (r *run) scopingStep(ctx context.Context) (bool, string, error) {
	ent, err := r.entitlement(ctx)
	if err != nil {
		return false, "", err
	}
	// A cloud-sync job provisions a disabled account (disabled, as its
	// mappings say): only a deleted one is inactive.
	active := !r.src.SoftDeleted && (!r.src.Disabled || r.job.CloudSync)
	assigned := ent.Assigned
	entitled := (assigned || r.job.SyncAll) && active
	passed, clauses := r.om.Scope.Eval(func(name string) []string { return r.src.Attrs[name] })
	eval := Details{}
	for _, c := range clauses {
		line := c.Group + " " + c.Clause.String()
		eval.Add(line, boolString(c.Passed))
	}
	d := Details{}
	if r.job.CloudSync {
		// Cloud sync's lines (seed example 2); nothing is assigned there.
		d.Add("Active in the source system", boolString(active))
		d.Add("Scoping filter evaluation passed", boolString(passed))
	} else {
		d.Add("IsActive", boolString(active))
		d.Add("Assigned", boolString(assigned))
		if r.job.SyncAll {
			d.Add("ScopeSyncAll", "True")
		}
		d.Add("IsEffectivelyEntitledForProvisioning", boolString(entitled))
		d.Add("IsInProvisioningScopeDisplayName", boolString(passed))
		b, _ := eval.MarshalJSON()
		d.Add("ScopeEvaluationResult", string(b))
	}
	for _, kv := range eval {
		d.Add(kv.Key, kv.Value)
	}
	inScope := entitled && passed
	status := StatusSuccess
	if !inScope {
		status = StatusSkipped
	}
	r.step("EntrySynchronizationScoping", StepScoping, status,
		fmt.Sprintf("Determine if %s in scope by evaluating against each scoping filter", r.kind), d)
	var reasons []string
	if !assigned && !r.job.SyncAll {
		reasons = append(reasons, "This object is not assigned to the application.")
	}
	if !active {
		reasons = append(reasons, "This object is disabled or deleted in the source system.")
	}
	if !passed {
		reasons = append(reasons, "This object does not pass the scoping filters.")
	}
	var b2 strings.Builder
	for i, s := range reasons {
		fmt.Fprintf(&b2, "%d) %s ", i+1, s)
	}
	return inScope, strings.TrimSpace(b2.String()), nil
}

// readLinked returns the anchor and the target object it names: read
// ahead, or now.
func (r *run) readLinked(ctx context.Context) linked {
	if r.ahead != nil {
		return r.ahead()
	}
	return r.u.readLinked(ctx, r.om, r.src.ID)()
}

// entitlement is the source's word on the object's assignment: computed
// with the object, asked for, or (a source without assignments) granted.
func (r *run) entitlement(ctx context.Context) (connector.Entitlement, error) {
	if r.src.Entitlement != nil {
		return *r.src.Entitlement, nil
	}
	en, ok := r.job.Source.(connector.Entitler)
	if !ok {
		return connector.Entitlement{Assigned: true}, nil
	}
	ent, err := en.Entitlement(ctx, r.om.Mapping.SourceObjectName, r.src.ID)
	if err != nil {
		return ent, fmt.Errorf("read entitlement: %w", err)
	}
	return ent, nil
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (r *run) skipStep(reason, desc string) {
	d := Details{}
	d.Add("SkipReason", reason)
	r.step("EntrySynchronizationSkip", StepExport, StatusSkipped, desc, d)
}

// matchingStep finds the target object: by stored anchor first, then by
// each matching attribute in matchingPriority order. A non-nil Result ends
// the pipeline (failure or ImportSkipped).
func (r *run) matchingStep(ctx context.Context, l linked) (connector.Object, bool, *Outcome) {
	tgt := r.job.Target
	ttype := r.om.Mapping.TargetObjectName
	if l.has {
		obj, err := l.target, l.targetErr
		switch {
		case err == nil:
			r.matchedStep(obj, "anchor")
			return obj, true, nil
		case connector.IsNotFound(err):
			// The target object is gone: forget the link and match afresh.
			if err := r.unlink(ctx); err != nil {
				return obj, false, r.fail(ctx, StepMatching, err)
			}
		default:
			return obj, false, r.fail(ctx, StepMatching, err)
		}
	}
	tried := false
	for _, m := range r.om.Matching {
		v, err := r.eval(ctx, m)
		if err != nil {
			return connector.Object{}, false, r.fail(ctx, StepMatching, err)
		}
		value := v.Value.String()
		if v.Ignore || value == "" {
			continue
		}
		tried = true
		hits, err := tgt.Find(ctx, ttype, m.Target, value)
		if err != nil {
			return connector.Object{}, false, r.fail(ctx, StepMatching, err)
		}
		switch {
		case len(hits) == 1:
			r.matchedStep(hits[0], m.Target)
			return hits[0], true, nil
		case len(hits) > 1:
			d := Details{}
			ids := make([]string, len(hits))
			for i, h := range hits {
				ids[i] = h.ID
				d.Add(fmt.Sprintf("Match %d id", i+1), h.ID)
			}
			msg := fmt.Sprintf("More than one %s in %s matched %s '%s': %s. Remove the duplicates or make the matching attribute unique.",
				ttype, tgt.Name(), m.Target, value, strings.Join(ids, ", "))
			r.step("EntryImport", StepMatching, StatusFailure, msg, d)
			return connector.Object{}, false, r.finish(StatusFailure, ActionOther, "DuplicateTargetEntries", msg, "NonServiceFailure")
		}
	}
	if !tried {
		msg := fmt.Sprintf("The %s '%s' has no value for any matching attribute, so it cannot be matched with %s.", r.kind, r.src.ID, tgt.Name())
		r.skipStep("ImportSkipped", msg)
		return connector.Object{}, false, r.finish(StatusSkipped, ActionOther, "ImportSkipped", msg, "")
	}
	r.step("EntryImportObjectNotFound", StepMatching, StatusSuccess,
		fmt.Sprintf("No matching %s was found in %s for '%s'", ttype, tgt.Name(), r.id), Details{})
	return connector.Object{}, false, nil
}

func (r *run) matchedStep(obj connector.Object, how string) {
	d := Details{}
	keys := make([]string, 0, len(obj.Attrs)+1)
	for k := range obj.Attrs {
		if k != "members" {
			keys = append(keys, k)
		}
	}
	keys = append(keys, "id")
	slices.Sort(keys)
	for _, k := range keys {
		if k == "id" {
			d.Add("id", obj.ID)
			continue
		}
		v := strings.Join(obj.Attrs[k], ",")
		if r.redactedTarget(k) {
			v = redacted
		}
		d.Add(k, v)
	}
	r.ev.TargetIdentity.ID = obj.ID
	r.step("EntryImport", StepMatching, StatusSuccess,
		fmt.Sprintf("Retrieved %s '%s' from %s (matched by %s)", r.om.Mapping.TargetObjectName, r.id, r.job.Target.Name(), how), d)
}

// redactedTarget reports whether the target attribute's mapping uses Redact.
func (r *run) redactedTarget(name string) bool {
	for _, ca := range r.om.Attrs {
		if ca.Target == name {
			return ca.Redacted
		}
	}
	return false
}

// desired evaluates every mapping. creating includes add-only mappings and
// default values. The map values are what flows; shown holds what logs
// display (redacted values hidden).
type desired struct {
	names []string
	vals  connector.Attributes
	shown map[string]string
}

func (r *run) desired(ctx context.Context, creating, softDeleted bool) (desired, error) {
	d := desired{vals: connector.Attributes{}, shown: map[string]string{}}
	var target string // the attribute being evaluated: one env for all
	env := r.env(ctx, softDeleted, &target)
	for _, ca := range r.om.Attrs {
		if ca.Target == "members" || (ca.AddOnly && !creating) || (softDeleted && !ca.Disables) {
			continue // deprovisioning writes only what disables the object
		}
		var val expr.Value
		hide := false
		if ca.Expr != nil {
			target = ca.Target
			res, err := ca.Expr.Eval(env)
			if err != nil {
				return d, &mappingError{target: ca.Target, err: err}
			}
			if res.Ignore {
				continue
			}
			val, hide = res.Value, res.Redacted
		} else {
			val = expr.Null()
		}
		if val.IsNull() {
			if !creating || !ca.HasDefault() {
				continue // nulls never flow
			}
			val = expr.Str(*ca.Mapping.DefaultValue)
		}
		vs := val.Strings()
		if ca.SingleValued && len(vs) > 1 {
			return d, &mappingError{target: ca.Target, code: "SchemaPropertyCanOnlyAcceptValue",
				err: fmt.Errorf("it takes one value and the mapping gave %d (%s); pick one in the mapping, with Item(…, 1) or Join(…)",
					len(vs), shownValues(vs))}
		}
		d.names = append(d.names, ca.Target)
		d.vals[ca.Target] = vs
		shown := strings.Join(vs, ",")
		if hide {
			shown = redacted
		}
		d.shown[ca.Target] = shown
	}
	return d, nil
}

type mappingError struct {
	target string
	code   string // "" for ExpressionEvaluationFailure
	err    error
}

func (e *mappingError) Unwrap() error { return e.err }

func (e *mappingError) Error() string {
	return fmt.Sprintf("evaluating the mapping for target attribute '%s' failed: %v", e.target, e.err)
}

func (r *run) create(ctx context.Context) (*Outcome, error) {
	if !r.om.FlowTypes.Add {
		msg := fmt.Sprintf("No matching %s was found in %s, and the object mapping does not allow Add.", r.kind, r.job.Target.Name())
		r.skipStep("ObjectAddNotAllowed", msg)
		return r.finish(StatusSkipped, ActionOther, "ObjectAddNotAllowed", msg, ""), nil
	}
	want, err := r.desired(ctx, true, false)
	if err != nil {
		return r.fail(ctx, StepExport, err), nil
	}
	for _, n := range want.names {
		v := want.shown[n]
		r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: n, NewValue: &v})
	}
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	if r.dry {
		r.step("EntryExportAdd", StepExport, StatusSuccess,
			fmt.Sprintf("%s '%s' would be created in %s (dry run: nothing was written)", r.upperKind(), r.id, r.job.Target.Name()), d)
		return r.finish(StatusSuccess, ActionCreate, "", "", ""), nil
	}
	obj, err := r.job.Target.Create(ctx, r.om.Mapping.TargetObjectName, want.vals)
	if err != nil {
		if out, rerr := r.rematch(ctx, want, err); out != nil || rerr != nil {
			return out, rerr
		}
		return r.fail(ctx, StepExport, err), nil
	}
	r.ev.TargetIdentity.ID = obj.ID
	if err := r.link(ctx, obj.ID); err != nil {
		return nil, err
	}
	r.step("EntryExportAdd", StepExport, StatusSuccess,
		fmt.Sprintf("%s '%s' was created in %s", r.upperKind(), r.id, r.job.Target.Name()), d)
	return r.finish(StatusSuccess, ActionCreate, "", "", ""), nil
}

// Snapshot is a target whose Find may answer from a listing older than the
// target (a cycle's, read once at its start). Refresh makes it ask the
// target itself for the matching values in attrs.
type Snapshot interface {
	Refresh(objectType string, attrs connector.Attributes)
}

// rematch handles a create the target refused as a conflict, when matching
// answered from a Snapshot: the object may have been created since the
// listing (by an on-demand call during the cycle, by another tool), so it
// matches again against the target itself and, on a hit, updates the
// object found instead of failing. It returns no outcome when it did not
// rematch (the create's error stands); an error is the store's.
func (r *run) rematch(ctx context.Context, want desired, createErr error) (*Outcome, error) {
	snap, ok := r.job.Target.(Snapshot)
	if !ok || connector.KindOf(createErr) != connector.KindConflict {
		return nil, nil
	}
	snap.Refresh(r.om.Mapping.TargetObjectName, want.vals)
	r.step("EntryExportAdd", StepExport, StatusSkipped,
		fmt.Sprintf("%s refused to create %s '%s' as a conflict (%v); it may have been created since the cycle read %s, so it is matched again against %s itself",
			r.job.Target.Name(), r.kind, r.id, createErr, r.job.Target.Name(), r.job.Target.Name()), Details{})
	target, found, res := r.matchingStep(ctx, linked{})
	switch {
	case res != nil:
		return res, nil
	case !found:
		return r.fail(ctx, StepExport, createErr), nil
	}
	r.ev.ModifiedProperties = nil // the create's; the update shows its own
	return r.update(ctx, target, false)
}

// update writes the attributes that differ; deprovision evaluates the
// mappings with IsSoftDeleted = True, which disables the target object.
// A mapping that never reads IsSoftDeleted cannot disable, so the object
// is deleted instead when the object mapping allows Delete.
func (r *run) update(ctx context.Context, target connector.Object, deprovision bool) (*Outcome, error) {
	if deprovision && !slices.ContainsFunc(r.om.Attrs, func(ca *schema.CompiledAttr) bool { return ca.Disables }) {
		return r.remove(ctx, target)
	}
	export := "EntryExportUpdate"
	if deprovision {
		export = "EntryExportUpdateSoftDelete"
	}
	want, err := r.desired(ctx, false, deprovision)
	if err != nil {
		return r.failAs(ctx, export, StepExport, err), nil
	}
	set := connector.Attributes{}
	var mods []ModifiedProperty
	for _, n := range want.names {
		have := target.Attrs[n]
		if sameValues(have, want.vals[n]) {
			continue
		}
		set[n] = want.vals[n]
		v := want.shown[n]
		var old *string
		if len(have) > 0 {
			o := strings.Join(have, ",")
			if want.shown[n] == redacted {
				o = redacted
			}
			old = &o
		}
		mods = append(mods, ModifiedProperty{DisplayName: n, OldValue: old, NewValue: &v})
	}
	if err := r.link(ctx, target.ID); err != nil {
		return nil, err
	}
	if len(set) == 0 {
		msg := fmt.Sprintf("The state of the %s in both the source and target systems already match.", strings.ToLower(r.kind))
		r.skipStep("RedundantExport", fmt.Sprintf("%s No change to the %s '%s' currently needs to be made.", msg, r.kind, r.id))
		return r.finish(StatusSkipped, ActionOther, "RedundantExport", msg, ""), nil
	}
	if !r.om.FlowTypes.Update {
		msg := fmt.Sprintf("The %s '%s' differs from %s, but the object mapping does not allow Update.", r.kind, r.id, r.job.Target.Name())
		r.skipStep("ObjectUpdateNotAllowed", msg)
		return r.finish(StatusSkipped, ActionOther, "ObjectUpdateNotAllowed", msg, ""), nil
	}
	// Only what is (or, in a dry run, would be) written is modified.
	r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, mods...)
	if deprovision && r.u.hold {
		return r.stage(target, ActionDisable), nil
	}
	if !r.dry {
		if err := r.job.Target.Update(ctx, r.om.Mapping.TargetObjectName, target.ID, set); err != nil {
			return r.failAs(ctx, export, StepExport, err), nil
		}
	}
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	if deprovision {
		r.step("EntryExportUpdateSoftDelete", StepExport, StatusSuccess,
			r.did(fmt.Sprintf("%s '%s' was disabled in %s because it is no longer in scope", r.upperKind(), r.id, r.job.Target.Name()),
				fmt.Sprintf("%s '%s' would be disabled in %s because it is no longer in scope", r.upperKind(), r.id, r.job.Target.Name())), d)
		return r.finish(StatusSuccess, ActionDisable, "", "", ""), nil
	}
	r.step("EntryExportUpdate", StepExport, StatusSuccess,
		r.did(fmt.Sprintf("%s '%s' was updated in %s", r.upperKind(), r.id, r.job.Target.Name()),
			fmt.Sprintf("%s '%s' would be updated in %s", r.upperKind(), r.id, r.job.Target.Name())), d)
	return r.finish(StatusSuccess, ActionUpdate, "", "", ""), nil
}

// upperKind is the object kind as the export step's sentence starts with
// it: "User 'x' was created", whatever case the source names its type in
// (cloud sync's "user").
func (r *run) upperKind() string {
	if r.kind == "" {
		return r.kind
	}
	return strings.ToUpper(r.kind[:1]) + r.kind[1:]
}

// did picks the export step's wording: what was done, or in a dry run what
// would have been.
func (r *run) did(done, would string) string {
	if r.dry {
		return would + " (dry run: nothing was written)"
	}
	return done
}

// remove deletes the target object and forgets the anchor.
func (r *run) remove(ctx context.Context, target connector.Object) (*Outcome, error) {
	if !r.om.FlowTypes.Delete {
		msg := fmt.Sprintf("The %s '%s' is out of scope, but the object mapping does not allow Delete.", r.kind, r.id)
		r.skipStep("ObjectDeleteNotAllowed", msg)
		return r.finish(StatusSkipped, ActionOther, "ObjectDeleteNotAllowed", msg, ""), nil
	}
	if r.u.hold {
		return r.stage(target, ActionDelete), nil
	}
	if !r.dry {
		if err := r.job.Target.Delete(ctx, r.om.Mapping.TargetObjectName, target.ID); err != nil && !connector.IsNotFound(err) {
			return r.failAs(ctx, "EntryExportDelete", StepExport, err), nil
		}
		if err := r.unlink(ctx); err != nil {
			return nil, fmt.Errorf("delete anchor: %w", err)
		}
	}
	r.ev.TargetIdentity.ID = target.ID
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	r.step("EntryExportDelete", StepExport, StatusSuccess,
		r.did(fmt.Sprintf("%s '%s' was deleted in %s", r.upperKind(), r.id, r.job.Target.Name()),
			fmt.Sprintf("%s '%s' would be deleted in %s", r.upperKind(), r.id, r.job.Target.Name())), d)
	return r.finish(StatusSuccess, ActionDelete, "", "", ""), nil
}

// stage ends the run with a disable or delete held back (HoldDeletes).
func (r *run) stage(target connector.Object, action Action) *Outcome {
	r.ev.TargetIdentity.ID = target.ID
	verb, step := "disabled", "EntryExportUpdateSoftDelete"
	if action == ActionDelete {
		verb, step = "deleted", "EntryExportDelete"
	}
	msg := fmt.Sprintf("The %s '%s' would be %s in %s, but the cycle's disables and deletes are over the job's accidental-deletions threshold (QuarantineTooManyDeletesThreshold), so it is held: restart the job with ForceDeletes to let it through, or fix the cause and restart.",
		r.kind, r.id, verb, r.job.Target.Name())
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	r.step(step, StepExport, StatusSkipped, msg, d)
	out := r.finish(StatusSkipped, action, CodeStagedDelete, msg, "")
	r.ev.Action = string(ActionStagedDelete) // a group's event is finished again after its members
	out.Event.Action = r.ev.Action
	return out
}

// link stores the anchor source → target. It records work done in the
// target, so it outlives a caller that went away. A dry run keeps anchors
// as they are.
func (r *run) link(ctx context.Context, targetID string) error {
	if r.dry || targetID == r.linked {
		return nil
	}
	ctx, cancel := persistCtx(ctx)
	defer cancel()
	err := r.u.state().PutAnchor(ctx, store.Anchor{
		JobID: r.job.ID, SourceType: r.om.Mapping.SourceObjectName, SourceID: r.src.ID,
		TargetType: r.om.Mapping.TargetObjectName, TargetID: targetID, Updated: r.e.now(),
	})
	if err != nil {
		return fmt.Errorf("save anchor: %w", err)
	}
	r.linked = targetID
	return nil
}

// unlink forgets the anchor (not in a dry run).
func (r *run) unlink(ctx context.Context) error {
	if r.dry {
		return nil
	}
	ctx, cancel := persistCtx(ctx)
	defer cancel()
	if err := r.u.state().DeleteAnchor(ctx, r.job.ID, r.om.Mapping.SourceObjectName, r.src.ID); err != nil && !isStoreNotFound(err) {
		return err
	}
	r.linked = ""
	return nil
}

// sameValues compares attribute values as the target stores them:
// booleans case-insensitively, multi-valued attributes as sets.
func sameValues(have, want []string) bool {
	if len(have) != len(want) {
		return false
	}
	if len(want) == 1 {
		return equalValue(have[0], want[0])
	}
	a, b := slices.Clone(have), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	for i := range a {
		if !equalValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalValue(a, b string) bool {
	if a == b {
		return true
	}
	isBool := func(s string) bool { return strings.EqualFold(s, "true") || strings.EqualFold(s, "false") }
	return isBool(a) && isBool(b) && strings.EqualFold(a, b)
}

// fail ends the run with a failure in the given step type, named after it
// (an export without a target object is an add, with one an update). The
// outcome keeps the connector error's kind and RetryAfter.
func (r *run) fail(ctx context.Context, stepType StepType, err error) *Outcome {
	name := "EntryExportAdd"
	switch stepType {
	case StepMatching:
		name = "EntryImport"
	case StepExport:
		if r.ev.TargetIdentity.ID != "" {
			name = "EntryExportUpdate"
		}
	}
	return r.failAs(ctx, name, stepType, err)
}

// failAs is fail with the failed step's name given: a failed disable or
// delete is logged as such.
func (r *run) failAs(ctx context.Context, name string, stepType StepType, err error) *Outcome {
	code, category := "InternalError", "Failure"
	var ce *connector.Error
	var me *mappingError
	var ue *expr.UserError
	kind := connector.KindUnknown
	var retryAfter time.Duration
	switch {
	case errors.As(err, &ue):
		// Error("...") in a mapping: the administrator's message is the reason.
		code, category = "ExpressionError", "NonServiceFailure"
		err = ue
	case errors.As(err, &me):
		code, category = cmp.Or(me.code, "ExpressionEvaluationFailure"), "NonServiceFailure"
	case errors.As(err, &ce):
		code, kind = ce.Code, ce.Kind
		retryAfter = time.Duration(ce.RetryAfter * float64(time.Second))
		if code == "" {
			code = connector.CodeForStatus(ce.Status)
		}
		if ce.Kind == connector.KindInvalid || ce.Kind == connector.KindConflict || ce.Kind == connector.KindNotFound {
			category = "NonServiceFailure"
		}
	case errors.Is(err, context.DeadlineExceeded):
		code, kind = "Timeout", connector.KindTransient
	}
	msg := err.Error()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Say what ran out and when, whatever the connector reported.
		code, kind = "Timeout", connector.KindTransient
		took := r.e.now().Sub(time.Time(r.ev.StartTime)).Round(100 * time.Millisecond)
		msg = fmt.Sprintf("%s did not answer in time: the call's deadline passed after %s. %s", r.job.Target.Name(), took, msg)
	}
	r.step(name, stepType, StatusFailure, msg, Details{})
	out := r.finish(StatusFailure, ActionOther, code, msg, category)
	out.Kind, out.RetryAfter = kind, retryAfter
	return out
}

func recommendedAction(code string) string {
	switch code {
	case "DuplicateTargetEntries":
		return "Make the matching attribute unique in the target system, or change the matching attributes."
	case "SystemForCrossDomainIdentityManagementCredentialValidationFailure":
		return "Check the BaseAddress and SecretToken secrets of the job (validateCredentials tests them)."
	case "EntryConflict":
		return "Another object in the target already holds a unique value; fix the conflict or the matching attributes."
	case "TooManyRequests", "InternalServerError", "Timeout", "WebExceptionProtocolError":
		return "The target system is unavailable or throttling; retry later."
	case "ExpressionError", "ExpressionEvaluationFailure":
		return "Fix the attribute mapping expression or the source data it reads."
	}
	return "Check the target system's response in the reason above."
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"provisiond/connector"
	"provisiond/expr"
	"provisiond/schema"
	"provisiond/store"
)

// run carries one object through the pipeline and builds its event.
type run struct {
	e    *Engine
	ctx  context.Context
	job  *Job
	om   *schema.CompiledObject
	src  connector.Object
	ev   Event
	key  Key
	kind string // "User" or "Group", as descriptions say it
	id   string // reportable identifier
}

const redacted = "[Redact]"

func (e *Engine) newRun(ctx context.Context, job *Job, om *schema.CompiledObject, src connector.Object) *run {
	r := &run{e: e, ctx: ctx, job: job, om: om, src: src, kind: om.Mapping.SourceObjectName}
	start := e.now()
	r.ev = Event{
		ChangeID:           e.newID(),
		StartTime:          Time(start),
		ModifiedProperties: []ModifiedProperty{},
		ProvisioningSteps:  []Step{},
		SourceIdentity:     Identity{ID: src.ID, Type: om.Mapping.SourceObjectName, Details: nullJSON},
		SourceSystem:       System{Name: job.Source.Name(), Details: nullJSON},
		TargetIdentity:     Identity{Type: om.Mapping.TargetObjectName, Details: nullJSON},
		TargetSystem:       System{Name: job.Target.Name(), Details: nullJSON},
	}
	if dn, ok := src.Attrs.Get("displayName"); ok {
		r.ev.SourceIdentity.DisplayName = &dn
	}
	r.id = src.ID
	if len(om.Matching) > 0 {
		if v, err := r.eval(om.Matching[0]); err == nil && !v.Ignore && v.Value.String() != "" {
			r.id = v.Value.String()
		}
	}
	r.ev.ReportableIdentifier = r.id
	return r
}

var nullJSON = []byte("null")

func (r *run) step(name, typ, status, desc string, details Details) {
	if details == nil {
		details = Details{}
	}
	r.ev.ProvisioningSteps = append(r.ev.ProvisioningSteps, Step{
		Name: name, Type: typ, Status: status, Description: desc, Timestamp: Time(r.e.now()), Details: details,
	})
}

// env is the expression environment over the source object. softDeleted
// overrides IsSoftDeleted when deprovisioning.
func (r *run) env(softDeleted bool, targetAttr string) *expr.Env {
	attrs := r.src.Attrs
	return &expr.Env{
		Attr: func(name string) expr.Value {
			if softDeleted && name == "IsSoftDeleted" {
				return expr.Str("True")
			}
			return toValue(attrs[name])
		},
		Now: r.e.now,
		IsTaken: func(candidate string) (bool, error) {
			hits, err := r.job.Target.Find(r.ctx, r.om.Mapping.TargetObjectName, targetAttr, candidate)
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

func (r *run) eval(ca *schema.CompiledAttr) (expr.Result, error) {
	return ca.Expr.Eval(r.env(false, ca.Target))
}

// finish completes the event with the outcome and records it.
func (r *run) finish(status, action, code, message, category string) *Result {
	r.ev.Action = action
	r.ev.EndTime = Time(r.e.now())
	r.ev.StatusInfo = StatusInfo{Status: status}
	r.key = Key{Result: status}
	if code != "" {
		r.key.Details = KeyDetails{ErrorCode: code, ErrorMessage: message}
	}
	if status == "Failure" {
		r.ev.StatusInfo.ErrorCode = &code
		r.ev.StatusInfo.Reason = &message
		r.ev.StatusInfo.ErrorCategory = &category
		rec := recommendedAction(code)
		r.ev.StatusInfo.RecommendedAction = &rec
	}
	return &Result{Key: r.key, Event: r.ev}
}

// provisionObject runs Import → Scoping → Matching → Export for one object
// and returns the result and the target id (empty if none).
func (e *Engine) provisionObject(ctx context.Context, job *Job, om *schema.CompiledObject, src connector.Object) (*Result, string, error) {
	unlock := e.lockObject(job, om, src)
	defer unlock()
	r := e.newRun(ctx, job, om, src)
	res, targetID, err := r.pipeline()
	if err != nil {
		return nil, "", err
	}
	if err := e.saveLog(ctx, job, &res.Event); err != nil {
		return nil, "", err
	}
	return res, targetID, nil
}

func (e *Engine) lockObject(job *Job, om *schema.CompiledObject, src connector.Object) func() {
	return e.locks.lock(job.ID + "\x00" + om.Mapping.SourceObjectName + "\x00" + src.ID)
}

func (r *run) pipeline() (*Result, string, error) {
	r.importStep()
	inScope, reasons, err := r.scopingStep()
	if err != nil {
		return nil, "", err
	}
	anchor, err := r.e.state.GetAnchor(r.ctx, r.job.ID, r.om.Mapping.SourceObjectName, r.src.ID)
	hasAnchor := err == nil
	if err != nil && !isStoreNotFound(err) {
		return nil, "", fmt.Errorf("read anchor: %w", err)
	}
	if !inScope && !hasAnchor {
		msg := fmt.Sprintf("The %s '%s' will be skipped due to the following reasons: %s If you did not expect the object to be skipped, assign the object to the application, change the scoping filter, or update the provisioning scope to 'Sync all users and groups'.",
			r.kind, r.id, reasons)
		r.skipStep("NotEffectivelyEntitled", msg)
		return r.finish("Skipped", "Other", "NotEffectivelyEntitled", msg, ""), "", nil
	}
	if !inScope && r.job.SkipOutOfScopeDeletions {
		msg := fmt.Sprintf("The %s '%s' is out of scope, but SkipOutOfScopeDeletions is set, so it is left as it is in %s.", r.kind, r.id, r.job.Target.Name())
		r.skipStep("SkipOutOfScopeDeletions", msg)
		return r.finish("Skipped", "Other", "SkipOutOfScopeDeletions", msg, ""), anchor.TargetID, nil
	}
	target, found, res := r.matchingStep(anchor, hasAnchor)
	if res != nil {
		return res, "", nil
	}
	if !inScope {
		if !found {
			msg := fmt.Sprintf("The %s '%s' is out of scope and no longer exists in %s; nothing to do.", r.kind, r.id, r.job.Target.Name())
			r.skipStep("NotEffectivelyEntitled", msg)
			return r.finish("Skipped", "Other", "NotEffectivelyEntitled", msg, ""), "", nil
		}
		res, err := r.update(target, true)
		return res, target.ID, err
	}
	if !found {
		return r.create()
	}
	res, err = r.update(target, false)
	return res, target.ID, err
}

func (r *run) importStep() {
	d := Details{}
	d.Add("objectId", r.src.ID)
	seen := map[string]bool{"objectId": true}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if vs, ok := r.src.Attrs[name]; ok && len(vs) > 0 {
			v := strings.Join(vs, ",")
			if slices.Contains(r.om.Redacted, name) {
				v = redacted
			}
			d.Add(name, v)
		}
	}
	for _, n := range r.om.SourceAttributes {
		add(n)
	}
	add("accountEnabled")
	add("IsSoftDeleted")
	add("appRoleAssignments")
	r.step("EntryImport", "Import", "Success",
		fmt.Sprintf("Retrieved %s '%s' from %s", r.kind, r.id, r.job.Source.Name()), d)
}

// scopingStep decides whether the object is in scope and says why not.
func (r *run) scopingStep() (bool, string, error) {
	ent, err := r.job.Source.Entitlement(r.ctx, r.om.Mapping.SourceObjectName, r.src.ID)
	if err != nil {
		return false, "", fmt.Errorf("read entitlement: %w", err)
	}
	enabled, _ := r.src.Attrs.Get("accountEnabled")
	deleted, _ := r.src.Attrs.Get("IsSoftDeleted")
	active := !strings.EqualFold(enabled, "False") && !strings.EqualFold(deleted, "True")
	assigned := ent.Assigned
	entitled := (assigned || r.job.SyncAll) && active
	passed, clauses := r.om.Scope.Eval(func(name string) []string { return r.src.Attrs[name] })
	d := Details{}
	d.Add("IsActive", boolString(active))
	d.Add("Assigned", boolString(assigned))
	if r.job.SyncAll {
		d.Add("ScopeSyncAll", "True")
	}
	d.Add("IsEffectivelyEntitledForProvisioning", boolString(entitled))
	d.Add("IsInProvisioningScopeDisplayName", boolString(passed))
	eval := Details{}
	for _, c := range clauses {
		line := c.Group + " " + c.Clause.String()
		eval.Add(line, boolString(c.Passed))
	}
	b, _ := eval.MarshalJSON()
	d.Add("ScopeEvaluationResult", string(b))
	for _, kv := range eval {
		d.Add(kv.Key, kv.Value)
	}
	inScope := entitled && passed
	status := "Success"
	if !inScope {
		status = "Skipped"
	}
	r.step("EntrySynchronizationScoping", "Scoping", status,
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

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (r *run) skipStep(reason, desc string) {
	d := Details{}
	d.Add("SkipReason", reason)
	r.step("EntrySynchronizationSkip", "Export", "Skipped", desc, d)
}

// matchingStep finds the target object: by stored anchor first, then by
// each matching attribute in matchingPriority order. A non-nil Result ends
// the pipeline (failure or ImportSkipped).
func (r *run) matchingStep(anchor store.Anchor, hasAnchor bool) (connector.Object, bool, *Result) {
	tgt := r.job.Target
	ttype := r.om.Mapping.TargetObjectName
	if hasAnchor {
		obj, err := tgt.Get(r.ctx, ttype, anchor.TargetID)
		switch {
		case err == nil:
			r.matchedStep(obj, "anchor")
			return obj, true, nil
		case connector.IsNotFound(err):
			// The target object is gone: forget the link and match afresh.
			if err := r.e.state.DeleteAnchor(r.ctx, r.job.ID, r.om.Mapping.SourceObjectName, r.src.ID); err != nil && !isStoreNotFound(err) {
				return obj, false, r.fail("Matching", err)
			}
		default:
			return obj, false, r.fail("Matching", err)
		}
	}
	tried := false
	for _, m := range r.om.Matching {
		v, err := r.eval(m)
		if err != nil {
			return connector.Object{}, false, r.fail("Matching", err)
		}
		value := v.Value.String()
		if v.Ignore || value == "" {
			continue
		}
		tried = true
		hits, err := tgt.Find(r.ctx, ttype, m.Target, value)
		if err != nil {
			return connector.Object{}, false, r.fail("Matching", err)
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
			r.step("EntryImport", "Matching", "Failure", msg, d)
			return connector.Object{}, false, r.finish("Failure", "Other", "DuplicateTargetEntries", msg, "NonServiceFailure")
		}
	}
	if !tried {
		msg := fmt.Sprintf("The %s '%s' has no value for any matching attribute, so it cannot be matched with %s.", r.kind, r.src.ID, tgt.Name())
		r.skipStep("ImportSkipped", msg)
		return connector.Object{}, false, r.finish("Skipped", "Other", "ImportSkipped", msg, "")
	}
	r.step("EntryImportObjectNotFound", "Matching", "Success",
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
	r.step("EntryImport", "Matching", "Success",
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

func (r *run) desired(creating, softDeleted bool) (desired, error) {
	d := desired{vals: connector.Attributes{}, shown: map[string]string{}}
	for _, ca := range r.om.Attrs {
		if ca.Target == "members" || (ca.AddOnly && !creating) || (softDeleted && !ca.Disables) {
			continue // deprovisioning writes only what disables the object
		}
		var val expr.Value
		hide := false
		if ca.Expr != nil {
			res, err := ca.Expr.Eval(r.env(softDeleted, ca.Target))
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
			if !creating || ca.Mapping.DefaultValue == nil {
				continue // nulls never flow
			}
			val = expr.Str(*ca.Mapping.DefaultValue)
		}
		vs := val.Strings()
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
	err    error
}

func (e *mappingError) Unwrap() error { return e.err }

func (e *mappingError) Error() string {
	return fmt.Sprintf("evaluating the mapping for target attribute '%s' failed: %v", e.target, e.err)
}

func (r *run) create() (*Result, string, error) {
	if !r.om.FlowTypes.Add {
		msg := fmt.Sprintf("No matching %s was found in %s, and the object mapping does not allow Add.", r.kind, r.job.Target.Name())
		r.skipStep("ObjectAddNotAllowed", msg)
		return r.finish("Skipped", "Other", "ObjectAddNotAllowed", msg, ""), "", nil
	}
	want, err := r.desired(true, false)
	if err != nil {
		return r.fail("Export", err), "", nil
	}
	for _, n := range want.names {
		v := want.shown[n]
		r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: n, NewValue: &v})
	}
	obj, err := r.job.Target.Create(r.ctx, r.om.Mapping.TargetObjectName, want.vals)
	if err != nil {
		return r.fail("Export", err), "", nil
	}
	if err := r.link(obj.ID); err != nil {
		return nil, "", err
	}
	r.ev.TargetIdentity.ID = obj.ID
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	r.step("EntryExportAdd", "Export", "Success",
		fmt.Sprintf("%s '%s' was created in %s", r.kind, r.id, r.job.Target.Name()), d)
	return r.finish("Success", "Create", "", "", ""), obj.ID, nil
}

// update writes the attributes that differ; deprovision evaluates the
// mappings with IsSoftDeleted = True, which disables the target object.
// A mapping that never reads IsSoftDeleted cannot disable, so the object
// is deleted instead when the object mapping allows Delete.
func (r *run) update(target connector.Object, deprovision bool) (*Result, error) {
	if deprovision && !slices.ContainsFunc(r.om.Attrs, func(ca *schema.CompiledAttr) bool { return ca.Disables }) {
		return r.remove(target)
	}
	want, err := r.desired(false, deprovision)
	if err != nil {
		return r.fail("Export", err), nil
	}
	set := connector.Attributes{}
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
		r.ev.ModifiedProperties = append(r.ev.ModifiedProperties, ModifiedProperty{DisplayName: n, OldValue: old, NewValue: &v})
	}
	if err := r.link(target.ID); err != nil {
		return nil, err
	}
	if len(set) == 0 {
		msg := fmt.Sprintf("The state of the %s in both the source and target systems already match.", strings.ToLower(r.kind))
		r.skipStep("RedundantExport", fmt.Sprintf("%s No change to the %s '%s' currently needs to be made.", msg, r.kind, r.id))
		return r.finish("Skipped", "Other", "RedundantExport", msg, ""), nil
	}
	if !r.om.FlowTypes.Update {
		msg := fmt.Sprintf("The %s '%s' differs from %s, but the object mapping does not allow Update.", r.kind, r.id, r.job.Target.Name())
		r.skipStep("ObjectUpdateNotAllowed", msg)
		return r.finish("Skipped", "Other", "ObjectUpdateNotAllowed", msg, ""), nil
	}
	if err := r.job.Target.Update(r.ctx, r.om.Mapping.TargetObjectName, target.ID, set); err != nil {
		return r.fail("Export", err), nil
	}
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	if deprovision {
		r.step("EntryExportUpdateSoftDelete", "Export", "Success",
			fmt.Sprintf("%s '%s' was disabled in %s because it is no longer in scope", r.kind, r.id, r.job.Target.Name()), d)
		return r.finish("Success", "Disable", "", "", ""), nil
	}
	r.step("EntryExportUpdate", "Export", "Success",
		fmt.Sprintf("%s '%s' was updated in %s", r.kind, r.id, r.job.Target.Name()), d)
	return r.finish("Success", "Update", "", "", ""), nil
}

// remove deletes the target object and forgets the anchor.
func (r *run) remove(target connector.Object) (*Result, error) {
	if !r.om.FlowTypes.Delete {
		msg := fmt.Sprintf("The %s '%s' is out of scope, but the object mapping does not allow Delete.", r.kind, r.id)
		r.skipStep("ObjectDeleteNotAllowed", msg)
		return r.finish("Skipped", "Other", "ObjectDeleteNotAllowed", msg, ""), nil
	}
	if err := r.job.Target.Delete(r.ctx, r.om.Mapping.TargetObjectName, target.ID); err != nil && !connector.IsNotFound(err) {
		return r.fail("Export", err), nil
	}
	if err := r.e.state.DeleteAnchor(r.ctx, r.job.ID, r.om.Mapping.SourceObjectName, r.src.ID); err != nil && !isStoreNotFound(err) {
		return nil, fmt.Errorf("delete anchor: %w", err)
	}
	r.ev.TargetIdentity.ID = target.ID
	d := Details{}
	d.Add("ReportableIdentifier", r.id)
	r.step("EntryExportDelete", "Export", "Success",
		fmt.Sprintf("%s '%s' was deleted in %s", r.kind, r.id, r.job.Target.Name()), d)
	return r.finish("Success", "Delete", "", "", ""), nil
}

// link stores the anchor source → target.
func (r *run) link(targetID string) error {
	err := r.e.state.PutAnchor(r.ctx, store.Anchor{
		JobID: r.job.ID, SourceType: r.om.Mapping.SourceObjectName, SourceID: r.src.ID,
		TargetType: r.om.Mapping.TargetObjectName, TargetID: targetID, Updated: r.e.now(),
	})
	if err != nil {
		return fmt.Errorf("save anchor: %w", err)
	}
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

// fail ends the run with a failure in the given step type.
func (r *run) fail(stepType string, err error) *Result {
	code, category := "InternalError", "Failure"
	var ce *connector.Error
	var me *mappingError
	var ue *expr.UserError
	switch {
	case errors.As(err, &ue):
		// Error("...") in a mapping: the administrator's message is the reason.
		code, category = "ExpressionError", "NonServiceFailure"
		err = ue
	case errors.As(err, &me):
		code, category = "ExpressionEvaluationFailure", "NonServiceFailure"
	case errors.As(err, &ce):
		code = ce.Code
		if code == "" {
			code = connector.CodeForStatus(ce.Status)
		}
		if ce.Kind == connector.KindInvalid || ce.Kind == connector.KindConflict || ce.Kind == connector.KindNotFound {
			category = "NonServiceFailure"
		}
	}
	msg := err.Error()
	name := "EntryExportAdd"
	switch stepType {
	case "Matching":
		name = "EntryImport"
	case "Export":
		if r.ev.TargetIdentity.ID != "" {
			name = "EntryExportUpdate"
		}
	}
	r.step(name, stepType, "Failure", msg, Details{})
	return r.finish("Failure", "Other", code, msg, category)
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

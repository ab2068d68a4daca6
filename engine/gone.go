package engine

import (
	"context"
	"fmt"

	"provisiond/connector"
	"provisiond/schema"
)

// provisionGone handles a source object that no longer exists (hard
// deleted) but was provisioned: its target object is deleted when the
// object mapping allows Delete.
func (e *Engine) provisionGone(ctx context.Context, job *Job, om *schema.CompiledObject, sourceID string) (*Result, error) {
	src := connector.Object{ID: sourceID, Type: om.Mapping.SourceObjectName, Attrs: connector.Attributes{}}
	unlock := e.lockObject(job, om, src)
	defer unlock()
	r := e.newRun(ctx, job, om, src)
	anchor, err := e.state.GetAnchor(ctx, job.ID, om.Mapping.SourceObjectName, sourceID)
	if err != nil {
		return nil, fmt.Errorf("read anchor: %w", err)
	}
	d := Details{}
	d.Add("objectId", sourceID)
	r.step("EntryImportDelete", "Import", "Success",
		fmt.Sprintf("The %s '%s' no longer exists in %s (hard-deleted)", r.kind, sourceID, job.Source.Name()), d)
	target, err := job.Target.Get(ctx, om.Mapping.TargetObjectName, anchor.TargetID)
	var res *Result
	switch {
	case connector.IsNotFound(err):
		if err := e.state.DeleteAnchor(ctx, job.ID, om.Mapping.SourceObjectName, sourceID); err != nil && !isStoreNotFound(err) {
			return nil, fmt.Errorf("delete anchor: %w", err)
		}
		msg := fmt.Sprintf("The %s '%s' is gone from both %s and %s; nothing to do.", r.kind, sourceID, job.Source.Name(), job.Target.Name())
		r.skipStep("RedundantExport", msg)
		res = r.finish("Skipped", "Other", "RedundantExport", msg, "")
	case err != nil:
		res = r.fail("Matching", err)
	default:
		r.matchedStep(target, "anchor")
		if res, err = r.remove(target); err != nil {
			return nil, err
		}
	}
	if err := e.saveLog(ctx, job, &res.Event); err != nil {
		return nil, err
	}
	return res, nil
}

package engine

import (
	"context"
	"fmt"

	"provisiond/connector"
	"provisiond/schema"
)

// gone handles a source object that no longer exists (hard deleted) but
// was provisioned: its target object is deleted when the object mapping
// allows Delete. The anchor and the target object it names are the ones
// read ahead: read again, the read ahead would race with the delete.
func (u *unit) gone(ctx context.Context, om *schema.CompiledObject, sourceID string, ahead func() linked) (*Outcome, error) {
	job := u.job
	src := connector.Object{ID: sourceID, Type: om.Mapping.SourceObjectName, Attrs: connector.Attributes{}}
	r := u.newRun(ctx, om, src)
	l := ahead()
	if l.err != nil {
		return nil, fmt.Errorf("read anchor: %w", l.err)
	}
	if !l.has {
		// Unlinked since it was found gone: there is nothing to delete.
		return nil, &NotFoundError{ObjectType: om.Mapping.SourceObjectName, ID: sourceID, Source: job.Source.Name()}
	}
	d := Details{}
	d.Add("objectId", sourceID)
	r.step("EntryImportDelete", StepImport, StatusSuccess,
		fmt.Sprintf("The %s '%s' no longer exists in %s (hard-deleted)", r.kind, sourceID, job.Source.Name()), d)
	target, err := l.target, l.targetErr
	var out *Outcome
	switch {
	case connector.IsNotFound(err):
		if err := r.unlink(ctx); err != nil {
			return nil, fmt.Errorf("delete anchor: %w", err)
		}
		msg := fmt.Sprintf("The %s '%s' is gone from both %s and %s; nothing to do.", r.kind, sourceID, job.Source.Name(), job.Target.Name())
		r.skipStep("RedundantExport", msg)
		out = r.finish(StatusSkipped, ActionOther, "RedundantExport", msg, "")
	case err != nil:
		out = r.fail(ctx, StepMatching, err)
	default:
		r.matchedStep(target, "anchor")
		if out, err = r.remove(ctx, target); err != nil {
			return nil, err
		}
	}
	if err := u.save(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

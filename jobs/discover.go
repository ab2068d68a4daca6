package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"provisiond/connector"
	"provisiond/schema"
	"provisiond/store"
)

// Discover reads the schema of the source directory directoryID of a job
// (its connector's connector.Discoverer, within the interactive budget),
// adds the attributes the directory definition lacks, stamps
// discoveryDateTime, stores the job's schema and returns the definition.
// An unknown directory is a NotFound *Error; a target directory or a
// source that cannot discover is an *Error to fix.
func (s *Service) Discover(ctx context.Context, sp store.ServicePrincipal, j store.Job, directoryID string) (schema.DirectoryDefinition, error) {
	var sc schema.Schema
	if err := json.Unmarshal(j.Schema, &sc); err != nil {
		return schema.DirectoryDefinition{}, fmt.Errorf("job %s: stored schema: %w", j.ID, err)
	}
	i := slices.IndexFunc(sc.Directories, func(d schema.DirectoryDefinition) bool { return strings.EqualFold(d.ID, directoryID) })
	if i < 0 {
		return schema.DirectoryDefinition{}, &Error{NotFound: true, Message: fmt.Sprintf("The job '%s' has no directory '%s'; GET .../schema lists them in directories[].id.", j.ID, directoryID)}
	}
	dir := &sc.Directories[i]
	ri := slices.IndexFunc(sc.SynchronizationRules, func(r schema.Rule) bool { return r.SourceDirectoryName == dir.Name })
	if ri < 0 {
		return schema.DirectoryDefinition{}, invalid("The directory '%s' (%s) is no rule's source; only a source directory can be discovered.", dir.ID, dir.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, s.interactive)
	defer cancel()
	creds, err := s.Secrets(ctx, sp.ID)
	if err != nil {
		return schema.DirectoryDefinition{}, err
	}
	settings, err := Settings(j)
	if err != nil {
		return schema.DirectoryDefinition{}, err
	}
	src, _, err := s.connectors(ctx, sp, j, &sc.SynchronizationRules[ri], creds, settings)
	if err != nil {
		return schema.DirectoryDefinition{}, err
	}
	d, ok := src.(connector.Discoverer)
	if !ok {
		return schema.DirectoryDefinition{}, invalid("The directory '%s' (%s) cannot be discovered: its schema is fixed.", dir.ID, dir.Name)
	}
	for oi := range dir.Objects {
		obj := &dir.Objects[oi]
		infos, err := d.Discover(ctx, obj.Name)
		if err != nil {
			return schema.DirectoryDefinition{}, &Error{Connect: true, Message: fmt.Sprintf("Discovering the %s objects of %s failed: %v", obj.Name, dir.Name, err)}
		}
		for _, a := range infos {
			if slices.ContainsFunc(obj.Attributes, func(have schema.AttributeDefinition) bool { return strings.EqualFold(have.Name, a.Name) }) {
				continue
			}
			obj.Attributes = append(obj.Attributes, schema.AttributeDefinition{
				Name: a.Name, Type: a.Type, Multivalued: a.Multivalued, Mutability: "ReadWrite",
				Metadata: []schema.StringKV{}, APIExpressions: []schema.StringKV{}, ReferencedObjects: []schema.ReferencedObject{},
			})
		}
	}
	now := s.now().UTC()
	dir.DiscoveryDateTime = &now
	raw, err := json.Marshal(&sc)
	if err != nil {
		return schema.DirectoryDefinition{}, err
	}
	if _, err := s.store.UpdateJob(ctx, sp.ID, j.ID, func(j *store.Job) error {
		j.Schema, j.Updated = raw, now
		return nil
	}); err != nil {
		return schema.DirectoryDefinition{}, err
	}
	return *dir, nil
}

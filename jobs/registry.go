package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"provisiond/connector"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
)

// Config is what a connector is built from.
type Config struct {
	ServicePrincipal store.ServicePrincipal
	// Directory is the schema's directory name the connector serves
	// ("Azure Active Directory", "customappsso").
	Directory string
	Secrets   []secrets.Pair
	// Settings are the job's synchronizationJobSettings (empty without a job).
	Settings map[string]string
}

// SourceFactory builds a source connector. An error is a configuration the
// administrator must fix; its message says what.
type SourceFactory func(ctx context.Context, c Config) (connector.Source, error)

// TargetFactory builds a target connector, as SourceFactory does.
type TargetFactory func(ctx context.Context, c Config) (connector.Target, error)

// Registry is the explicit table of connectors, keyed by directory name.
type Registry struct {
	Sources map[string]SourceFactory
	Targets map[string]TargetFactory
	// CheckSettings validates a job's settings for its target directory
	// when they change; a directory without an entry accepts any.
	CheckSettings map[string]func(settings map[string]string) error
}

func (r Registry) source(ctx context.Context, c Config) (connector.Source, error) {
	f, ok := r.Sources[c.Directory]
	if !ok {
		return nil, fmt.Errorf("no source connector is registered for the directory %q", c.Directory)
	}
	return f(ctx, c)
}

func (r Registry) target(ctx context.Context, c Config) (connector.Target, error) {
	f, ok := r.Targets[c.Directory]
	if !ok {
		return nil, fmt.Errorf("no target connector is registered for the directory %q", c.Directory)
	}
	return f(ctx, c)
}

// CheckDirectories refuses a schema for job j whose rules read or write a
// directory no connector is registered for, or write where j's template
// does not. What a job writes decides who may run it (only cloud sync
// writes the directory, for Hybrid Identity Administrators), so a schema
// cannot turn an application's job into one; a rule may read another
// source (an application's job may read LDAP or Active Directory).
func (s *Service) CheckDirectories(j store.Job, sc *schema.Schema) error {
	for _, r := range sc.SynchronizationRules {
		if _, ok := s.reg.Sources[r.SourceDirectoryName]; !ok {
			return invalid("The rule '%s' reads '%s', a directory provisiond has no connector for; a rule reads '%s', '%s' or '%s'.",
				r.ID, r.SourceDirectoryName, schema.DirectoryEntra, schema.DirectoryAD, schema.DirectoryLDAP)
		}
	}
	if err := writesAsTemplate(j, sc); err != nil {
		return err
	}
	for _, r := range sc.SynchronizationRules {
		if _, ok := s.reg.Targets[r.TargetDirectoryName]; !ok {
			return invalid("The rule '%s' writes to '%s', a directory provisiond has no connector for.", r.ID, r.TargetDirectoryName)
		}
	}
	return nil
}

// writesAsTemplate refuses a rule of sc that writes where job j's template
// does not.
func writesAsTemplate(j store.Job, sc *schema.Schema) *Error {
	t, ok := schema.TemplateByID("", j.TemplateID)
	if !ok {
		return invalid("The job's template '%s' no longer exists.", j.TemplateID)
	}
	var targets []string
	for _, r := range t.Schema.SynchronizationRules {
		if !slices.Contains(targets, r.TargetDirectoryName) {
			targets = append(targets, r.TargetDirectoryName)
		}
	}
	for _, r := range sc.SynchronizationRules {
		if !slices.Contains(targets, r.TargetDirectoryName) {
			return invalid("The rule '%s' writes to '%s', but a job of the template '%s' writes only to '%s'; to provision there, create a job of a template that does.",
				r.ID, r.TargetDirectoryName, j.TemplateID, strings.Join(targets, "', '"))
		}
	}
	return nil
}

package jobs

import (
	"context"
	"fmt"

	"provisiond/connector"
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

// Reads and Writes report whether a connector is registered to read the
// directory dir, and to write it: a schema naming another is refused.
func (s *Service) Reads(dir string) bool  { _, ok := s.reg.Sources[dir]; return ok }
func (s *Service) Writes(dir string) bool { _, ok := s.reg.Targets[dir]; return ok }

package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"provisiond/auth"
	"provisiond/connector"
	"provisiond/engine"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/throttle"
)

// Connect builds the source and target a job of the given template runs
// against, from the service principal, its decrypted secrets and the job's
// synchronizationJobSettings (nil when there is no job yet). It is the
// explicit registry of connectors, filled in by cmd/provisiond. A
// configuration the caller must fix (missing BaseAddress, say) is an error
// whose message says so.
type Connect func(ctx context.Context, templateID string, sp store.ServicePrincipal, creds []secrets.Pair, settings map[string]string) (connector.Source, connector.Target, error)

// Sync serves the synchronization API.
type Sync struct {
	Engine  *engine.Engine
	Secrets *secrets.Box
	Connect Connect
	// OnDemand limits provisionOnDemand per service principal; nil = no limit.
	OnDemand *throttle.Limiter
	// CheckSettings validates a job's synchronizationJobSettings for its
	// template when they change; nil accepts any.
	CheckSettings func(templateID string, settings map[string]string) error

	srv      *Server
	mu       sync.Mutex
	compiled map[string]compiledJob // job id → compiled schema
}

type compiledJob struct {
	updated time.Time
	c       *schema.Compiled
}

func (y *Sync) routes(mux *http.ServeMux) {
	s := y.srv
	const sp = "/servicePrincipals/{spId}/synchronization"
	s.route(mux, "GET "+sp+"/templates", auth.SyncRead, y.listTemplates)
	s.route(mux, "GET "+sp+"/templates/{templateId}", auth.SyncRead, y.getTemplate)
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema", auth.SyncRead, y.getTemplateSchema)
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema/functions", auth.SyncRead, y.functions)
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema/filterOperators", auth.SyncRead, y.filterOperators)
	s.route(mux, "POST "+sp+"/templates/{templateId}/schema/parseExpression", auth.SyncWrite, y.parseExpression)
	s.route(mux, "GET "+sp+"/jobs", auth.SyncRead, y.listJobs)
	s.route(mux, "POST "+sp+"/jobs", auth.SyncWrite, y.createJob)
	s.route(mux, "POST "+sp+"/jobs/validateCredentials", auth.SyncWrite, y.validateCredentials)
	s.route(mux, "GET "+sp+"/jobs/{jobId}", auth.SyncRead, y.getJob)
	s.route(mux, "PATCH "+sp+"/jobs/{jobId}", auth.SyncWrite, y.patchJob)
	s.route(mux, "DELETE "+sp+"/jobs/{jobId}", auth.SyncWrite, y.deleteJob)
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema", auth.SyncRead, y.getJobSchema)
	s.route(mux, "PUT "+sp+"/jobs/{jobId}/schema", auth.SyncWrite, y.putJobSchema)
	s.route(mux, "DELETE "+sp+"/jobs/{jobId}/schema", auth.SyncWrite, y.resetJobSchema)
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema/functions", auth.SyncRead, y.functions)
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema/filterOperators", auth.SyncRead, y.filterOperators)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/schema/parseExpression", auth.SyncWrite, y.parseExpression)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/validateCredentials", auth.SyncWrite, y.validateCredentials)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/provisionOnDemand", auth.SyncWrite, y.provisionOnDemand)
	s.route(mux, "PUT "+sp+"/secrets", auth.SyncWrite, y.putSecrets)
	s.route(mux, "GET /auditLogs/provisioning", auth.AuditLogRead, y.listProvisioningLogs)
}

// servicePrincipal resolves the {spId} of r.
func (y *Sync) servicePrincipal(r *http.Request) (store.ServicePrincipal, error) {
	return y.srv.lookupServicePrincipal(r.Context(), r.PathValue("spId"))
}

// job resolves {spId} and {jobId} of r.
func (y *Sync) job(r *http.Request) (store.ServicePrincipal, store.Job, error) {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return sp, store.Job{}, err
	}
	id := r.PathValue("jobId")
	j, err := y.srv.store.GetJob(r.Context(), sp.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return sp, j, notFound("The synchronization job '%s' does not exist on service principal '%s'; GET .../synchronization/jobs lists them.", id, sp.ID)
	}
	return sp, j, err
}

// compiledSchema returns the job's schema checked and parsed, cached until
// the job changes.
func (y *Sync) compiledSchema(j store.Job) (*schema.Compiled, error) {
	y.mu.Lock()
	c, ok := y.compiled[j.ID]
	y.mu.Unlock()
	if ok && c.updated.Equal(j.Updated) {
		return c.c, nil
	}
	var sc schema.Schema
	if err := json.Unmarshal(j.Schema, &sc); err != nil {
		return nil, fmt.Errorf("job %s: stored schema: %w", j.ID, err)
	}
	comp, err := schema.Compile(&sc)
	if err != nil {
		return nil, fmt.Errorf("job %s: stored schema: %w", j.ID, err)
	}
	y.mu.Lock()
	if y.compiled == nil {
		y.compiled = map[string]compiledJob{}
	}
	y.compiled[j.ID] = compiledJob{j.Updated, comp}
	y.mu.Unlock()
	return comp, nil
}

// secretsOf returns the decrypted secrets of a service principal.
func (y *Sync) secretsOf(ctx context.Context, spID string) ([]secrets.Pair, error) {
	sealed, err := y.srv.store.GetSecrets(ctx, spID)
	if err != nil {
		return nil, err
	}
	return y.Secrets.OpenPairs(sealed)
}

func flagTrue(pairs []secrets.Pair, key string) bool {
	v, ok := secrets.Lookup(pairs, key)
	return ok && strings.EqualFold(strings.TrimSpace(v.Reveal()), "true")
}

// jobSettings decodes a job's synchronizationJobSettings into a map.
func jobSettings(j store.Job) (map[string]string, error) {
	var kvs []keyValuePair
	if len(j.Settings) > 0 {
		if err := json.Unmarshal(j.Settings, &kvs); err != nil {
			return nil, fmt.Errorf("job %s: stored settings: %w", j.ID, err)
		}
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		if kv.Value != nil {
			m[kv.Name] = *kv.Value
		}
	}
	return m, nil
}

// keyValuePair is Graph's keyValuePair.
type keyValuePair struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

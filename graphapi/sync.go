package graphapi

import (
	"errors"
	"net/http"

	"provisiond/auth"
	"provisiond/graphapi/odata"
	"provisiond/jobs"
	"provisiond/store"
	"provisiond/throttle"
)

// Sync serves the synchronization API over the jobs service.
type Sync struct {
	Jobs *jobs.Service
	// OnDemand limits provisionOnDemand per service principal; nil = no
	// limit.
	OnDemand throttle.Gate

	srv *Server
}

func (y *Sync) routes(mux *http.ServeMux) {
	s := y.srv
	const sp = "/servicePrincipals/{spId}/synchronization"
	s.route(mux, "GET "+sp+"/templates", auth.SyncRead, y.listTemplates)
	s.route(mux, "GET "+sp+"/templates/{templateId}", auth.SyncRead, y.getTemplate)
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema", auth.SyncRead, y.getTemplateSchema)
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema/functions", auth.SyncRead, noOptions(y.functions))
	s.route(mux, "GET "+sp+"/templates/{templateId}/schema/filterOperators", auth.SyncRead, noOptions(y.filterOperators))
	s.route(mux, "POST "+sp+"/templates/{templateId}/schema/parseExpression", auth.SyncWrite, y.parseExpression)
	s.route(mux, "GET "+sp+"/jobs", auth.SyncRead, y.listJobs)
	s.route(mux, "POST "+sp+"/jobs", auth.SyncRead, y.createJob) // createJob authorizes by template
	s.route(mux, "POST "+sp+"/jobs/validateCredentials", auth.SyncWrite, y.validateCredentials)
	s.route(mux, "GET "+sp+"/jobs/{jobId}", auth.SyncRead, y.getJob)
	s.route(mux, "PATCH "+sp+"/jobs/{jobId}", auth.SyncWrite, y.patchJob)
	s.route(mux, "DELETE "+sp+"/jobs/{jobId}", auth.SyncWrite, y.deleteJob)
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema", auth.SyncRead, y.getJobSchema)
	s.route(mux, "PUT "+sp+"/jobs/{jobId}/schema", auth.SyncWrite, y.putJobSchema)
	s.route(mux, "DELETE "+sp+"/jobs/{jobId}/schema", auth.SyncWrite, y.resetJobSchema)
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema/functions", auth.SyncRead, noOptions(y.functions))
	s.route(mux, "GET "+sp+"/jobs/{jobId}/schema/filterOperators", auth.SyncRead, noOptions(y.filterOperators))
	s.route(mux, "POST "+sp+"/jobs/{jobId}/schema/parseExpression", auth.SyncWrite, y.parseExpression)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/schema/directories/{directoryId}/discover", auth.SyncWrite, y.discover)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/validateCredentials", auth.SyncWrite, y.validateCredentials)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/provisionOnDemand", auth.SyncWrite, y.provisionOnDemand)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/start", auth.SyncWrite, y.startJob)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/pause", auth.SyncWrite, y.pauseJob)
	s.route(mux, "POST "+sp+"/jobs/{jobId}/restart", auth.SyncWrite, y.restartJob)
	s.route(mux, "PUT "+sp+"/secrets", auth.SyncWrite, y.putSecrets)
	s.route(mux, "GET "+sp+"/secrets", auth.SyncRead, noOptions(y.listSecrets))
	s.route(mux, "GET /auditLogs/provisioning", auth.AuditLogRead, y.listProvisioningLogs)
}

// noOptions serves h, which takes no query options, after refusing any.
func noOptions(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := odata.CheckNone(r.URL.RawQuery); err != nil {
			return err
		}
		return h(w, r)
	}
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

// jobError turns a jobs service refusal into the Graph error the caller
// sees.
func jobError(err error) error {
	var je *jobs.Error
	if !errors.As(err, &je) {
		return err
	}
	switch {
	case je.NotFound:
		return notFound("%s", je.Message)
	case je.Busy:
		return errorf(http.StatusConflict, "Conflict", "%s", je.Message)
	case je.Connect:
		return badRequest("%s", je.Message)
	}
	return invalidParam("%s", je.Message)
}

// keyValuePair is Graph's keyValuePair.
type keyValuePair struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

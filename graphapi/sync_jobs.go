package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"provisiond/auth"
	"provisiond/jobs"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
)

// spContext is the @odata.context path of a service principal's
// synchronization, e.g. servicePrincipals('id')/synchronization.
func spContext(sp store.ServicePrincipal) string {
	return "servicePrincipals('" + sp.ID + "')/synchronization"
}

// templateFields are a synchronizationTemplate's properties, for $select
// (and, on the collection, $filter, $top and $count on its strings and
// booleans). The schema is a navigation property, read at .../schema.
var templateFields = newFields("microsoft.graph.synchronizationTemplate", map[string]kind{
	"id": kindString, "applicationId": kindString, "default": kindBool, "description": kindString,
	"discoverable": kindBool, "factoryTag": kindString, "metadata": kindObject,
}, false)

// templateItem is a template without its schema, as a map for the query
// options.
func templateItem(t schema.Template) (map[string]any, error) {
	t.Schema = nil // Graph lists and gets templates without their schema
	return asItem(t)
}

func (y *Sync) listTemplates(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, templateFields)
	if err != nil {
		return err
	}
	ts := schema.Templates(sp.AppID)
	items := make([]map[string]any, len(ts))
	for i, t := range ts {
		if items[i], err = templateItem(t); err != nil {
			return err
		}
	}
	return writeCollection(w, r, spContext(sp)+"/templates", q, q.Apply(items))
}

func (y *Sync) template(r *http.Request) (store.ServicePrincipal, schema.Template, error) {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return sp, schema.Template{}, err
	}
	id := r.PathValue("templateId")
	t, ok := schema.TemplateByID(sp.AppID, id)
	if !ok {
		return sp, t, notFound("The synchronization template '%s' does not exist; GET .../synchronization/templates lists them.", id)
	}
	return sp, t, nil
}

func (y *Sync) getTemplate(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, templateFields)
	if err != nil {
		return err
	}
	sp, t, err := y.template(r)
	if err != nil {
		return err
	}
	item, err := templateItem(t)
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, spContext(sp)+"/templates", q, item)
}

func (y *Sync) getTemplateSchema(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, schemaFields)
	if err != nil {
		return err
	}
	sp, t, err := y.template(r)
	if err != nil {
		return err
	}
	t.Schema.ID = t.ID
	return writeSchema(w, r, spContext(sp)+"/templates('"+t.ID+"')/schema", q, t.Schema)
}

// schemaFields are a synchronizationSchema's properties, for $select.
var schemaFields = newFields("microsoft.graph.synchronizationSchema", map[string]kind{
	"id": kindString, "version": kindString, "synchronizationRules": kindObject, "directories": kindObject,
}, false)

// writeSchema writes a schema (v, any JSON object) with its context URL,
// as stored unless q selects some of its properties.
func writeSchema(w http.ResponseWriter, r *http.Request, fragment string, q query, v any) error {
	if q.SelectSuffix() == "" {
		return writeJSON(w, http.StatusOK, withContext(contextURL(r, fragment+"/$entity"), v))
	}
	item, err := asItem(v)
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, fragment, q, item)
}

// withContext merges an @odata.context into v's JSON object.
func withContext(ctx string, v any) json.RawMessage {
	b, _ := json.Marshal(v)
	c, _ := json.Marshal(ctx)
	out := make([]byte, 0, len(b)+len(c)+20)
	out = append(out, `{"@odata.context":`...)
	out = append(out, c...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...)
}

// jobView is the Graph synchronizationJob shape.
type jobView struct {
	ID                         string          `json:"id"`
	TemplateID                 string          `json:"templateId"`
	Schedule                   scheduleView    `json:"schedule"`
	Status                     statusView      `json:"status"`
	SynchronizationJobSettings json.RawMessage `json:"synchronizationJobSettings"`
}

func viewJob(j store.Job) jobView {
	return jobView{ID: j.ID, TemplateID: j.TemplateID, Schedule: viewSchedule(j.Schedule), Status: viewStatus(j.Status),
		SynchronizationJobSettings: j.Settings}
}

// jobFields are a synchronizationJob's properties, for $select (and, on
// the collection, $filter, $top and $count on id and templateId).
var jobFields = newFields("microsoft.graph.synchronizationJob", map[string]kind{
	"id": kindString, "templateId": kindString, "schedule": kindObject, "status": kindObject,
	"synchronizationJobSettings": kindObject,
}, false)

// jobItem is a job as a map, for the query options.
func jobItem(j store.Job) (map[string]any, error) { return asItem(viewJob(j)) }

// asItem is v's JSON object as a map, for the query options; its numbers
// stay as written (json.Number, not float64, which rounds past 2^53).
func asItem(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	return m, dec.Decode(&m)
}

func (y *Sync) listJobs(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, jobFields)
	if err != nil {
		return err
	}
	jobs, err := y.srv.store.ListJobs(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(jobs))
	for i, j := range jobs {
		if items[i], err = jobItem(j); err != nil {
			return err
		}
	}
	return writeCollection(w, r, spContext(sp)+"/jobs", q, q.Apply(items))
}

func (y *Sync) getJob(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, jobFields)
	if err != nil {
		return err
	}
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	item, err := jobItem(j)
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, spContext(sp)+"/jobs", q, item)
}

func (y *Sync) createJob(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	var body struct {
		jobReadOnly
		TemplateID *string         `json:"templateId"`
		Settings   *[]keyValuePair `json:"synchronizationJobSettings"`
		Schedule   *schedulePatch  `json:"schedule"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := body.refuse("POST"); err != nil {
		return err
	}
	if body.TemplateID == nil || *body.TemplateID == "" {
		return badRequest("The property 'templateId' is required; GET .../synchronization/templates lists the templates.")
	}
	interval := disabledSchedule.Interval
	if body.Schedule != nil {
		if interval, err = body.Schedule.check(); err != nil {
			return err
		}
	}
	// The route admits readers; what creating needs depends on the
	// template: a cloud-sync job writes the directory itself.
	op := auth.SyncWrite
	if schema.IsCloudSync(*body.TemplateID) {
		op = auth.SyncWriteCloudSync
	}
	if _, err := y.srv.authorize(r, op); err != nil {
		return err
	}
	t, ok := schema.TemplateByID(sp.AppID, *body.TemplateID)
	if !ok {
		return badRequest("The templateId '%s' is not a template of service principal '%s'; GET .../synchronization/templates lists them.", *body.TemplateID, sp.ID)
	}
	id := t.ID + "." + strings.ReplaceAll(y.srv.newID(), "-", "")
	t.Schema.ID = id
	sch, _ := json.Marshal(t.Schema)
	code := store.StatusNotConfigured
	if pairs, err := y.Jobs.Secrets(r.Context(), sp.ID); err == nil && len(pairs) > 0 {
		code = store.StatusNotRun
	}
	now := y.srv.now().UTC()
	j := store.Job{
		ID: id, ServicePrincipalID: sp.ID, TemplateID: t.ID, Schema: sch,
		Status: newJobStatus(code), Schedule: disabledSchedule,
		Settings: []byte(`[{"name":"QuarantineTooManyDeletesThreshold","value":"500"}]`),
		Created:  now, Updated: now,
	}
	if body.Schedule != nil {
		if err := body.Schedule.apply(&j, interval); err != nil {
			return err
		}
	}
	if body.Settings != nil {
		if err := y.mergeSettings(&j, *body.Settings); err != nil {
			return err
		}
	}
	if err := y.srv.store.CreateJob(r.Context(), j); err != nil {
		return storeErr(err, "id")
	}
	return writeJSON(w, http.StatusCreated, withContext(contextURL(r, spContext(sp)+"/jobs/$entity"), viewJob(j)))
}

// jobReadOnly holds the properties of a synchronizationJob that a client
// cannot set, so that sending one is refused by name rather than dropped.
type jobReadOnly struct {
	ID     json.RawMessage `json:"id"`
	Status json.RawMessage `json:"status"`
}

func (ro jobReadOnly) refuse(method string) error {
	name := ""
	switch {
	case len(ro.ID) > 0:
		name = "id"
	case len(ro.Status) > 0:
		name = "status"
	default:
		return nil
	}
	return badRequest("The property '%s' of a synchronizationJob is read-only and cannot be sent with %s; a job's status changes by start, pause and restart.", name, method)
}

// patchJob updates a job's synchronizationJobSettings: each name sent
// replaces that setting, a null value removes it, others stay. Settings
// select connector behaviour such as the SCIM target profile; a value the
// connector cannot use is refused with 400. It also sets schedule.interval
// (see schedulePatch).
func (y *Sync) patchJob(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	var body struct {
		jobReadOnly
		TemplateID json.RawMessage `json:"templateId"`
		Settings   *[]keyValuePair `json:"synchronizationJobSettings"`
		Schedule   *schedulePatch  `json:"schedule"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := body.refuse("PATCH"); err != nil {
		return err
	}
	if len(body.TemplateID) > 0 {
		return badRequest("The property 'templateId' of a job cannot be changed; create a job from the other template (POST .../synchronization/jobs) and delete this one.")
	}
	if body.Settings == nil && body.Schedule == nil {
		return badRequest("Only synchronizationJobSettings and schedule.interval can be changed: {\"synchronizationJobSettings\":[{\"name\":\"...\",\"value\":\"...\"}]} or {\"schedule\":{\"interval\":\"PT40M\"}}.")
	}
	var interval string
	if body.Schedule != nil {
		if interval, err = body.Schedule.check(); err != nil {
			return err
		}
	}
	// Merge into the settings as stored now, in one update, so that
	// concurrent PATCHes of other settings are not lost.
	updated, err := y.srv.store.UpdateJob(r.Context(), sp.ID, j.ID, func(j *store.Job) error {
		j.Updated = y.srv.now().UTC()
		if body.Schedule != nil {
			if err := body.Schedule.apply(j, interval); err != nil {
				return err
			}
		}
		if body.Settings == nil {
			return nil
		}
		return y.mergeSettings(j, *body.Settings)
	})
	if err != nil {
		return storeErr(err, j.ID)
	}
	return writeJSON(w, http.StatusOK, withContext(contextURL(r, spContext(sp)+"/jobs/$entity"), viewJob(updated)))
}

// mergeSettings applies changes to j's synchronizationJobSettings: each
// name sent replaces that setting, a null value removes it, others stay;
// the result must be settings the job's connectors can use.
func (y *Sync) mergeSettings(j *store.Job, changes []keyValuePair) error {
	for i, kv := range changes {
		if kv.Name == "" {
			return badRequest("synchronizationJobSettings[%d].name is required.", i)
		}
		if j := slices.IndexFunc(changes[:i], func(o keyValuePair) bool { return o.Name == kv.Name }); j >= 0 {
			return badRequest("synchronizationJobSettings[%d].name '%s' is also synchronizationJobSettings[%d].name; send each setting once.", i, kv.Name, j)
		}
	}
	var kvs []keyValuePair
	_ = json.Unmarshal(j.Settings, &kvs)
	for _, kv := range changes {
		idx := slices.IndexFunc(kvs, func(o keyValuePair) bool { return o.Name == kv.Name })
		switch {
		case kv.Value == nil && idx >= 0:
			kvs = append(kvs[:idx], kvs[idx+1:]...)
		case kv.Value == nil:
		case idx >= 0:
			kvs[idx].Value = kv.Value
		default:
			kvs = append(kvs, kv)
		}
	}
	if kvs == nil {
		kvs = []keyValuePair{}
	}
	j.Settings, _ = json.Marshal(kvs)
	settings, err := jobs.Settings(*j)
	if err != nil {
		return err
	}
	if err := y.Jobs.CheckSettings(*j, settings); err != nil {
		return badRequest("The job settings are invalid: %s.", strings.TrimSuffix(err.Error(), "."))
	}
	return nil
}

func (y *Sync) deleteJob(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	if err := y.Jobs.Delete(r.Context(), sp.ID, j.ID); err != nil { // stops its cycles first
		return storeErr(err, j.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (y *Sync) getJobSchema(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, schemaFields)
	if err != nil {
		return err
	}
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	return writeSchema(w, r, spContext(sp)+"/jobs('"+j.ID+"')/schema", q, json.RawMessage(j.Schema))
}

func (y *Sync) putJobSchema(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	var sc schema.Schema
	if err := decodeJSON(w, r, &sc); err != nil {
		return err
	}
	if len(sc.SynchronizationRules) == 0 {
		return badRequest("The schema has no synchronizationRules; send the whole schema (GET it first, change it, PUT it back).")
	}
	if sc.Directories != nil && len(sc.Directories) == 0 {
		return badRequest("The schema's directories are empty; send them as GET returns them, or leave the property out to keep them.")
	}
	for i, d := range sc.Directories {
		if d.Name == "" {
			return badRequest("The schema's directories[%d] has no name (is it null?); send the directories as GET returns them.", i)
		}
	}
	// Checked with the directories it will have: a PUT without them keeps
	// the stored ones. What it reads and writes first, then what it maps.
	checked := sc
	keepDirectories(&checked, j.Schema)
	compiled, err := schema.Compile(&checked)
	if err != nil {
		return invalidSchema(err)
	}
	if err := y.Jobs.CheckDirectories(j, &sc); err != nil {
		var je *jobs.Error
		if errors.As(err, &je) {
			return badRequest("%s", je.Message)
		}
		return err
	}
	if err := schema.CheckTargets(compiled); err != nil {
		return invalidSchema(err)
	}
	sc.ID = j.ID
	sc.Version = fmt.Sprintf("Date:%s", y.srv.now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	_, err = y.srv.store.UpdateJob(r.Context(), sp.ID, j.ID, func(j *store.Job) error {
		keepDirectories(&sc, j.Schema) // as stored now
		raw, _ := json.Marshal(&sc)
		jobs.NewSchema(j, raw)
		j.Updated = y.srv.now().UTC()
		return nil
	})
	if err != nil {
		return storeErr(err, j.ID)
	}
	if err := y.Jobs.SchemaChanged(r.Context(), sp.ID, j.ID); err != nil {
		return jobError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keepDirectories gives a PUT schema sent without directories those of
// the stored schema.
func keepDirectories(sc *schema.Schema, stored json.RawMessage) {
	if sc.Directories == nil {
		var old schema.Schema
		if json.Unmarshal(stored, &old) == nil {
			sc.Directories = old.Directories
		}
	}
}

// invalidSchema is the 400 for a schema Compile or CheckTargets refused.
func invalidSchema(err error) error {
	var ce *schema.CompileError
	if errors.As(err, &ce) {
		return badRequest("The schema is invalid: %v.", ce)
	}
	return badRequest("The schema is invalid: %v.", err)
}

// discover reads the source directory's own schema into the job's
// directory definition and answers the definition.
func (y *Sync) discover(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	dir, err := y.Jobs.Discover(r.Context(), sp, j, r.PathValue("directoryId"))
	if err != nil {
		return jobError(err)
	}
	return writeJSON(w, http.StatusOK, withContext(contextURL(r, "microsoft.graph.directoryDefinition"), dir))
}

func (y *Sync) resetJobSchema(w http.ResponseWriter, r *http.Request) error {
	sp, j, err := y.job(r)
	if err != nil {
		return err
	}
	t, ok := schema.TemplateByID(sp.AppID, j.TemplateID)
	if !ok {
		return notFound("The job's template '%s' no longer exists.", j.TemplateID)
	}
	t.Schema.ID = j.ID
	sch, _ := json.Marshal(t.Schema)
	_, err = y.srv.store.UpdateJob(r.Context(), sp.ID, j.ID, func(j *store.Job) error {
		jobs.NewSchema(j, sch)
		j.Updated = y.srv.now().UTC()
		return nil
	})
	if err != nil {
		return storeErr(err, j.ID)
	}
	if err := y.Jobs.SchemaChanged(r.Context(), sp.ID, j.ID); err != nil {
		return jobError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// knownSecretKeys are the synchronizationSecret enum members, then
// provisiond's own: an LDAP source's CA certificate and TLS mode.
var knownSecretKeys = strings.Fields(`LdapCACertificate LdapTls None UserName Password SecretToken AppKey BaseAddress ClientIdentifier
ClientSecret SingleSignOnType Sandbox Url Domain ConsumerKey ConsumerSecret TokenKey TokenExpiration
Oauth2AccessToken Oauth2AccessTokenCreationTime Oauth2RefreshToken SyncAll InstanceName Oauth2ClientId
Oauth2ClientSecret CompanyId UpdateKeyOnSoftDelete SynchronizationSchedule SystemOfRecord SandboxName
EnforceDomain SyncNotificationSettings SkipOutOfScopeDeletions Oauth2AuthorizationCode Oauth2RedirectUri
ApplicationTemplateIdentifier Oauth2TokenExchangeUri Oauth2AuthorizationUri AuthenticationType Server
PerformInboundEntitlementGrants HardDeletesEnabled SyncAgentCompatibilityKey SyncAgentADContainer
ValidateDomain TestReferences ConnectionString`)

// decodeCredentials validates a list of secret pairs.
func decodeCredentials(pairs []secrets.Pair, field string) error {
	for i, p := range pairs {
		v := strings.TrimSpace(p.Value.Reveal())
		// Two values for one key: which one counts would be a guess.
		earlier := slices.IndexFunc(pairs[:i], func(q secrets.Pair) bool { return q.Key == p.Key })
		switch {
		case !slices.Contains(knownSecretKeys, p.Key):
			return badRequest("%s[%d].key '%s' is not a synchronizationSecret; use one of BaseAddress, SecretToken, SyncAll, SkipOutOfScopeDeletions, ...", field, i, p.Key)
		case earlier >= 0:
			return badRequest("%s[%d].key '%s' is also %s[%d].key; send each key once.", field, i, p.Key, field, earlier)
		case slices.Contains(flagSecretKeys, p.Key) && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false"):
			return badRequest("%s[%d].value of %s must be 'True' or 'False'.", field, i, p.Key)
		case v == "":
			return badRequest("%s[%d].value of %s is empty or null; give it a value, or leave the key out (the set sent replaces the saved one).", field, i, p.Key)
		}
		if hint := endpointURLProblem(v); p.Key == "BaseAddress" && hint != "" {
			return badRequest("%s[%d].value of BaseAddress %s.", field, i, hint)
		}
	}
	return nil
}

// endpointURLProblem says what keeps s from being a SCIM endpoint's URL,
// or "". The SCIM client would drop a query, a fragment or a user name
// without a word.
func endpointURLProblem(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "must be the SCIM endpoint's absolute http or https URL, such as https://scim.example.com/scim/v2"
	case u.User != nil:
		return "must not hold a user name or password; send the token as SecretToken"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query string (Entra's ?aadOptscim062020 flag is the job setting ScimPatchDialect)"
	case u.Fragment != "":
		return "must not have a fragment (#...)"
	}
	return ""
}

// flagSecretKeys are the secrets provisiond reads as booleans: any other
// value would silently mean false.
var flagSecretKeys = []string{"SyncAll", "SkipOutOfScopeDeletions"}

func (y *Sync) putSecrets(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	var body struct {
		Value *[]secrets.Pair `json:"value"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Value == nil {
		return badRequest(`The property 'value' is required: {"value":[{"key":"BaseAddress","value":"..."},{"key":"SecretToken","value":"..."}]}.`)
	}
	if err := decodeCredentials(*body.Value, "value"); err != nil {
		return err
	}
	sealed, err := y.Jobs.SealSecrets(*body.Value)
	if err != nil {
		return err
	}
	if err := y.srv.store.PutSecrets(r.Context(), sp.ID, sealed); err != nil {
		return storeErr(err, sp.ID)
	}
	// Jobs waiting for credentials are now configured.
	jobs, err := y.srv.store.ListJobs(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Status.Code != store.StatusNotConfigured || len(*body.Value) == 0 {
			continue
		}
		_, err := y.srv.store.UpdateJob(r.Context(), sp.ID, j.ID, func(j *store.Job) error {
			if j.Status.Code == store.StatusNotConfigured {
				j.Status.Code = store.StatusNotRun
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) { // a job deleted meanwhile needs nothing
			return err
		}
	}
	// Jobs quarantined by their target try the new credentials at once;
	// if that cannot be arranged, their next scheduled attempt will.
	if err := y.Jobs.CredentialsChanged(r.Context(), sp.ID); err != nil {
		y.srv.log.WarnContext(r.Context(), "new credentials: retrying quarantined jobs now failed", "servicePrincipal", sp.ID, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (y *Sync) validateCredentials(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	var sc *schema.Schema
	var settings map[string]string
	if r.PathValue("jobId") != "" {
		_, j, err := y.job(r)
		if err != nil {
			return err
		}
		comp, err := y.Jobs.Compiled(j)
		if err != nil {
			return err
		}
		sc = comp.Schema
		if settings, err = jobs.Settings(j); err != nil {
			return err
		}
	}
	var body struct {
		ApplicationIdentifier string         `json:"applicationIdentifier"`
		TemplateID            string         `json:"templateId"`
		UseSavedCredentials   bool           `json:"useSavedCredentials"`
		Credentials           []secrets.Pair `json:"credentials"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.TemplateID != "" || sc == nil {
		id := body.TemplateID
		if id == "" {
			id = "scim"
		}
		t, ok := schema.TemplateByID(sp.AppID, id)
		if !ok {
			return badRequest("The templateId '%s' is not a template of service principal '%s'.", id, sp.ID)
		}
		sc = t.Schema
	}
	creds := body.Credentials
	if body.UseSavedCredentials {
		if creds, err = y.Jobs.Secrets(r.Context(), sp.ID); err != nil {
			return err
		}
	} else if err := decodeCredentials(creds, "credentials"); err != nil {
		return err
	}
	target, err := y.Jobs.ValidateCredentials(r.Context(), sp, sc, creds, settings)
	if target == nil && err != nil {
		return jobError(err)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
			"Test connection to %s failed: %v", target.Name(), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listSecrets serves GET .../synchronization/secrets: which keys are set,
// each with a null value. Secrets are write-only; this tells a form which
// ones to leave alone or replace.
func (y *Sync) listSecrets(w http.ResponseWriter, r *http.Request) error {
	sp, err := y.servicePrincipal(r)
	if err != nil {
		return err
	}
	pairs, err := y.Jobs.Secrets(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(pairs))
	for i, p := range pairs {
		out[i] = map[string]any{"key": p.Key, "value": nil}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"@odata.context": contextURL(r, spContext(sp)+"/secrets"), "value": out})
}

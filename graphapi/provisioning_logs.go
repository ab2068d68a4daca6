package graphapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"provisiond/engine"
	"provisiond/graphapi/odata"
	"provisiond/store"
)

// This file serves GET /auditLogs/provisioning: the stored engine events
// as Graph v1.0 provisioningObjectSummary records, with $filter pushed into
// the store as a store.LogCond.

// logFilters maps what $filter may name to the store's log fields.
var logFilters = map[string]store.LogField{
	"activityDateTime":              store.LogActivity,
	"jobId":                         store.LogJobID,
	"cycleId":                       store.LogCycleID,
	"changeId":                      store.LogChangeID,
	"provisioningAction":            store.LogAction,
	"provisioningStatusInfo/status": store.LogStatus,
	"servicePrincipal/id":           store.LogServicePrincipalID,
	"sourceIdentity/id":             store.LogSourceID,
	"sourceIdentity/displayName":    store.LogSourceName,
	"targetIdentity/id":             store.LogTargetID,
}

// logEnums are the members of the enumerations $filter may compare:
// provisioningAction and provisioningResult.
var logEnums = map[string][]string{
	"provisioningAction":            {"other", "create", "delete", "disable", "update", "stagedDelete", "unknownFutureValue"},
	"provisioningStatusInfo/status": {"success", "warning", "failure", "skipped", "unknownFutureValue"},
}

const logType = "microsoft.graph.provisioningObjectSummary"

// logFields are the properties of a provisioningObjectSummary.
var logFields = newFields(logType, map[string]kind{
	"id": kindString, "activityDateTime": kindString, "changeId": kindString, "cycleId": kindString,
	"durationInMilliseconds": kindObject, "initiatedBy": kindObject, "jobId": kindString,
	"modifiedProperties": kindObject, "provisioningAction": kindString, "provisioningStatusInfo": kindObject,
	"provisioningSteps": kindObject, "servicePrincipal": kindObject, "sourceIdentity": kindObject,
	"sourceSystem": kindObject, "targetIdentity": kindObject, "targetSystem": kindObject, "tenantId": kindString,
}, false).WithFilter(logFilterFields()).WithOrderBy("activityDateTime")

func logFilterFields() fields {
	kinds := map[string]kind{}
	for name, f := range logFilters {
		kinds[name] = kindString
		if f == store.LogActivity {
			kinds[name] = odata.KindDateTime
		}
	}
	return newFields(logType, kinds, false)
}

// logCond translates a parsed $filter into the store's condition. The
// parser has checked the names and the value types already.
func logCond(e odata.Expr) (store.LogCond, error) {
	switch e.Op {
	case "and", "or":
		c := store.LogCond{Op: store.LogAnd, Args: make([]store.LogCond, len(e.Args))}
		if e.Op == "or" {
			c.Op = store.LogOr
		}
		for i, a := range e.Args {
			var err error
			if c.Args[i], err = logCond(a); err != nil {
				return store.LogCond{}, err
			}
		}
		return c, nil
	}
	f, ok := logFilters[e.Prop]
	if !ok {
		return store.LogCond{}, fmt.Errorf("$filter property %q has no log field", e.Prop)
	}
	c := store.LogCond{Op: store.LogOp(e.Op), Field: f}
	if members, enum := logEnums[e.Prop]; enum {
		v, _ := e.Val.(string)
		switch {
		case e.Op != "eq" && e.Op != "ne":
			return c, badRequest("Invalid $filter: %s is an enumeration: compare it with eq or ne (one of %s).", e.Prop, strings.Join(members, ", "))
		case e.Val == nil:
			return c, badRequest("Invalid $filter: %s is never null; compare it with one of %s.", e.Prop, strings.Join(members, ", "))
		case !slices.ContainsFunc(members, func(m string) bool { return strings.EqualFold(m, v) }):
			return c, badRequest("Invalid $filter: '%s' is not a member of %s; use one of %s.", v, e.Prop, strings.Join(members, ", "))
		}
	}
	switch v := e.Val.(type) {
	case time.Time:
		c.Time = v
	case string:
		c.Value = v
	case nil: // a missing string is stored as ""
	default:
		return store.LogCond{}, fmt.Errorf("$filter value %v of %s is not a string or a time", v, e.Prop)
	}
	return c, nil
}

// logQuery builds the store query of a parsed request.
func logQuery(q query) (store.LogQuery, error) {
	lq := store.LogQuery{Asc: q.OrderBy != "" && !q.Desc, Limit: q.Size(), After: q.After, Count: q.Count}
	if q.Where != nil {
		c, err := logCond(*q.Where)
		if err != nil {
			return lq, err
		}
		lq.Where = &c
	}
	return lq, nil
}

// listProvisioningLogs serves GET /auditLogs/provisioning: newest first
// (or $orderby=activityDateTime asc), with $filter, $select, $top, $count
// and paging.
func (y *Sync) listProvisioningLogs(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, logFields)
	if err != nil {
		return err
	}
	lq, err := logQuery(q)
	if err != nil {
		return err
	}
	p, err := y.srv.store.QueryProvisioningLogs(r.Context(), lq)
	if err != nil {
		return err
	}
	names := map[string]*string{} // service principal display names, read once per page
	tenant := principal(r).TenantID
	items := make([]map[string]any, len(p.Logs))
	for i, l := range p.Logs {
		name, ok := names[l.ServicePrincipalID]
		if !ok {
			if sp, err := y.srv.store.GetServicePrincipal(r.Context(), l.ServicePrincipalID); err == nil {
				name = &sp.DisplayName
			}
			names[l.ServicePrincipalID] = name
		}
		items[i] = q.Project(logSummary(l, name, tenant))
	}
	pg := page{Items: items, Count: p.Count}
	if len(p.Logs) == q.Size() {
		pg.Next = odata.EncodeSkipToken(p.Logs[len(p.Logs)-1].ID)
	}
	return writeCollection(w, r, "auditLogs/provisioning", q, pg)
}

// storedEvent is the part of the engine's stored event JSON the v1.0
// shape is made of.
type storedEvent struct {
	Action             string            `json:"action"`
	ChangeID           string            `json:"changeId"`
	CycleID            string            `json:"cycleId"`
	StartTime          time.Time         `json:"startTime"`
	EndTime            time.Time         `json:"endTime"`
	ModifiedProperties []json.RawMessage `json:"modifiedProperties"`
	ProvisioningSteps  []struct {
		Name        string          `json:"name"`
		Type        string          `json:"type"`
		Status      string          `json:"status"`
		Description string          `json:"description"`
		Details     json.RawMessage `json:"details"`
	} `json:"provisioningSteps"`
	StatusInfo struct {
		Status            string  `json:"status"`
		ErrorCode         *string `json:"errorCode"`
		Reason            *string `json:"reason"`
		AdditionalDetails *string `json:"additionalDetails"`
		ErrorCategory     *string `json:"errorCategory"`
		RecommendedAction *string `json:"recommendedAction"`
	} `json:"statusInfo"`
	SourceIdentity engine.Identity `json:"sourceIdentity"`
	SourceSystem   engine.System   `json:"sourceSystem"`
	TargetIdentity engine.Identity `json:"targetIdentity"`
	TargetSystem   engine.System   `json:"targetSystem"`
	// InitiatedBy is the on-demand caller; absent for the service's own
	// work (cycles) and for logs written before it was kept.
	InitiatedBy *struct {
		ID            string `json:"id"`
		DisplayName   string `json:"displayName"`
		InitiatorType string `json:"initiatorType"`
	} `json:"initiatedBy"`
}

// logSummary renders a stored log as a provisioningObjectSummary. Enum
// values are Graph's camelCase (Create → create); a log whose event JSON
// cannot be read still shows its stored fields.
func logSummary(l store.ProvisioningLog, spName *string, tenant string) map[string]any {
	var ev storedEvent
	_ = json.Unmarshal(l.Data, &ev) // the columns below stand in for a damaged event
	if ev.StartTime.IsZero() {
		ev.StartTime = l.Activity
	}
	var errInfo any
	if si := ev.StatusInfo; si.ErrorCode != nil || si.Reason != nil {
		errInfo = map[string]any{
			"errorCode": si.ErrorCode, "reason": si.Reason, "additionalDetails": si.AdditionalDetails,
			"errorCategory": lowerFirstPtr(si.ErrorCategory), "recommendedAction": si.RecommendedAction,
		}
	}
	steps := make([]map[string]any, len(ev.ProvisioningSteps))
	for i, s := range ev.ProvisioningSteps {
		steps[i] = map[string]any{
			"name": s.Name, "provisioningStepType": lowerFirst(s.Type), "status": lowerFirst(s.Status),
			"description": s.Description, "details": objectOrNull(s.Details),
		}
	}
	mods := ev.ModifiedProperties
	if mods == nil {
		mods = []json.RawMessage{}
	}
	var duration any
	if !ev.EndTime.IsZero() {
		duration = max(ev.EndTime.Sub(ev.StartTime).Milliseconds(), 0)
	}
	// The service itself runs cycles; an on-demand request is its caller's.
	initiatedBy := map[string]any{"id": "", "displayName": "provisiond", "initiatorType": "system"}
	if in := ev.InitiatedBy; in != nil {
		initiatedBy = map[string]any{"id": in.ID, "displayName": in.DisplayName, "initiatorType": in.InitiatorType}
	}
	return map[string]any{
		"id":                     l.ID,
		"activityDateTime":       ev.StartTime.UTC().Format(time.RFC3339Nano),
		"changeId":               l.ChangeID,
		"cycleId":                stringOrNull(l.CycleID),
		"durationInMilliseconds": duration,
		"initiatedBy":            initiatedBy,
		"jobId":                  l.JobID,
		"modifiedProperties":     mods,
		"provisioningAction":     lowerFirst(l.Action),
		"provisioningStatusInfo": map[string]any{"status": lowerFirst(l.Status), "errorInformation": errInfo},
		"provisioningSteps":      steps,
		"servicePrincipal":       map[string]any{"id": l.ServicePrincipalID, "displayName": spName},
		"sourceIdentity":         identityJSON(ev.SourceIdentity, l.SourceID),
		"sourceSystem":           systemJSON(ev.SourceSystem),
		"targetIdentity":         identityJSON(ev.TargetIdentity, l.TargetID),
		"targetSystem":           systemJSON(ev.TargetSystem),
		"tenantId":               tenant,
	}
}

func identityJSON(id engine.Identity, storedID string) map[string]any {
	if id.ID == "" {
		id.ID = storedID
	}
	return map[string]any{"id": id.ID, "displayName": id.DisplayName, "identityType": id.Type, "details": objectOrNull(id.Details)}
}

func systemJSON(s engine.System) map[string]any {
	return map[string]any{"id": s.ID, "displayName": s.Name, "details": objectOrNull(s.Details)}
}

// objectOrNull keeps a JSON object as it is and turns anything else into
// null: Graph's details are detailsInfo objects.
func objectOrNull(raw json.RawMessage) any {
	if len(raw) > 0 && raw[0] == '{' {
		return raw
	}
	return nil
}

func stringOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lowerFirst turns the engine's PascalCase values into Graph's camelCase
// enum members (StagedDelete → stagedDelete).
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

func lowerFirstPtr(s *string) any {
	if s == nil {
		return nil
	}
	return lowerFirst(*s)
}

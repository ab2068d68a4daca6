package graphapi

import (
	"time"

	"provisiond/store"
)

// This file maps a job's typed schedule and status records to Graph's
// synchronizationSchedule and synchronizationStatus. Graph's non-null
// DateTimeOffsets show "never" as 0001-01-01T00:00:00Z, its lists are []
// rather than null, and an empty troubleshootingUrl is null.

type scheduleView struct {
	Expiration *time.Time          `json:"expiration"`
	Interval   string              `json:"interval"`
	State      store.ScheduleState `json:"state"`
}

func viewSchedule(s store.Schedule) scheduleView {
	v := scheduleView{Interval: s.Interval, State: s.State}
	if s.Expiration != nil {
		e := s.Expiration.UTC()
		v.Expiration = &e
	}
	return v
}

type statusView struct {
	Code                               store.StatusCode `json:"code"`
	CountSuccessiveCompleteFailures    int64            `json:"countSuccessiveCompleteFailures"`
	EscrowsPruned                      bool             `json:"escrowsPruned"`
	LastExecution                      *executionView   `json:"lastExecution"`
	LastSuccessfulExecution            *executionView   `json:"lastSuccessfulExecution"`
	LastSuccessfulExecutionWithExports *executionView   `json:"lastSuccessfulExecutionWithExports"`
	Progress                           []progressView   `json:"progress"`
	Quarantine                         *quarantineView  `json:"quarantine"`
	SteadyStateFirstAchievedTime       time.Time        `json:"steadyStateFirstAchievedTime"`
	SteadyStateLastAchievedTime        time.Time        `json:"steadyStateLastAchievedTime"`
	SynchronizedEntryCountByType       []countView      `json:"synchronizedEntryCountByType"`
	TroubleshootingURL                 *string          `json:"troubleshootingUrl"`
}

type executionView struct {
	ActivityIdentifier           string               `json:"activityIdentifier"`
	CountEntitled                int64                `json:"countEntitled"`
	CountEntitledForProvisioning int64                `json:"countEntitledForProvisioning"`
	CountEscrowed                int64                `json:"countEscrowed"`
	CountEscrowedRaw             int64                `json:"countEscrowedRaw"`
	CountExported                int64                `json:"countExported"`
	CountExports                 int64                `json:"countExports"`
	CountImported                int64                `json:"countImported"`
	CountImportedDeltas          int64                `json:"countImportedDeltas"`
	CountImportedReferenceDeltas int64                `json:"countImportedReferenceDeltas"`
	Error                        *errorView           `json:"error"`
	State                        store.ExecutionState `json:"state"`
	TimeBegan                    time.Time            `json:"timeBegan"`
	TimeEnded                    time.Time            `json:"timeEnded"`
}

type progressView struct {
	CompletedUnits              int64     `json:"completedUnits"`
	ProgressObservationDateTime time.Time `json:"progressObservationDateTime"`
	TotalUnits                  int64     `json:"totalUnits"`
	Units                       string    `json:"units"`
}

type quarantineView struct {
	CurrentBegan time.Time  `json:"currentBegan"`
	Error        *errorView `json:"error"`
	NextAttempt  time.Time  `json:"nextAttempt"`
	Reason       string     `json:"reason"`
	SeriesBegan  time.Time  `json:"seriesBegan"`
	SeriesCount  int64      `json:"seriesCount"`
}

type errorView struct {
	Code             string `json:"code"`
	Message          string `json:"message"`
	TenantActionable bool   `json:"tenantActionable"`
}

func viewError(e *store.SyncError) *errorView {
	if e == nil {
		return nil
	}
	return &errorView{Code: e.Code, Message: e.Message, TenantActionable: e.TenantActionable}
}

type countView struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

func viewStatus(s store.Status) statusView {
	v := statusView{
		Code:                               s.Code,
		CountSuccessiveCompleteFailures:    s.CountSuccessiveCompleteFailures,
		EscrowsPruned:                      s.EscrowsPruned,
		LastExecution:                      viewExecution(s.LastExecution),
		LastSuccessfulExecution:            viewExecution(s.LastSuccessfulExecution),
		LastSuccessfulExecutionWithExports: viewExecution(s.LastSuccessfulExecutionWithExports),
		Progress:                           []progressView{},
		SteadyStateFirstAchievedTime:       s.SteadyStateFirstAchieved.UTC(),
		SteadyStateLastAchievedTime:        s.SteadyStateLastAchieved.UTC(),
		SynchronizedEntryCountByType:       []countView{},
	}
	for _, p := range s.Progress {
		v.Progress = append(v.Progress, progressView{
			CompletedUnits: p.CompletedUnits, ProgressObservationDateTime: p.Observed.UTC(), TotalUnits: p.TotalUnits, Units: p.Units,
		})
	}
	if q := s.Quarantine; q != nil {
		v.Quarantine = &quarantineView{
			CurrentBegan: q.CurrentBegan.UTC(), Error: viewError(q.Error), NextAttempt: q.NextAttempt.UTC(),
			Reason: q.Reason, SeriesBegan: q.SeriesBegan.UTC(), SeriesCount: q.SeriesCount,
		}
	}
	for _, c := range s.SynchronizedEntryCountByType {
		v.SynchronizedEntryCountByType = append(v.SynchronizedEntryCountByType, countView{Key: c.Key, Value: c.Value})
	}
	if s.TroubleshootingURL != "" {
		u := s.TroubleshootingURL
		v.TroubleshootingURL = &u
	}
	return v
}

func viewExecution(e *store.Execution) *executionView {
	if e == nil {
		return nil
	}
	return &executionView{
		ActivityIdentifier: e.ActivityIdentifier, CountEntitled: e.CountEntitled,
		CountEntitledForProvisioning: e.CountEntitledForProvisioning, CountEscrowed: e.CountEscrowed,
		CountEscrowedRaw: e.CountEscrowedRaw, CountExported: e.CountExported, CountExports: e.CountExports,
		CountImported: e.CountImported, CountImportedDeltas: e.CountImportedDeltas,
		CountImportedReferenceDeltas: e.CountImportedReferenceDeltas, Error: viewError(e.Error), State: e.State,
		TimeBegan: e.TimeBegan.UTC(), TimeEnded: e.TimeEnded.UTC(),
	}
}

// newJobStatus is the status of a job that never ran.
func newJobStatus(code store.StatusCode) store.Status { return store.Status{Code: code} }

// disabledSchedule is a new job's schedule: .NET TimeSpan.MaxValue, Disabled.
var disabledSchedule = store.Schedule{Interval: "P10675199DT2H48M5.4775807S", State: store.ScheduleDisabled}

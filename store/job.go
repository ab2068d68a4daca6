package store

import "time"

// Job is a synchronization job. Schema and Settings are stored as the JSON
// the schema package and the API produce; Status and Schedule are typed
// records.
type Job struct {
	ID                 string
	ServicePrincipalID string
	TemplateID         string
	Schema             []byte // JSON synchronizationSchema
	Status             Status
	Schedule           Schedule
	Settings           []byte // JSON array of keyValuePair
	// Watermark is how far the job's cycles have read its source's change
	// feed: the source's own opaque string (connector.ChangeFeed); empty
	// before the first cycle.
	Watermark string
	Created   time.Time
	Updated   time.Time
}

// ScheduleState says whether a job's cycles run on its schedule.
type ScheduleState string

// The synchronizationScheduleState members.
const (
	ScheduleActive   ScheduleState = "Active"
	ScheduleDisabled ScheduleState = "Disabled"
	SchedulePaused   ScheduleState = "Paused"
)

// Schedule is when a job's cycles run (Graph's synchronizationSchedule).
type Schedule struct {
	// Interval is the time between cycles as an ISO 8601 duration, e.g.
	// "PT40M". A string, not a time.Duration: a disabled job's interval is
	// .NET's TimeSpan.MaxValue, which no time.Duration can hold.
	Interval string
	State    ScheduleState
	// Expiration is when the schedule stops; nil for never.
	Expiration *time.Time
}

// StatusCode is a job's state (Graph's synchronizationStatusCode).
type StatusCode string

// The synchronizationStatusCode members.
const (
	StatusNotConfigured StatusCode = "NotConfigured" // no credentials yet
	StatusNotRun        StatusCode = "NotRun"        // configured; the first cycle has not completed
	StatusActive        StatusCode = "Active"        // running on its schedule
	StatusPaused        StatusCode = "Paused"        // stopped, state kept
	StatusQuarantine    StatusCode = "Quarantine"    // failing; retried less often
)

// ExecutionState is how a cycle ended (Graph's
// synchronizationTaskExecutionResult).
type ExecutionState string

// The synchronizationTaskExecutionResult members.
const (
	ExecutionSucceeded        ExecutionState = "Succeeded"
	ExecutionFailed           ExecutionState = "Failed"
	ExecutionEntryLevelErrors ExecutionState = "EntryLevelErrors"
)

// Status is a job's synchronizationStatus. Zero times mean "never".
//
// The json tags name the fields where a backend keeps the record as JSON:
// they are a stored format (Graph's property names), so change them only
// with a migration.
type Status struct {
	Code                               StatusCode   `json:"code"`
	CountSuccessiveCompleteFailures    int64        `json:"countSuccessiveCompleteFailures"`
	EscrowsPruned                      bool         `json:"escrowsPruned"`
	LastExecution                      *Execution   `json:"lastExecution"`
	LastSuccessfulExecution            *Execution   `json:"lastSuccessfulExecution"`
	LastSuccessfulExecutionWithExports *Execution   `json:"lastSuccessfulExecutionWithExports"`
	Progress                           []Progress   `json:"progress"`
	Quarantine                         *Quarantine  `json:"quarantine"` // nil unless quarantined
	SteadyStateFirstAchieved           time.Time    `json:"steadyStateFirstAchievedTime"`
	SteadyStateLastAchieved            time.Time    `json:"steadyStateLastAchievedTime"`
	SynchronizedEntryCountByType       []EntryCount `json:"synchronizedEntryCountByType"` // e.g. "user to User": 12
	TroubleshootingURL                 string       `json:"troubleshootingUrl"`
}

// Execution is one cycle's record (Graph's synchronizationTaskExecution).
type Execution struct {
	ActivityIdentifier           string         `json:"activityIdentifier"`
	CountEntitled                int64          `json:"countEntitled"`
	CountEntitledForProvisioning int64          `json:"countEntitledForProvisioning"`
	CountEscrowed                int64          `json:"countEscrowed"`
	CountEscrowedRaw             int64          `json:"countEscrowedRaw"`
	CountExported                int64          `json:"countExported"`
	CountExports                 int64          `json:"countExports"`
	CountImported                int64          `json:"countImported"`
	CountImportedDeltas          int64          `json:"countImportedDeltas"`
	CountImportedReferenceDeltas int64          `json:"countImportedReferenceDeltas"`
	Error                        *SyncError     `json:"error"`
	State                        ExecutionState `json:"state"`
	TimeBegan                    time.Time      `json:"timeBegan"`
	TimeEnded                    time.Time      `json:"timeEnded"`
}

// Progress is how far a running cycle has got.
type Progress struct {
	CompletedUnits int64     `json:"completedUnits"`
	TotalUnits     int64     `json:"totalUnits"`
	Units          string    `json:"units"`
	Observed       time.Time `json:"progressObservationDateTime"`
}

// Quarantine says why and since when a job is quarantined. A series starts
// when quarantine is first imposed and ends when it is lifted.
type Quarantine struct {
	// Reason is a quarantineReason member, e.g. "EncounteredQuarantineException".
	Reason       string     `json:"reason"`
	Error        *SyncError `json:"error"`
	CurrentBegan time.Time  `json:"currentBegan"`
	NextAttempt  time.Time  `json:"nextAttempt"`
	SeriesBegan  time.Time  `json:"seriesBegan"`
	SeriesCount  int64      `json:"seriesCount"`
}

// SyncError is an error a job reports (Graph's synchronizationError).
type SyncError struct {
	Code             string `json:"code"`
	Message          string `json:"message"`
	TenantActionable bool   `json:"tenantActionable"`
}

// EntryCount is a count of objects by a key such as "user to User".
type EntryCount struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

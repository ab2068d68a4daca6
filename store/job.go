package store

import (
	"strconv"
	"strings"
	"time"
)

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

	// ResetPending is provisiond's own, never shown by the API: what
	// restarts asked the next cycle to reset and no cycle has done yet.
	// A cycle clears the flags it honours (ResetPending &^= done) in the
	// update that records its start, so a restart during a cycle waits
	// for the next one.
	ResetPending ResetScope `json:"resetPending,omitempty"`
	// AnchorsCounted is provisiond's own too: the AnchorsVersion
	// SynchronizedEntryCountByType was counted at (nil: never counted), so
	// that a cycle that changed no link does not count every anchor again.
	AnchorsCounted *int64 `json:"anchorsCounted,omitempty"`
}

// ResetScope is a set of synchronizationJobRestartScope flags, with
// Graph's member values (a stored format).
type ResetScope uint32

// The synchronizationJobRestartScope members.
const (
	ResetNone ResetScope = 0
	// ResetConnectorDataStore forgets the job's anchors: the links between
	// source and target objects, which the next cycle finds again by
	// matching.
	ResetConnectorDataStore ResetScope = 1
	// ResetEscrows drops the objects waiting to be retried.
	ResetEscrows ResetScope = 2
	// ResetWatermark makes the next cycle an initial one: every object in
	// scope is evaluated again.
	ResetWatermark ResetScope = 4
	// ResetQuarantineState lifts the job's quarantine.
	ResetQuarantineState ResetScope = 8
	// ResetFull is the four above (not ResetForceDeletes).
	ResetFull ResetScope = 15
	// ResetForceDeletes lets the deletes the accidental-deletion threshold
	// held back go through.
	ResetForceDeletes ResetScope = 32
)

// resetNames are the members in Graph's order, Full before its parts so
// that String prefers it.
var resetNames = []struct {
	f    ResetScope
	name string
}{
	{ResetFull, "Full"}, {ResetConnectorDataStore, "ConnectorDataStore"}, {ResetEscrows, "Escrows"},
	{ResetWatermark, "Watermark"}, {ResetQuarantineState, "QuarantineState"}, {ResetForceDeletes, "ForceDeletes"},
}

// String writes r as Graph's flags do, comma-separated in member order
// ("Escrows,Watermark"; "Full" for all four of its parts; "None" for
// none).
// Bits that are no member are written as a number.
func (r ResetScope) String() string {
	var names []string
	left := r
	for _, n := range resetNames {
		if left&n.f == n.f {
			names = append(names, n.name)
			left &^= n.f
		}
	}
	if left != 0 {
		names = append(names, strconv.FormatUint(uint64(left), 10))
	}
	if names == nil {
		return "None"
	}
	return strings.Join(names, ",")
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

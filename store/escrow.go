package store

import "time"

// EscrowKind says what failed for an escrowed object.
type EscrowKind string

// The escrow kinds.
const (
	// EscrowBase is an object whose own export failed.
	EscrowBase EscrowKind = "Base"
	// EscrowReference is an object exported whole whose reference (a group's
	// members) could not be written. Reference escrows do not count toward
	// the base quarantine thresholds.
	EscrowReference EscrowKind = "Reference"
)

// Escrow is a source object of a job whose export failed and that later
// cycles retry (Entra's escrow), keyed by (JobID, SourceType, SourceID).
type Escrow struct {
	JobID      string
	SourceType string
	SourceID   string
	Kind       EscrowKind
	// FirstFailed is when the object first failed in this series.
	FirstFailed time.Time
	// Attempts counts the failed attempts so far (1 after the first).
	Attempts int64
	// NextAttempt is when a cycle retries it; zero for a permanent error,
	// which is retried only when the object changes.
	NextAttempt time.Time
	// Code and Message are the last failure's error code and reason;
	// ErrorKind is its connector kind ("Transient", "Invalid", ...).
	Code      string
	Message   string
	ErrorKind string
}

// StagedDelete is a disable or delete of a job's target object that the
// accidental-deletions guard held back, keyed by (JobID, SourceType,
// SourceID).
type StagedDelete struct {
	JobID      string
	SourceType string
	SourceID   string
	// Action is what the cycle would have done: "Disable" or "Delete".
	Action string
	Staged time.Time
}

package engine

import (
	"fmt"
	"time"

	"provisiond/connector"
)

// Status is an event's outcome.
type Status string

const (
	StatusSuccess Status = "Success"
	StatusSkipped Status = "Skipped"
	StatusFailure Status = "Failure"
)

// Action is what an event did to the target.
type Action string

const (
	ActionCreate  Action = "Create"
	ActionUpdate  Action = "Update"
	ActionDelete  Action = "Delete"
	ActionDisable Action = "Disable"
	ActionOther   Action = "Other"
	// ActionStagedDelete is the event action of a disable or delete held
	// back (Request.HoldDeletes); the Outcome's Action says which it is.
	ActionStagedDelete Action = "StagedDelete"
)

// CodeStagedDelete is the Code of a held disable or delete.
const CodeStagedDelete = "StagedDelete"

// StepType is a provisioning step's phase.
type StepType string

const (
	StepImport   StepType = "Import"
	StepScoping  StepType = "Scoping"
	StepMatching StepType = "Matching"
	StepExport   StepType = "Export"
)

// Outcome is the typed result of processing one object, with its event.
type Outcome struct {
	Status Status
	Action Action
	// Code is the error or skip code (RedundantExport, EntryConflict, ...);
	// empty on success.
	Code    string
	Message string
	// Kind and RetryAfter come from the connector error of a failure, so a
	// caller can tell a transient failure from a permanent one.
	Kind       connector.Kind
	RetryAfter time.Duration
	// Reference marks a failure of the object's references (a group's
	// membership) after the object itself was exported.
	Reference bool
	// TargetID is the target object's id, empty if there is none.
	TargetID string
	Event    Event
	// Members holds each member's own outcome when the object is a group.
	Members []*Outcome
}

// UnmappedError is a request for an object type the rule does not map.
type UnmappedError struct {
	RuleID, ObjectType string
	Member             bool
}

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("rule %s has no enabled object mapping for %s", e.RuleID, e.ObjectType)
}

// NotFoundError is a request for a source object that does not exist (and
// was never provisioned).
type NotFoundError struct {
	ObjectType, ID, Source string
	Member                 bool
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s not found in %s", e.ObjectType, e.ID, e.Source)
}

// ImportError is a source object the source could not read (it is down,
// refuses the job's credentials, or is misconfigured); Err is the
// connector's error.
type ImportError struct {
	ObjectType, ID, Source string
	Err                    error
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import %s %s: %v", e.ObjectType, e.ID, e.Err)
}

func (e *ImportError) Unwrap() error { return e.Err }

// MemberError is a group request with a member the engine cannot take.
type MemberError struct {
	Member Request
	Reason MemberReason
}

// MemberReason says why a member was refused.
type MemberReason int

const (
	MembersOfNonGroup MemberReason = iota // members given for an object that is not a group
	MemberNotUser                         // a member that is not a user
	MemberIsSubject                       // the group named as its own member
)

func (e *MemberError) Error() string {
	why := map[MemberReason]string{
		MembersOfNonGroup: "members can only be given for a group",
		MemberNotUser:     "a member must be a user",
		MemberIsSubject:   "an object cannot be its own member",
	}[e.Reason]
	return fmt.Sprintf("member %s %s: %s", e.Member.ObjectType, e.Member.ObjectID, why)
}

// BusyError is a request that gave up waiting for an object another request
// holds.
type BusyError struct{ Err error }

func (e *BusyError) Error() string {
	return "waiting for another request on the same object: " + e.Err.Error()
}

func (e *BusyError) Unwrap() error { return e.Err }

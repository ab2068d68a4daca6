// Package engine is the provisioning core: it takes one source object (or a
// group with chosen members) through Import, Scoping, Matching and Export,
// and returns a typed Outcome (status, action, code, the connector error's
// kind and RetryAfter) with the provisioning event that reports every step.
//
// provisionOnDemand is one adapter around Engine.Process (see package jobs);
// a cycle will be another, over many objects. A dry run takes the same steps
// with the target read but never written; a request that holds deletes
// (HoldDeletes) stages its disables and deletes for the caller to count.
//
// A per-object outcome (RedundantExport, NotEffectivelyEntitled,
// DuplicateTargetEntries, a target's refusal) is data in the Outcome, not a
// Go error; a Go error means the request could not be processed at all.
// Time and ids are injected so results are reproducible. The engine knows
// no attribute names of any source: state (disabled, soft-deleted,
// entitlement, object class) comes from the source connector.
package engine

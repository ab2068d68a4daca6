// Package engine runs the provisioning pipeline — Import, Scoping,
// Matching, Export — for one source object at a time, and reports every
// step as a provisioning event. provisionOnDemand and scheduled cycles use
// the same engine; a cycle is this pipeline over every changed object.
//
// A per-object outcome (RedundantExport, NotEffectivelyEntitled,
// DuplicateTargetEntries, a target's refusal) is data in the Result, not a
// Go error; a Go error means the run itself could not go on. Time and ids
// are injected so results are reproducible.
package engine

// Package jobs is the service between the Graph API and the engine. It owns
// what a synchronization job needs to run: its compiled schema (cached until
// the job changes), its decrypted secrets and settings, one source and one
// target connector per job (kept while the job's configuration is
// unchanged, so what a connector learns about its system survives between
// calls), and the engine.Job built from them.
//
// HTTP handlers call it for provisionOnDemand and validateCredentials;
// scheduled cycles will call it the same way. It also owns a job's
// lifecycle (start, pause, restart, delete): each is one atomic store
// update of the job's schedule and status, then a word to the Scheduler
// that runs the cycles. Connectors are built by the
// registries cmd/provisiond fills in, keyed by the schema's directory names.
//
// Cycles are where failures heal: failed objects are escrowed and retried
// (escrow.go), a refusing or failing target quarantines the job and backs
// its cycles off (quarantine.go), and disables and deletes are counted
// against the accidental-deletions threshold before any is made
// (guard.go).
package jobs

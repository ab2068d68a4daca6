// Package sqlstore implements store.Store on SQL databases. OpenSQLite opens
// the embedded default, a SQLite file driven by modernc.org/sqlite (pure Go,
// no cgo); OpenPostgres opens a PostgreSQL database through pgx, which
// several nodes share.
//
// The SQL is written once, with ? placeholders and portable types (TEXT,
// BIGINT, BLOB), and PostgreSQL shares it; what differs
// between databases (placeholder syntax, how constraint violations are
// reported, the migration files) sits behind a small dialect value.
//
// Representation:
//   - times are BIGINT microseconds since the Unix epoch and come back in
//     UTC, so they round-trip to the microsecond;
//   - Props are JSON text; job documents (schema, settings), secrets and log
//     data are stored as the bytes given;
//   - a job's schedule has a column per field; its status is JSON text with
//     the field names store.Status's json tags give;
//   - userPrincipalName uniqueness uses a lower-cased copy (upn_key) with a
//     UNIQUE index, lower-cased in Go so every database folds alike;
//   - the change feed is the changes table, its seq an AUTOINCREMENT key;
//     each directory write inserts its changes in its own transaction, so
//     a write and its changes commit or roll back together. Seqs are
//     given, and commit, in order because SQLite runs one write
//     transaction at a time. PostgreSQL's writers run in parallel, so
//     there a directory write first takes a transaction-scoped advisory
//     lock; else a reader could see seq n+1 before n commits and move
//     past n;
//   - cascades (service principal → application, owners, assignments, jobs,
//     secrets; job → anchors, logs; group → memberships) are foreign keys
//     with ON DELETE CASCADE. Memberships and assignments point to a user or
//     a group, so purging one deletes them explicitly.
//
// Errors: unique and primary key violations become store.ErrConflict; a
// missing row, or a foreign key violation (the parent is absent), becomes
// store.ErrNotFound. Deletes, purges and updates of an absent record return
// store.ErrNotFound. PutAnchor and AddProvisioningLog return
// store.ErrNotFound when the job is absent.
//
// UpdateJob reads and writes the job in one write transaction, so
// concurrent updates of a job are serialised rather than lost.
//
// Change notifications: on PostgreSQL a directory write also sends a
// NOTIFY in its transaction, and every Store LISTENs, so Subscribe wakes on
// the writes of other nodes too (about a millisecond after they commit).
//
// Migrations: on PostgreSQL they run under a session advisory lock, so
// nodes starting together apply each one once. Every migration exists for
// both databases with the same version (TestMigrationsMatch).
//
// Cluster state: beyond store.Store, the Store keeps what several nodes on
// one PostgreSQL database must agree on: job locks (TryLockJob, session
// advisory locks that die with their session), provisionOnDemand windows
// (AllowRate, a row per key locked while deciding, on the database's
// clock), River's pool (SchedulerPool) and the migration lock River's own
// migrations take too (WithMigrationLock).
//
// Concurrency: on SQLite the Store keeps two pools on the same file, a
// read-only one for queries and a single-connection one for writes, whose
// transactions begin IMMEDIATE (_txlock=immediate). Writers therefore queue
// in Go instead of failing with SQLITE_BUSY, and readers never block them
// (WAL). On PostgreSQL one pool of up to 20 connections serves reads and
// writes, rows read to be updated are locked (FOR UPDATE), and a listener
// holds a connection of its own.
package sqlstore

// Package store defines provisiond's persistence contract: the records it
// keeps (directory objects, applications, service principals, jobs, secrets,
// anchors, escrows, staged deletes, provisioning logs) and the Store interface every backend
// implements. storetest is the conformance suite run against every backend;
// sqlstore is the SQL implementation (embedded SQLite by default), memory
// the in-memory one for tests.
package store

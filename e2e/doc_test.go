// Package e2e tests provisiond end to end through its HTTP API, with a real
// SQLite store, real tokens and real SCIM servers: the in-process scimtest
// server and the third-party SCIMMY server.
package e2e

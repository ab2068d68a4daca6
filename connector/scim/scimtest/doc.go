// Package scimtest holds SCIM 2.0 test servers.
//
// Server wraps the in-process scimserver.Server with what only tests need:
// a request log (Requests) and fault injection (Options.Disrupt can delay,
// fail, time out or drop a request, before or after it takes effect).
// Options embeds the server's own switches (scimserver.Options).
//
// StartSCIMMY starts the third-party SCIMMY server (scripts/scimmy, Node.js)
// for interoperability tests.
package scimtest

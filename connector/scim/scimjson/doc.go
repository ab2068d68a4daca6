// Package scimjson holds the SCIM 2.0 wire shapes (RFC 7643, RFC 7644) that
// the SCIM client (package scim) and the in-process SCIM server (package
// scimserver) share: schema and message URNs, the error and list response
// bodies, and helpers for resources decoded into map[string]any, whose
// attribute names are case-insensitive.
package scimjson

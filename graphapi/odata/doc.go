// Package odata parses the OData parts of a Graph request: the query
// options of a collection ($select, $filter, $top, $count, $skiptoken),
// keyset paging over items in id order, and the path syntax a router must
// see through (servicePrincipals('id'), alt keys, case-insensitive names).
//
// It knows nothing of HTTP or of any entity: callers describe the
// properties of their entity types with Fields. Every error it returns is
// an *Error, a 400 the caller must fix.
package odata

// Package ldapsource reads users and groups from an LDAP directory, OpenLDAP
// or Active Directory, as a provisioning source: paged searches under one or
// more containers, objects named by their anchors (OpenLDAP's entryUUID,
// AD's objectGUID) and reachable by distinguished name too, a change feed
// whose watermark is the server's own cookie (RFC 4533 syncrepl on OpenLDAP,
// DirSync on AD), change notification (syncrepl refreshAndPersist, AD's
// notification control) and schema discovery from the subschema entry.
//
// Every call is bounded by the caller's deadline and Config.Timeout; the
// connections it binds are reused and redialled when they break.
package ldapsource

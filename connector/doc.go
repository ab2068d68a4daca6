// Package connector defines the seams between the provisioning engine and the
// systems it reads from (sources) and writes to (targets): the Source and
// Target interfaces, the flat attribute model both sides share, and one kinded
// error type whose kind drives retry, escrow and quarantine.
//
// Concrete connectors live in sub-packages (directory, scim, ldap) and never
// import the store, the engine or each other. connectortest holds the
// conformance suite every Target implementation must pass.
package connector

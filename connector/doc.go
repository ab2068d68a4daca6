// Package connector defines the seams between the provisioning engine and the
// systems it reads from (sources) and writes to (targets): the small Source
// and Target interfaces, optional capabilities found by type assertion
// (Entitler, Lister, ChangeFeed, MemberWriter, Classifier, StateAttributer),
// the flat attribute model both sides share, and one kinded error type. The
// engine reports an error's Kind and RetryAfter in its typed outcome, so a
// caller can decide to retry without parsing messages.
//
// Concrete connectors live in sub-packages (connector/scim) or in the package
// of the system they read (directory); they never import the store, the
// engine or each other. connectortest holds the conformance suites every
// implementation, fakes included, must pass.
package connector

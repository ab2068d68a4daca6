// Package metrics holds provisiond's Prometheus collectors on a registry
// of its own (never the process-wide default): cycles and the objects they
// process, provisionOnDemand calls, requests to targets (through
// Transport) and the cycle queue's depth, read at scrape time. Handler
// serves them in Prometheus' text format.
//
// Labels carry only bounded, non-secret values: job ids, outcomes, HTTP
// methods and status codes; never a URL, an object id or a credential.
// Every method of a nil *Metrics does nothing, so metrics can be off.
package metrics

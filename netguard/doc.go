// Package netguard decides which network addresses provisiond may call on
// behalf of a job, so that a target URL (a SCIM BaseAddress) cannot be
// used to reach cloud metadata services, provisiond itself, or networks
// the operator did not allow.
//
// A Guard refuses, whatever else is allowed: link-local addresses
// (169.254.0.0/16, fe80::/10: where clouds serve instance metadata and
// credentials) and other cloud metadata addresses, the unspecified address
// (0.0.0.0 and :: reach this host), and provisiond's own listen addresses.
// Given target networks, it allows only addresses inside them.
//
// The check that matters runs at dial time, on the address a connection is
// about to use (Control, used by Transport and Client), so neither DNS
// rebinding nor a redirect can dodge it; CheckURL checks a literal address
// earlier, for a clear message. Every refusal is a *RefusedError, which
// matches ErrRefused with errors.Is.
package netguard

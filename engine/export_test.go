package engine

import "encoding/json"

// loggedEvent is the shape appendLoggedEvent encodes by hand: an event as
// a provisioning log keeps it, with who initiated it (which the on-demand
// answer does not carry). json.Marshal of it is the encoder's reference.
type loggedEvent struct {
	*Event
	InitiatedBy *Initiator `json:"initiatedBy,omitempty"`
}

// EncodeLoggedEvent is the engine's encoding of a provisioning log's event.
func EncodeLoggedEvent(ev *Event, by *Initiator) ([]byte, error) { return encodeLoggedEvent(ev, by) }

// MarshalLoggedEvent is encoding/json's encoding of the same value.
func MarshalLoggedEvent(ev *Event, by *Initiator) ([]byte, error) {
	return json.Marshal(loggedEvent{Event: ev, InitiatedBy: by})
}

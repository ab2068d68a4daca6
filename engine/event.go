package engine

import (
	"bytes"
	"encoding/json"
	"time"
)

// Event is one provisioning event: the value string provisionOnDemand
// returns and the record kept as a provisioning log. Field order follows
// Graph's documented example.
type Event struct {
	Action               string             `json:"action"`
	ChangeID             string             `json:"changeId"`
	EndTime              Time               `json:"endTime"`
	ModifiedProperties   []ModifiedProperty `json:"modifiedProperties"`
	ProvisioningSteps    []Step             `json:"provisioningSteps"`
	ReportableIdentifier string             `json:"reportableIdentifier"`
	StartTime            Time               `json:"startTime"`
	StatusInfo           StatusInfo         `json:"statusInfo"`
	SourceIdentity       Identity           `json:"sourceIdentity"`
	SourceSystem         System             `json:"sourceSystem"`
	TargetIdentity       Identity           `json:"targetIdentity"`
	TargetSystem         System             `json:"targetSystem"`
	// CycleID is the cycle that produced the event; empty on demand.
	CycleID string `json:"cycleId,omitempty"`
}

// Initiator is who started a provisioning event (Graph's initiator):
// a user or an application calling on demand, or the service (system).
type Initiator struct {
	ID          string        `json:"id"`
	DisplayName string        `json:"displayName"`
	Type        InitiatorType `json:"initiatorType"`
}

// InitiatorType is Graph's initiatorType.
type InitiatorType string

const (
	InitiatorUser        InitiatorType = "user"
	InitiatorApplication InitiatorType = "application"
	InitiatorSystem      InitiatorType = "system"
)

// ModifiedProperty is one target attribute written (or, on failure,
// attempted).
type ModifiedProperty struct {
	DisplayName string  `json:"displayName"`
	OldValue    *string `json:"oldValue"`
	NewValue    *string `json:"newValue"`
}

// Step is one provisioning step.
type Step struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	Status      string  `json:"status"`
	Description string  `json:"description"`
	Timestamp   Time    `json:"timestamp"`
	Details     Details `json:"details"`
}

// StatusInfo is the event's outcome.
type StatusInfo struct {
	Status            string  `json:"status"`
	ErrorCode         *string `json:"errorCode"`
	Reason            *string `json:"reason"`
	AdditionalDetails *string `json:"additionalDetails"`
	ErrorCategory     *string `json:"errorCategory"`
	RecommendedAction *string `json:"recommendedAction"`
}

// Identity names the source or target object.
type Identity struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	DisplayName *string         `json:"displayName"`
	Details     json.RawMessage `json:"details"`
}

// System names the source or target system.
type System struct {
	ID      *string         `json:"id"`
	Name    string          `json:"name"`
	Details json.RawMessage `json:"details"`
}

// Time marshals as Graph does in provisioning events: UTC with seven
// fractional digits ("2020-06-26T13:58:24.7682084Z").
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

const timeLayout = "2006-01-02T15:04:05.0000000Z"

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	*t = Time(v)
	return err
}

// Details is a step's string map, kept in insertion order.
type Details []KV

// KV is one detail line.
type KV struct{ Key, Value string }

// Add appends a line.
func (d *Details) Add(k, v string) { *d = append(*d, KV{k, v}) }

// Get returns the value of key k.
func (d Details) Get(k string) (string, bool) {
	for _, kv := range d {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return "", false
}

// MarshalJSON writes the lines as one JSON object, in order.
func (d Details) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of strings, keeping its order.
func (d *Details) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	*d = Details{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		d.Add(kt.(string), v)
	}
	return nil
}

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"provisiond/jsonenc"
)

// Events are encoded by hand: a cycle encodes one per object, and
// encoding/json's reflection was most of what recording an event cost.
// The bytes are exactly json.Marshal's (field order, omitempty, nulls, HTML
// escaping, invalid UTF-8 as \ufffd; TestEventEncoding and
// FuzzEventEncoding hold them to it), so stored events and on-demand
// answers read as they always did.

// AppendJSON appends ev to b as json.Marshal(ev) encodes it. It fails only
// on an identity or system Details that is not JSON.
func (ev *Event) AppendJSON(b []byte) ([]byte, error) {
	return appendLoggedEvent(b, ev, nil)
}

// eventBufs are scratch buffers for encodeLoggedEvent: the event is
// encoded in one, then copied out at its size, so that the events a
// cycle's write-behind batch holds take no more room than they need and
// encoding rarely grows a slice. One grown past 1 MB is left to the GC.
var eventBufs = sync.Pool{New: func() any { return new([]byte) }}

// encodeLoggedEvent returns json.Marshal(loggedEvent{ev, by}).
func encodeLoggedEvent(ev *Event, by *Initiator) ([]byte, error) {
	buf := eventBufs.Get().(*[]byte)
	b, err := appendLoggedEvent((*buf)[:0], ev, by)
	var out []byte
	if err == nil {
		out = bytes.Clone(b)
	}
	if cap(b) <= 1<<20 {
		*buf = b[:0]
		eventBufs.Put(buf)
	}
	return out, err
}

// appendLoggedEvent appends json.Marshal(loggedEvent{ev, by}).
func appendLoggedEvent(b []byte, ev *Event, by *Initiator) ([]byte, error) {
	var err error
	b = append(b, `{"action":`...)
	b = jsonenc.AppendString(b, ev.Action)
	b = append(b, `,"changeId":`...)
	b = jsonenc.AppendString(b, ev.ChangeID)
	b = append(b, `,"endTime":`...)
	b = appendTime(b, ev.EndTime)
	b = append(b, `,"modifiedProperties":`...)
	b = appendArray(b, ev.ModifiedProperties, (*ModifiedProperty).appendJSON)
	b = append(b, `,"provisioningSteps":`...)
	b = appendArray(b, ev.ProvisioningSteps, (*Step).appendJSON)
	b = append(b, `,"reportableIdentifier":`...)
	b = jsonenc.AppendString(b, ev.ReportableIdentifier)
	b = append(b, `,"startTime":`...)
	b = appendTime(b, ev.StartTime)

	si := &ev.StatusInfo
	b = append(b, `,"statusInfo":{"status":`...)
	b = jsonenc.AppendString(b, si.Status)
	b = append(b, `,"errorCode":`...)
	b = appendStringPtr(b, si.ErrorCode)
	b = append(b, `,"reason":`...)
	b = appendStringPtr(b, si.Reason)
	b = append(b, `,"additionalDetails":`...)
	b = appendStringPtr(b, si.AdditionalDetails)
	b = append(b, `,"errorCategory":`...)
	b = appendStringPtr(b, si.ErrorCategory)
	b = append(b, `,"recommendedAction":`...)
	b = appendStringPtr(b, si.RecommendedAction)
	b = append(b, '}')

	b = append(b, `,"sourceIdentity":`...)
	if b, err = ev.SourceIdentity.appendJSON(b); err != nil {
		return nil, fmt.Errorf("sourceIdentity: %w", err)
	}
	b = append(b, `,"sourceSystem":`...)
	if b, err = ev.SourceSystem.appendJSON(b); err != nil {
		return nil, fmt.Errorf("sourceSystem: %w", err)
	}
	b = append(b, `,"targetIdentity":`...)
	if b, err = ev.TargetIdentity.appendJSON(b); err != nil {
		return nil, fmt.Errorf("targetIdentity: %w", err)
	}
	b = append(b, `,"targetSystem":`...)
	if b, err = ev.TargetSystem.appendJSON(b); err != nil {
		return nil, fmt.Errorf("targetSystem: %w", err)
	}
	if ev.CycleID != "" {
		b = append(b, `,"cycleId":`...)
		b = jsonenc.AppendString(b, ev.CycleID)
	}
	if by != nil {
		b = append(b, `,"initiatedBy":{"id":`...)
		b = jsonenc.AppendString(b, by.ID)
		b = append(b, `,"displayName":`...)
		b = jsonenc.AppendString(b, by.DisplayName)
		b = append(b, `,"initiatorType":`...)
		b = jsonenc.AppendString(b, string(by.Type))
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendArray appends xs as json.Marshal does a slice: null when nil.
func appendArray[T any](b []byte, xs []T, appendOne func(*T, []byte) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(&xs[i], b)
	}
	return append(b, ']')
}

func (p *ModifiedProperty) appendJSON(b []byte) []byte {
	b = append(b, `{"displayName":`...)
	b = jsonenc.AppendString(b, p.DisplayName)
	b = append(b, `,"oldValue":`...)
	b = appendStringPtr(b, p.OldValue)
	b = append(b, `,"newValue":`...)
	b = appendStringPtr(b, p.NewValue)
	return append(b, '}')
}

func (s *Step) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = jsonenc.AppendString(b, s.Name)
	b = append(b, `,"type":`...)
	b = jsonenc.AppendString(b, s.Type)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, s.Status)
	b = append(b, `,"description":`...)
	b = jsonenc.AppendString(b, s.Description)
	b = append(b, `,"timestamp":`...)
	b = appendTime(b, s.Timestamp)
	b = append(b, `,"details":`...)
	b = s.Details.appendJSON(b)
	return append(b, '}')
}

func (id *Identity) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, id.ID)
	b = append(b, `,"type":`...)
	b = jsonenc.AppendString(b, id.Type)
	b = append(b, `,"displayName":`...)
	b = appendStringPtr(b, id.DisplayName)
	b = append(b, `,"details":`...)
	b, err := appendRaw(b, id.Details)
	return append(b, '}'), err
}

func (s *System) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendStringPtr(b, s.ID)
	b = append(b, `,"name":`...)
	b = jsonenc.AppendString(b, s.Name)
	b = append(b, `,"details":`...)
	b, err := appendRaw(b, s.Details)
	return append(b, '}'), err
}

// appendJSON appends the lines as one JSON object, in order.
func (d Details) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, d[i].Key)
		b = append(b, ':')
		b = jsonenc.AppendString(b, d[i].Value)
	}
	return append(b, '}')
}

// appendTime appends t as Time.MarshalJSON does, without parsing the
// layout each time for the four-digit years every real event has.
func appendTime(b []byte, t Time) []byte {
	u := time.Time(t).UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = u.AppendFormat(b, timeLayout)
		return append(b, '"')
	}
	hour, min, sec := u.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, u.Nanosecond()/100, 7)
	return append(b, 'Z', '"')
}

// appendDigits appends n (≥ 0) in exactly width decimal digits.
func appendDigits(b []byte, n, width int) []byte {
	b = append(b, "0000000"[:width]...)
	for i := len(b) - 1; n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, *s)
}

// appendRaw appends a json.RawMessage as json.Marshal does: nil as null,
// anything else compacted and HTML-escaped, an error if it is not JSON.
func appendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil || string(raw) == "null" {
		return append(b, "null"...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return b, err
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, c.Bytes())
	return append(b, h.Bytes()...), nil
}

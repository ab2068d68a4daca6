package engine_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"provisiond/engine"
)

// checkEncoding fails t unless the engine's encoder writes ev exactly as
// encoding/json does, as a log (with and without an initiator) and as the
// on-demand answer.
func checkEncoding(t testing.TB, ev *engine.Event) {
	t.Helper()
	for _, by := range []*engine.Initiator{nil, {ID: "u-1", DisplayName: "Ada <admin> & co", Type: engine.InitiatorUser}} {
		got, gotErr := engine.EncodeLoggedEvent(ev, by)
		want, wantErr := engine.MarshalLoggedEvent(ev, by)
		if (gotErr != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("logged event (initiator %v):\n got %s, %v\nwant %s, %v", by, got, gotErr, want, wantErr)
		}
	}
	got, gotErr := ev.AppendJSON([]byte("prefix"))
	want, wantErr := json.Marshal(ev)
	if gotErr == nil {
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("AppendJSON dropped what it appends to: %.20s", got)
		}
		got = got[len("prefix"):]
	}
	if (gotErr != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("event:\n got %s, %v\nwant %s, %v", got, gotErr, want, wantErr)
	}
}

func ptr(s string) *string { return &s }

// tricky holds every kind of character encoding/json treats specially.
const tricky = "a\"b\\c/d<e>f&g\u2028h\u2029i\x00\x01\x1f\b\f\n\r\t\x7fé€😀\xff\xc3(\xe2\x80z\xed\xa0\x80end"

func TestEventEncoding(t *testing.T) {
	at := engine.Time(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)))
	full := engine.Event{
		Action: "Create", ChangeID: tricky, EndTime: at,
		ModifiedProperties: []engine.ModifiedProperty{{DisplayName: tricky, NewValue: ptr(tricky)}, {DisplayName: "b", OldValue: ptr(""), NewValue: nil}},
		ProvisioningSteps: []engine.Step{
			{Name: "EntryImport", Type: "Import", Status: "Success", Description: tricky, Timestamp: at, Details: engine.Details{{tricky, tricky}, {"", ""}}},
			{Name: "EntrySynchronizationScoping", Details: nil},
			{Details: engine.Details{}},
		},
		ReportableIdentifier: tricky, StartTime: at,
		StatusInfo:     engine.StatusInfo{Status: "Failure", ErrorCode: ptr("E"), Reason: ptr(tricky), AdditionalDetails: ptr(""), ErrorCategory: ptr("x"), RecommendedAction: ptr("y")},
		SourceIdentity: engine.Identity{ID: "s", Type: "User", DisplayName: ptr(tricky), Details: json.RawMessage(" { \"a\" : [1, \"<&>\u2028\", null, true] ,\n\"b\":{}} ")},
		SourceSystem:   engine.System{ID: ptr("sys"), Name: tricky, Details: json.RawMessage(`null`)},
		TargetIdentity: engine.Identity{Details: nil},
		TargetSystem:   engine.System{Details: json.RawMessage(`"\u00e9\xff"`)},
		CycleID:        tricky,
	}
	cases := map[string]engine.Event{
		"every field":              full,
		"zero":                     {},
		"empty lists":              {ModifiedProperties: []engine.ModifiedProperty{}, ProvisioningSteps: []engine.Step{}},
		"zero time":                {StartTime: engine.Time(time.Time{}), EndTime: engine.Time(time.Unix(1<<40, 0))},
		"details not JSON":         {SourceIdentity: engine.Identity{Details: json.RawMessage(`{"a":`)}},
		"empty details":            {TargetSystem: engine.System{Details: json.RawMessage{}}},
		"details with trailing":    {TargetIdentity: engine.Identity{Details: json.RawMessage(`{} {}`)}},
		"system details not JSON":  {SourceSystem: engine.System{Details: json.RawMessage(`nul`)}},
		"target details not JSON":  {TargetSystem: engine.System{Details: json.RawMessage(`<`)}},
		"identity details escaped": {TargetIdentity: engine.Identity{Details: json.RawMessage(`"<\u2029>"`)}},
	}
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) { checkEncoding(t, &ev) })
	}
	if _, err := engine.EncodeLoggedEvent(&engine.Event{SourceIdentity: engine.Identity{Details: json.RawMessage(`{`)}}, nil); err == nil {
		t.Error("an identity's details that are not JSON: no error")
	}
}

// TestEventEncodingGolden encodes the on-demand events pinned by the e2e
// golden files (real events, with ids, times and placeholders that need
// escaping) and compares them with encoding/json.
func TestEventEncodingGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "e2e", "testdata", "*.golden.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	events := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		must(t, err)
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]json.RawMessage
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if doc["provisioningSteps"] == nil {
				continue // the key document, or a summary
			}
			raw, _ := json.Marshal(doc)
			var ev engine.Event
			must(t, json.Unmarshal(raw, &ev))
			checkEncoding(t, &ev)
			events++
		}
	}
	if events < 5 {
		t.Fatalf("found %d events in %d golden files; want the on-demand ones", events, len(paths))
	}
}

func FuzzEventEncoding(f *testing.F) {
	f.Add("Create", "user@contoso.test", "EntryImport", "objectId", "00000000-0000-4000-8000-000000000010", []byte("null"), int64(1767323045), uint8(0))
	f.Add(tricky, tricky, tricky, tricky, tricky, []byte(` {"a" : "<b>"} `), int64(-62135596800), uint8(0xff))
	f.Add("\xff\xfe", "\u2028", "<script>", "&amp;", "\x00", []byte(`{"a":`), int64(0), uint8(0x55))
	f.Add("", "", "", "", "", []byte{}, int64(1<<40), uint8(0xaa))
	f.Fuzz(func(t *testing.T, a, b, c, d, e string, raw []byte, unix int64, set uint8) {
		opt := func(bit uint8, s string) *string {
			if set&(1<<bit) == 0 {
				return nil
			}
			return &s
		}
		// raw, often not JSON, goes in one place only when bit 7 is
		// set, so that most runs compare whole encodings.
		var details json.RawMessage
		if set&(1<<7) != 0 {
			details = raw
		}
		at := engine.Time(time.Unix(unix, int64(set)*1e6))
		ev := engine.Event{
			Action: a, ChangeID: b, EndTime: at, ReportableIdentifier: c, StartTime: at, CycleID: d,
			ModifiedProperties: []engine.ModifiedProperty{{DisplayName: e, OldValue: opt(0, a), NewValue: opt(1, b)}},
			ProvisioningSteps:  []engine.Step{{Name: a, Type: b, Status: c, Description: d, Timestamp: at, Details: engine.Details{{e, a}, {b, c}}}},
			StatusInfo:         engine.StatusInfo{Status: e, ErrorCode: opt(2, c), Reason: opt(3, d), AdditionalDetails: opt(4, e), ErrorCategory: opt(5, a), RecommendedAction: opt(6, b)},
			SourceIdentity:     engine.Identity{ID: a, Type: b, DisplayName: opt(1, c), Details: details},
			SourceSystem:       engine.System{ID: opt(2, d), Name: e},
			TargetIdentity:     engine.Identity{ID: c, Details: json.RawMessage(`{"id":"x"}`)},
			TargetSystem:       engine.System{Name: a},
		}
		if set&1 == 0 {
			ev.ModifiedProperties, ev.ProvisioningSteps = nil, nil
		}
		checkEncoding(t, &ev)
	})
}

// BenchmarkEventEncoding compares the engine's encoder with encoding/json
// on the golden user create event, the kind a cycle logs per object.
func BenchmarkEventEncoding(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "user_create.golden.json"))
	if err != nil {
		b.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var key any
	var ev engine.Event
	if err := dec.Decode(&key); err != nil {
		b.Fatal(err)
	}
	if err := dec.Decode(&ev); err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := engine.MarshalLoggedEvent(&ev, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := engine.EncodeLoggedEvent(&ev, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/s2"
)

func TestLogPacking(t *testing.T) {
	event := []byte(`{"id":"x","provisioningSteps":[` + string(bytes.Repeat([]byte(`{"name":"EntryImport","details":{"a":"b"}},`), 40)) + `{}]}`)
	packed := packLog(event)
	if packed[0] != logPackedDict1 || len(packed) >= len(event)/2 {
		t.Errorf("packed %d bytes into %d starting with %#x; want a marked, much smaller value", len(event), len(packed), packed[0])
	}
	// What earlier versions stored (plain s2 under logPacked, plain JSON)
	// reads as well as what this one stores.
	before := append([]byte{logPacked}, s2.Encode(nil, event)...)
	for _, stored := range [][]byte{packed, before, event, nil} {
		got, err := unpackLog(stored)
		want := event
		if stored == nil {
			want = nil
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("unpackLog(%.20q) = %.40q, %v; want %.40q", stored, got, err, want)
		}
	}
	for _, damaged := range [][]byte{
		{logPacked, 0xff, 0xff},
		{logPackedDict1, 0xff, 0xff},
		{logPackedDict1, 0x80},                                          // a length that does not end
		append([]byte{logPackedDict1}, packed[1:len(packed)-3]...),      // cut short
		append([]byte{logPackedDict1, 0x80, 0x80, 0x80, 0x80, 0x0f}, 0), // claims 4 GB
	} {
		if _, err := unpackLog(damaged); err == nil {
			t.Errorf("unpackLog(%q): no error", damaged)
		}
	}
	huge := make([]byte, maxLogEvent+1)
	if got := packLog(huge); !bytes.Equal(got, huge) {
		t.Error("an event past maxLogEvent was packed; unpackLog would refuse it")
	}
}

// TestLogDictionaryIsFrozen: events packed with dictionary 1 are read with
// it, so its bytes (and where its repeat offset starts) never change. A
// better dictionary is dictionary 2, with a marker of its own.
func TestLogDictionaryIsFrozen(t *testing.T) {
	sum := sha256.Sum256(logDict1Data)
	if got, want := hex.EncodeToString(sum[:]), "01428a9dc38ec8c355fd0a26a5a1b4bd61e591b51e52dd75705c8ae4da94c508"; got != want {
		t.Fatalf("logdict1.txt has SHA-256 %s, want %s: stored events would no longer unpack; add a dictionary 2 instead", got, want)
	}
	if logDict1 == nil {
		t.Fatal("dictionary 1 does not load")
	}
	// An event packed by the first version with dictionary 1, kept as
	// bytes: it must unpack to the same event in every later one.
	packed, err := os.ReadFile(filepath.Join("testdata", "cycle_user_create.dict1"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "cycle_user_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := unpackLog(packed); err != nil || !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("the pinned packed event unpacks to %.60q…, %v; want testdata/cycle_user_create.json", got, err)
	}
}

// TestLogPackingSize packs a cycle's user create event (not one of the
// dictionary's) and reports its size; the dictionary must keep paying.
func TestLogPackingSize(t *testing.T) {
	event, err := os.ReadFile(filepath.Join("testdata", "cycle_user_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	packed := packLog(bytes.TrimSpace(event))
	plain := 1 + len(s2.Encode(nil, bytes.TrimSpace(event)))
	t.Logf("a cycle's user create: %d bytes of JSON, %d packed with s2, %d with dictionary 1", len(event), plain, len(packed))
	if len(packed) > plain/2 {
		t.Errorf("packed with dictionary 1 into %d bytes, with none %d: want under half", len(packed), plain)
	}
	if got, err := unpackLog(packed); err != nil || !bytes.Equal(got, bytes.TrimSpace(event)) {
		t.Errorf("round trip: %v", err)
	}
}

func FuzzPackLog(f *testing.F) {
	f.Add([]byte(`{"action":"Create"}`))
	f.Add(logDict1Data[:4000])
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := unpackLog(packLog(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("pack/unpack of %q gave %q, %v", data, got, err)
		}
	})
}

func FuzzUnpackLog(f *testing.F) {
	f.Add(packLog([]byte(`{"a":1}`)))
	f.Add(append([]byte{logPacked}, s2.Encode(nil, []byte(`{"a":1}`))...))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte{logPacked})
	f.Add([]byte{logPackedDict1})
	f.Fuzz(func(t *testing.T, stored []byte) {
		data, err := unpackLog(stored)
		if err != nil {
			return
		}
		if again, err := unpackLog(packLog(data)); err != nil || !bytes.Equal(again, data) {
			t.Fatalf("pack/unpack of %q gave %q, %v", data, again, err)
		}
	})
}

package sqlstore

import (
	"bytes"
	"testing"
)

func TestLogPacking(t *testing.T) {
	event := []byte(`{"id":"x","provisioningSteps":[` + string(bytes.Repeat([]byte(`{"name":"EntryImport","details":{"a":"b"}},`), 40)) + `{}]}`)
	packed := packLog(event)
	if packed[0] != logPacked || len(packed) >= len(event)/2 {
		t.Errorf("packed %d bytes into %d starting with %#x; want a marked, much smaller value", len(event), len(packed), packed[0])
	}
	for _, stored := range [][]byte{packed, event, nil} {
		got, err := unpackLog(stored)
		want := event
		if stored == nil {
			want = nil
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("unpackLog(%.20q) = %.40q, %v; want %.40q", stored, got, err, want)
		}
	}
	if _, err := unpackLog([]byte{logPacked, 0xff, 0xff}); err == nil {
		t.Error("unpackLog of damaged bytes: no error")
	}
}

func FuzzUnpackLog(f *testing.F) {
	f.Add(packLog([]byte(`{"a":1}`)))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte{logPacked})
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

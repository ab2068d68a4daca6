package sqlstore

import (
	"bytes"
	_ "embed" // logdict1.txt
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
)

// A log's event is stored compressed: a cycle writes one event of a few KB
// per object, and writing them was most of what the logs cost a cycle. s2
// compresses at GB/s, far cheaper than the bytes it saves SQLite. A packed
// event starts with a marker byte, which no JSON document starts with;
// events stored before are plain JSON and read as they are.
//
// Events are packed with a dictionary of typical events (their keys, step
// names and descriptions), which an event shares most of its bytes with:
// a cycle's events, ~2.9 KB of JSON on average, pack into ~530 bytes with
// it, ~1,420 without. A dictionary can never change once events were packed with it,
// since they are read with it: a new one gets a new marker, and the old
// markers stay readable.
const (
	logPacked      = 0x00 // s2, no dictionary (before dictionary 1)
	logPackedDict1 = 0x01 // s2 with logDict1
)

// logDict1Data is dictionary 1: the logged forms of the on-demand golden
// events (cycleId in place of initiatedBy but for the first), the most
// common kind, a user create, last, where copies from it are shortest.
// TestLogDictionaryIsFrozen pins its bytes.
//
//go:embed logdict1.txt
var logDict1Data []byte

// logDict1 starts its repeat offset at its last event, as an event starts.
var logDict1 = s2.MakeDictManual(logDict1Data, uint16(bytes.LastIndex(logDict1Data, []byte(`{"action":"`))))

// maxLogEvent bounds what a stored event may unpack to, so that a damaged
// length cannot make a read allocate gigabytes; events are a few KB, a
// group's capped in size.
const maxLogEvent = 64 << 20

// maxScratch is the largest scratch buffer kept for reuse.
const maxScratch = 1 << 20

// packBufs are scratch buffers for packLog, which copies the packed event
// out at its size; one grown past maxScratch is left to the GC.
var packBufs = sync.Pool{New: func() any { return new([]byte) }}

// packLog compresses an event for storage (one past maxLogEvent stays
// plain, as unpackLog reads it).
func packLog(data []byte) []byte {
	if len(data) == 0 || len(data) > maxLogEvent {
		return data
	}
	buf := packBufs.Get().(*[]byte)
	packed := logDict1.Encode((*buf)[:0], data)
	out := make([]byte, 1+len(packed))
	out[0] = logPackedDict1
	copy(out[1:], packed)
	if cap(packed) <= maxScratch {
		*buf = packed[:0]
		packBufs.Put(buf)
	}
	return out
}

// unpackLog reverses packLog; plain JSON passes through.
func unpackLog(stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] > logPackedDict1 {
		return stored, nil
	}
	packed := stored[1:]
	n, err := s2.DecodedLen(packed)
	if err == nil && n > maxLogEvent {
		err = fmt.Errorf("it says it unpacks to %d bytes", n)
	}
	var data []byte
	if err == nil && stored[0] == logPacked {
		data, err = s2.Decode(nil, packed)
	} else if err == nil {
		data, err = logDict1.Decode(nil, packed)
	}
	if err != nil {
		return nil, fmt.Errorf("a stored provisioning log is damaged: %w", err)
	}
	return data, nil
}

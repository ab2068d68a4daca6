package sqlstore

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A log's event is stored compressed: a cycle writes one event of a few KB
// per object, and writing them was most of what the logs cost a cycle. s2
// compresses at GB/s, far cheaper than the bytes it saves SQLite. A packed
// event starts with logPacked, which no JSON document starts with; events
// stored before are plain JSON and read as they are.
const logPacked = 0x00

// packLog compresses an event for storage.
func packLog(data []byte) []byte {
	if len(data) == 0 {
		return data
	}
	buf := make([]byte, 1+s2.MaxEncodedLen(len(data)))
	buf[0] = logPacked
	return buf[:1+len(s2.Encode(buf[1:], data))]
}

// unpackLog reverses packLog; plain JSON passes through.
func unpackLog(stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != logPacked {
		return stored, nil
	}
	data, err := s2.Decode(nil, stored[1:])
	if err != nil {
		return nil, fmt.Errorf("a stored provisioning log is damaged: %w", err)
	}
	return data, nil
}

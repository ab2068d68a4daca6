// Package ids makes the identifiers provisiond hands out: random RFC 4122
// version 4 UUIDs for directory objects, jobs and SCIM resources, and
// time-ordered version 7 UUIDs (RFC 9562) for provisioning logs.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewUUID returns a random (version 4) UUID in its canonical lower-case form.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return format(b)
}

// format writes b in the 8-4-4-4-12 hex form.
func format(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// NewTimeUUID returns a version 7 UUID: its first 48 bits are the Unix time
// in milliseconds, the rest random. Still a GUID to any client, but ids made
// one after another sort (and so insert into an index) in order, which keeps
// a stream of writes — a cycle's provisioning logs — at the end of the
// index instead of all over it.
func NewTimeUUID() string {
	return timeUUID(time.Now())
}

func timeUUID(t time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go 1.24+)
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return format(b)
}

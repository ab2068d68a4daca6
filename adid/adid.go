// Package adid reads and prints Active Directory's binary identifiers: the
// objectGUID (16 bytes, its string form mixed-endian) and the objectSid
// (S-1-5-21-...). The LDAP source, the in-memory AD and the directory
// target share it, so the three agree on every byte.
package adid

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FormatGUID prints a 16-byte GUID as AD does: the first three fields are
// little-endian in objectGUID's bytes, so the bytes 73 f6 d5 d8 c5 df 2a 4a
// 8f ae f1 2c 8d 81 de e3 print as d8d5f673-dfc5-4a2a-8fae-f12c8d81dee3
// (what Samba's tools print for them). Anything but 16 bytes prints as hex.
func FormatGUID(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

// ParseGUID reads the string form FormatGUID prints (any case) back into
// objectGUID's bytes.
func ParseGUID(s string) ([]byte, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, fmt.Errorf("%q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 {
		return nil, fmt.Errorf("%q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:4], binary.BigEndian.Uint32(raw[0:4]))
	binary.LittleEndian.PutUint16(out[4:6], binary.BigEndian.Uint16(raw[4:6]))
	binary.LittleEndian.PutUint16(out[6:8], binary.BigEndian.Uint16(raw[6:8]))
	copy(out[8:], raw[8:])
	return out, nil
}

// ImmutableID is Entra's immutable id of an AD object whose objectGUID
// has the string form guid: the base64 of the GUID's bytes. ok is false
// when guid is not a GUID.
func ImmutableID(guid string) (id string, ok bool) {
	raw, err := ParseGUID(guid)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(raw), true
}

// maxSubAuthorities is the most sub-authorities a SID has (SID_MAX_SUB_AUTHORITIES).
const maxSubAuthorities = 15

// FormatSID prints a binary security identifier as S-1-5-21-...: a
// revision byte, a count of sub-authorities, a 48-bit big-endian
// authority, then 32-bit little-endian sub-authorities.
func FormatSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", errors.New("a SID has at least 8 bytes")
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", fmt.Errorf("a SID with %d sub-authorities has %d bytes, not %d", n, 8+4*n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteByte('-')
	sb.WriteString(strconv.FormatUint(auth, 10))
	for i := range n {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// ParseSID reads the string form FormatSID prints (S-1-5-21-...) back into
// a SID's bytes.
func ParseSID(s string) ([]byte, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not a security identifier (S-1-5-21-...): %s", s, why)
	}
	rest, ok := strings.CutPrefix(s, "S-")
	if !ok {
		return nil, bad("it does not start with S-")
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 2 || len(parts)-2 > maxSubAuthorities {
		return nil, bad(fmt.Sprintf("it needs a revision, an authority and at most %d sub-authorities", maxSubAuthorities))
	}
	num := func(p string, bits int) (uint64, error) {
		if p == "" || p[0] == '+' || p[0] == '-' || (len(p) > 1 && p[0] == '0') {
			return 0, bad(fmt.Sprintf("%q is not a decimal number", p))
		}
		v, err := strconv.ParseUint(p, 10, bits)
		if err != nil {
			return 0, bad(fmt.Sprintf("%q is not a %d-bit number", p, bits))
		}
		return v, nil
	}
	rev, err := num(parts[0], 8)
	if err != nil {
		return nil, err
	}
	auth, err := num(parts[1], 48)
	if err != nil {
		return nil, err
	}
	n := len(parts) - 2
	out := make([]byte, 8+4*n)
	out[0], out[1] = byte(rev), byte(n)
	for i := range 6 {
		out[7-i] = byte(auth >> (8 * i))
	}
	for i, p := range parts[2:] {
		v, err := num(p, 32)
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(out[8+4*i:], uint32(v))
	}
	return out, nil
}

// SIDFromBase64 reads a SID given as the base64 of its bytes (how Entra
// shows objectSid and OnPremiseSecurityIdentifier) into its string form.
func SIDFromBase64(s string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("%q is not base64: %v", s, err)
	}
	return FormatSID(raw)
}

// SIDToBase64 is the base64 of the bytes of the SID whose string form is s.
func SIDToBase64(s string) (string, error) {
	raw, err := ParseSID(s)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// DomainOfDN returns the DNS domain a distinguished name's dc= components
// spell ("CN=Ada,OU=Staff,DC=corp,DC=example,DC=com" → corp.example.com),
// or "" if it has none.
func DomainOfDN(dn string) string {
	var parts []string
	for _, rdn := range strings.Split(dn, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "dc") {
			parts = append(parts, strings.TrimSpace(v))
		}
	}
	return strings.Join(parts, ".")
}

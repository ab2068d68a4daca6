package ldapsource

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

// uacAccountDisable is userAccountControl's ACCOUNTDISABLE bit.
const uacAccountDisable = 0x2

// uacDisabled reports whether a userAccountControl value disables the
// account.
func uacDisabled(v string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n&uacAccountDisable != 0
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

package adid

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// Samba's Administrator: the raw objectGUID and objectSid ldapsearch
// shows, and what samba-tool user show prints for them.
const (
	sambaGUIDBase64 = "c/bV2MXfKkqPrvEsjYHe4w=="
	sambaGUID       = "d8d5f673-dfc5-4a2a-8fae-f12c8d81dee3"
	sambaSIDBase64  = "AQUAAAAAAAUVAAAAE0JRR4CMgp5BghGV9AEAAA=="
	sambaSID        = "S-1-5-21-1196507667-2659355776-2500952641-500"
	// Seed example 2's objectSid, as Entra shows it.
	exampleSIDBase64 = "AQUAAAAAAAUVAAAAXAMNf/YJ8nmaUZofGG4BAA=="
)

func TestGUIDAsSambaPrintsIt(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(sambaGUIDBase64)
	if got := FormatGUID(raw); got != sambaGUID {
		t.Errorf("FormatGUID = %s, want %s", got, sambaGUID)
	}
	for _, s := range []string{sambaGUID, strings.ToUpper(sambaGUID)} {
		back, err := ParseGUID(s)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("ParseGUID(%s) = %x, %v; want %x", s, back, err, raw)
		}
	}
	for _, bad := range []string{"", "d8d5f673dfc54a2a8faef12c8d81dee3", "d8d5f673-dfc5-4a2a-8fae-f12c8d81deeg", "{" + sambaGUID + "}"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) accepted it", bad)
		}
	}
	if id, ok := ImmutableID(sambaGUID); !ok || id != sambaGUIDBase64 {
		t.Errorf("ImmutableID(%s) = %q, %v; want the base64 of the bytes, %s", sambaGUID, id, ok, sambaGUIDBase64)
	}
	if _, ok := ImmutableID("not-a-guid"); ok {
		t.Error("ImmutableID accepted a non-GUID")
	}
}

func TestSIDAsSambaPrintsIt(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(sambaSIDBase64)
	if got, err := FormatSID(raw); err != nil || got != sambaSID {
		t.Errorf("FormatSID = %s, %v; want %s", got, err, sambaSID)
	}
	wellKnown := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0} // LocalSystem
	if got, _ := FormatSID(wellKnown); got != "S-1-5-18" {
		t.Errorf("FormatSID(LocalSystem) = %s", got)
	}
	for _, bad := range [][]byte{nil, {1}, raw[:len(raw)-1], append(bytes.Clone(raw), 0)} {
		if _, err := FormatSID(bad); err == nil {
			t.Errorf("FormatSID(%x) accepted it", bad)
		}
	}
}

func TestSIDBothWays(t *testing.T) {
	for _, b64 := range []string{sambaSIDBase64, exampleSIDBase64} {
		s, err := SIDFromBase64(b64)
		if err != nil || !strings.HasPrefix(s, "S-1-5-21-") {
			t.Fatalf("SIDFromBase64(%s) = %q, %v", b64, s, err)
		}
		back, err := SIDToBase64(s)
		if err != nil || back != b64 {
			t.Errorf("SIDToBase64(%s) = %q, %v; want %s", s, back, err, b64)
		}
	}
	if got, _ := SIDFromBase64(sambaSIDBase64); got != sambaSID {
		t.Errorf("SIDFromBase64 = %s, want %s", got, sambaSID)
	}
	for _, bad := range []string{"", "S-", "S-1", "1-5-18", "S-1-5-x", "S-1-5-18-", "S-256-5-18", "S-1-5-4294967296",
		"S-1-5-+1", "S-1-5-01", "S-1-281474976710656", "S-1-5" + strings.Repeat("-1", 16)} {
		if _, err := ParseSID(bad); err == nil {
			t.Errorf("ParseSID(%q) accepted it", bad)
		}
	}
	if _, err := SIDFromBase64("S-1-5-18"); err == nil {
		t.Error("SIDFromBase64 accepted a string SID as base64")
	}
}

func FuzzParseGUID(f *testing.F) {
	f.Add(sambaGUID)
	f.Add(strings.ToUpper(sambaGUID))
	f.Add("00000000-0000-0000-0000-00000000dead")
	f.Add("not-a-guid")
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := ParseGUID(s)
		if err != nil {
			return
		}
		if len(raw) != 16 || !strings.EqualFold(FormatGUID(raw), s) {
			t.Errorf("ParseGUID(%q) = %x, which prints as %s", s, raw, FormatGUID(raw))
		}
	})
}

func FuzzFormatSID(f *testing.F) {
	raw, _ := base64.StdEncoding.DecodeString(sambaSIDBase64)
	f.Add(raw)
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0})
	f.Add([]byte{1, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := FormatSID(b)
		if err == nil && (!strings.HasPrefix(s, "S-") || strings.Count(s, "-") != 2+int(b[1])) {
			t.Errorf("FormatSID(%x) = %q", b, s)
		}
	})
}

// ParseSID and FormatSID are inverses on what ParseSID accepts.
func FuzzParseSID(f *testing.F) {
	f.Add(sambaSID)
	f.Add("S-1-5-18")
	f.Add("S-1-5-21-0-0-0-4294967295")
	f.Add("S-01-5")
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := ParseSID(s)
		if err != nil {
			return
		}
		if back, err := FormatSID(raw); err != nil || back != s {
			t.Errorf("ParseSID(%q) = %x, which prints as %q (%v)", s, raw, back, err)
		}
	})
}

func TestDomainOfDN(t *testing.T) {
	for dn, want := range map[string]string{
		"CN=Ada,OU=Staff,DC=corp,DC=example,DC=com": "corp.example.com",
		"uid=ada,ou=people,dc=example,dc=org":       "example.org",
		"cn=admin":                                  "",
		"":                                          "",
	} {
		if got := DomainOfDN(dn); got != want {
			t.Errorf("DomainOfDN(%q) = %q, want %q", dn, got, want)
		}
	}
}

// FuzzDomainOfDN: any string gives a dot-joined domain without the DN's
// syntax in it, and never panics.
func FuzzDomainOfDN(f *testing.F) {
	for _, s := range []string{"CN=Ada,OU=Staff,DC=corp,DC=example,DC=com", "dc=", "DC = x , dc=y", ",,,", "=,=", "uid=a\\,b,dc=org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		d := DomainOfDN(dn)
		if strings.Contains(d, ",") {
			t.Errorf("DomainOfDN(%q) = %q holds a comma", dn, d)
		}
	})
}

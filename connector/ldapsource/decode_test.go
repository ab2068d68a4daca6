package ldapsource

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/adid"
	"provisiond/connector"
)

func TestUserAccountControl(t *testing.T) {
	for v, want := range map[string]bool{"512": false, "514": true, "546": true, "544": false, "66050": true, "": false, "x": false} {
		if got := uacDisabled(v); got != want {
			t.Errorf("uacDisabled(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestMarkRoundTrip(t *testing.T) {
	m := mark{Flavor: FlavorOpenLDAP.String(), Cookies: [][]byte{[]byte("rid=000,csn=20261201103441.943677Z#000000#000#000000"), nil}, After: "k/user"}
	got, err := parseMark(m.String(), FlavorOpenLDAP, 2)
	if err != nil || got.After != m.After || string(got.Cookies[0]) != string(m.Cookies[0]) || got.Cookies[1] != nil {
		t.Errorf("parseMark(String()) = %+v, %v; want %+v", got, err, m)
	}
	for _, tt := range []struct {
		s string
		f Flavor
		n int
	}{
		{m.String(), FlavorAD, 1},        // another flavor's
		{m.String(), FlavorOpenLDAP, 1},  // the containers changed
		{"ldap1.", FlavorOpenLDAP, 2},    // empty
		{"ldap1.***", FlavorOpenLDAP, 2}, // not base64
		{"42", FlavorOpenLDAP, 2},        // the directory's sequence numbers
		{strings.TrimPrefix(m.String(), markPrefix), FlavorOpenLDAP, 2},
	} {
		if _, err := parseMark(tt.s, tt.f, tt.n); err == nil {
			t.Errorf("parseMark(%q, %v, %d) accepted it", tt.s, tt.f, tt.n)
		}
	}
}

func TestParseDefinition(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Definition
	}{
		{"( 2.5.4.4 NAME ( 'sn' 'surname' ) DESC 'RFC2256: last (family) name(s)' SUP name )",
			Definition{OID: "2.5.4.4", Names: []string{"sn", "surname"}, Sup: []string{"name"}}},
		{"( 1.2.840.113556.1.4.8 NAME 'userAccountControl' SYNTAX '1.3.6.1.4.1.1466.115.121.1.27' SINGLE-VALUE )",
			Definition{OID: "1.2.840.113556.1.4.8", Names: []string{"userAccountControl"}, Syntax: "1.3.6.1.4.1.1466.115.121.1.27", SingleValue: true}},
		{"( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
			Definition{OID: "2.5.4.41", Names: []string{"name"}, Syntax: "1.3.6.1.4.1.1466.115.121.1.15"}},
		{"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( businessCategory $ seeAlso ) )",
			Definition{OID: "2.5.6.9", Names: []string{"groupOfNames"}, Sup: []string{"top"}, Must: []string{"member", "cn"}, May: []string{"businessCategory", "seeAlso"}}},
		{"( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL AUX ( securityPrincipal $ mailRecipient ) MAY ( userPrincipalName ) )",
			Definition{OID: "1.2.840.113556.1.5.9", Names: []string{"user"}, Sup: []string{"organizationalPerson"}, Aux: []string{"securityPrincipal", "mailRecipient"}, May: []string{"userPrincipalName"}}},
	} {
		got, err := ParseDefinition(tt.in)
		if err != nil {
			t.Errorf("ParseDefinition(%q) = %v", tt.in, err)
			continue
		}
		if got.OID != tt.want.OID || strings.Join(got.Names, ",") != strings.Join(tt.want.Names, ",") ||
			strings.Join(got.Sup, ",") != strings.Join(tt.want.Sup, ",") || strings.Join(got.Aux, ",") != strings.Join(tt.want.Aux, ",") ||
			strings.Join(got.Must, ",") != strings.Join(tt.want.Must, ",") || strings.Join(got.May, ",") != strings.Join(tt.want.May, ",") ||
			got.Syntax != tt.want.Syntax || got.SingleValue != tt.want.SingleValue {
			t.Errorf("ParseDefinition(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "2.5.4.4 NAME 'sn'", "( 2.5.4.4 NAME 'sn )", "( 2.5.4.4 )", "( )"} {
		if _, err := ParseDefinition(bad); err == nil {
			t.Errorf("ParseDefinition(%q) accepted it", bad)
		}
	}
}

func FuzzParseMark(f *testing.F) {
	f.Add(mark{Flavor: FlavorOpenLDAP.String(), Cookies: [][]byte{[]byte("rid=000,csn=1")}, After: "a/user"}.String())
	f.Add(mark{Flavor: FlavorAD.String(), Cookies: [][]byte{{0x4d, 0x53, 0x44, 0x53}}}.String())
	f.Add("ldap1.e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range []Flavor{FlavorOpenLDAP, FlavorAD} {
			m, err := parseMark(s, fl, 1)
			if err != nil {
				continue
			}
			if len(m.Cookies) != 1 || m.Flavor != fl.String() {
				t.Errorf("parseMark(%q) = %+v", s, m)
			}
			if again, err := parseMark(m.String(), fl, 1); err != nil || again.After != m.After || !bytes.Equal(again.Cookies[0], m.Cookies[0]) {
				t.Errorf("parseMark(String()) of %+v = %+v, %v", m, again, err)
			}
		}
	})
}

func FuzzParseDefinition(f *testing.F) {
	f.Add("( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )")
	f.Add("( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( businessCategory $ seeAlso ) )")
	f.Add("( 1 NAME 'x' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} SINGLE-VALUE X-ORIGIN 'a' )")
	f.Add("( 1 NAME 'x")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDefinition(s)
		if err == nil && len(d.Names) == 0 {
			t.Errorf("ParseDefinition(%q) = %+v without a name", s, d)
		}
	})
}

// Binary attributes are shown as the base64 of their bytes even when the
// bytes happen to be valid UTF-8, as Entra shows them; the ID is the
// objectGUID's string form; domainFQDN is the Domain, else the DN's dc=.
func TestObjectBinaryAttributes(t *testing.T) {
	guid := []byte("abcdefghijklmnop") // 16 bytes that are valid UTF-8
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}
	e := ldap.NewEntry("CN=Ada,CN=Users,DC=test,DC=example,DC=com", map[string][]string{
		"objectGUID": {string(guid)}, "objectSid": {string(sid)}, "mS-DS-ConsistencyGuid": {string(guid)},
		"cn": {"Ada"}, "jpegPhoto": {"\xff\xd8\xff"}, "userAccountControl": {"514"},
	})
	o := object(FlavorAD, TypeUser, "", e)
	for name, want := range map[string]string{
		"objectGUID": "YWJjZGVmZ2hpamtsbW5vcA==", "mS-DS-ConsistencyGuid": "YWJjZGVmZ2hpamtsbW5vcA==",
		"objectSid": "AQEAAAAAAAUSAAAA", "jpegPhoto": "/9j/", "cn": "Ada", "accountDisabled": "True",
		"domainFQDN": "test.example.com", "objectId": adid.FormatGUID(guid),
	} {
		if got := o.Attrs[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if o.ID != adid.FormatGUID(guid) || !o.Disabled {
		t.Errorf("ID %s, Disabled %v; want %s, true", o.ID, o.Disabled, adid.FormatGUID(guid))
	}
	if got := object(FlavorOpenLDAP, TypeUser, "corp.example.net", e).Attrs["domainFQDN"]; len(got) != 1 || got[0] != "corp.example.net" {
		t.Errorf("domainFQDN with a Domain = %q, want it", got)
	}
}

// A search stopped at the server's size limit (the change feed's syncrepl
// search, which cannot be paged) says what to change on the server.
func TestSizeLimitSaysWhatToFix(t *testing.T) {
	s, err := New(Config{URL: "ldap://dc.example.com", BindDN: "cn=sync,dc=example,dc=com", Password: "pw",
		BaseDNs: []string{"dc=example,dc=com"}, Flavor: FlavorOpenLDAP})
	if err != nil {
		t.Fatal(err)
	}
	err = s.kinded(t.Context(), ldap.NewError(ldap.LDAPResultSizeLimitExceeded, errors.New("Size Limit Exceeded")), "read the change feed")
	want := `read the change feed stopped at dc.example.com's size limit: allow "cn=sync,dc=example,dc=com" to read every entry of the containers at once (OpenLDAP: limits dn.exact="cn=sync,dc=example,dc=com" size=unlimited)`
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), want) {
		t.Errorf("kinded(sizeLimitExceeded) = %v (kind %v), want %q", err, connector.KindOf(err), want)
	}
}

func TestCookieTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		cookie string
		want   time.Time
		ok     bool
	}{
		{"rid=000,csn=20261202140503.123456Z#000000#000#000000", at("2026-12-02T14:05:03.123456Z"), true},
		// Several providers: the oldest, whatever the order.
		{"rid=001,sid=001,csn=20261202140503.000000Z#000000#001#000000;20261202140401.500000Z#000000#002#000000", at("2026-12-02T14:04:01.5Z"), true},
		{"rid=000,csn=20261202140503.123456Z#000000#000#000000,extra=1", at("2026-12-02T14:05:03.123456Z"), true},
		{"", time.Time{}, false},
		{"rid=000", time.Time{}, false},
		{"rid=000,csn=", time.Time{}, false},
		{"rid=000,csn=yesterday#000000#000#000000", time.Time{}, false},
		{"rid=000,csn=20261202140503.123456Z#0;garbage", time.Time{}, false},
	} {
		got, ok := cookieTime([]byte(c.cookie))
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("cookieTime(%q) = %v, %v; want %v, %v", c.cookie, got, ok, c.want, c.ok)
		}
	}
}

func FuzzCookieTime(f *testing.F) {
	f.Add("rid=000,csn=20261202140503.123456Z#000000#000#000000")
	f.Add("rid=001,sid=001,csn=20261202140503.000000Z#000000#001#000000;20261202140401.500000Z#000000#002#000000")
	f.Add("csn=;;")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := cookieTime([]byte(s))
		if ok != !got.IsZero() {
			t.Errorf("cookieTime(%q) = %v, %v: a time exactly when ok", s, got, ok)
		}
		if ok && !strings.Contains(s, "csn=") {
			t.Errorf("cookieTime(%q) = %v without a csn", s, got)
		}
	})
}

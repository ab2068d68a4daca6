package adfake_test

import (
	"fmt"
	"testing"

	"provisiond/connector"
	"provisiond/connector/adfake"
	"provisiond/connector/connectortest"
)

func TestConformance(t *testing.T) {
	connectortest.RunSource(t, func(t *testing.T, d connectortest.SourceData) (connector.Source, map[string]string) {
		s := adfake.New("Active Directory", "objectGUID")
		ids := map[string]string{}
		for i, u := range d.Users {
			ids[u.Key] = fmt.Sprintf("0000000%d-aaaa-4bbb-8ccc-000000000000", i)
		}
		for i, g := range d.Groups {
			ids[g.Key] = fmt.Sprintf("0000000%d-gggg-4bbb-8ccc-000000000000", i)
		}
		for _, u := range d.Users {
			a := u.Attrs.Clone()
			a["userPrincipalName"] = []string{u.UserPrincipalName}
			s.Put(adfake.Entry{ID: ids[u.Key], DN: "CN=" + u.Key + ",CN=Users,DC=example,DC=com", Attrs: a,
				Disabled: !u.AccountEnabled, Deleted: u.SoftDeleted})
		}
		for _, g := range d.Groups {
			var members []string
			for _, m := range g.Members {
				members = append(members, ids[m])
			}
			s.Put(adfake.Entry{ID: ids[g.Key], DN: "CN=" + g.Key + ",OU=Groups,DC=example,DC=com", Group: true,
				Attrs: connector.Attributes{"displayName": {g.DisplayName}}, Members: members, Deleted: g.SoftDeleted})
		}
		return s, ids
	})
}

func TestGetByDN(t *testing.T) {
	s := adfake.New("Active Directory", "objectGUID")
	s.Put(adfake.Entry{ID: "g1", DN: "CN=AdeleV,CN=Users,DC=corp,DC=chicago,DC=com", Attrs: connector.Attributes{"sAMAccountName": {"adelev"}}})
	o, err := s.Get(t.Context(), "USER", "cn=adelev,cn=users,dc=corp,dc=chicago,dc=com")
	if err != nil || o.ID != "g1" {
		t.Fatalf("Get(DN in other case) = %+v, %v; want g1", o, err)
	}
	if _, err := s.Get(t.Context(), "group", "CN=AdeleV,CN=Users,DC=corp,DC=chicago,DC=com"); !connector.IsNotFound(err) {
		t.Errorf("Get(a user's DN as a group) = %v, want KindNotFound", err)
	}
}

// The fake shows AD's binary attributes as the LDAP source does: the
// base64 of their bytes (the objectGUID's is Entra's immutable id), while
// the ID stays the GUID's string form.
func TestBinaryAttributesAsBase64(t *testing.T) {
	s := adfake.New("Active Directory", "objectGUID")
	const guid = "d8d5f673-dfc5-4a2a-8fae-f12c8d81dee3"
	s.Put(adfake.Entry{ID: guid, DN: "CN=Admin,CN=Users,DC=test,DC=example,DC=com", Attrs: connector.Attributes{
		"objectSid": {"S-1-5-21-1196507667-2659355776-2500952641-500"}}})
	o, err := s.Get(t.Context(), "user", guid)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"objectGUID": "c/bV2MXfKkqPrvEsjYHe4w==", "objectSid": "AQUAAAAAAAUVAAAAE0JRR4CMgp5BghGV9AEAAA==",
		"objectId": guid, "domainFQDN": "test.example.com", "accountDisabled": "False",
	} {
		if got := o.Attrs[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", name, got, want)
		}
	}
	if o.ID != guid {
		t.Errorf("ID = %s, want %s", o.ID, guid)
	}
}

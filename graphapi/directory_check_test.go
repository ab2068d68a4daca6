package graphapi

import (
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/directory"
	"provisiond/store"
	"provisiond/store/memory"
)

// TestCloudSyncWritesWhatTheAPIAccepts: the directory target checks each
// value with CheckDirectoryValue, so cloud sync writes no user or group
// that POST /users or /groups would refuse, and says which property is
// wrong; on-premises properties, which the API does not write, are only
// kept free of control characters.
func TestCloudSyncWritesWhatTheAPIAccepts(t *testing.T) {
	tgt := directory.NewTarget(memory.New(), nil, nil).CheckingValues(CheckDirectoryValue)
	user := func(extra connector.Attributes) connector.Attributes {
		a := connector.Attributes{"UserPrincipalName": {"ada@contoso.test"}, "DisplayName": {"Ada"}, "Alias": {"ada"}}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	// An update checks what it writes, not what the object held before: a
	// user stored with a value the checks refuse can still be disabled.
	t.Run("an update of a user holding an old bad value", func(t *testing.T) {
		st := memory.New()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(st.CreateUser(t.Context(), store.User{ID: "old", UserPrincipalName: "old@contoso.test", AccountEnabled: true,
			Props: map[string]any{"displayName": "Old", "jobTitle": strings.Repeat("x", 300)}}))
		tgt := directory.NewTarget(st, nil, nil).CheckingValues(CheckDirectoryValue)
		must(tgt.Update(t.Context(), "User", "old", connector.Attributes{"AccountEnabled": {"False"}}))
		if err := tgt.Update(t.Context(), "User", "old", connector.Attributes{"DisplayName": {"O\x00ld"}}); connector.KindOf(err) != connector.KindInvalid {
			t.Errorf("an update writing a NUL = %v, want it refused", err)
		}
	})
	for _, tc := range []struct {
		name  string
		typ   string
		attrs connector.Attributes
		want  string // "" accepts; else a part of the error
	}{
		{"a plain user", "User", user(nil), ""},
		{"NUL in displayName", "User", user(connector.Attributes{"DisplayName": {"Ctl\x00Byte"}}), "'displayName'"},
		{"a 264-character displayName", "User", user(connector.Attributes{"DisplayName": {strings.Repeat("x", 264)}}), "'displayName'"},
		{"a space in the UPN", "User", user(connector.Attributes{"UserPrincipalName": {"space man@contoso.test"}}), "'userPrincipalName'"},
		{"a comma in the UPN", "User", user(connector.Attributes{"UserPrincipalName": {"weird,name@contoso.test"}}), "'userPrincipalName'"},
		// mailNickname may be Active Directory's sAMAccountName: spaces and accents pass.
		{"a space in mailNickname", "User", user(connector.Attributes{"UserPrincipalName": {"jose@contoso.test"}, "Alias": {"josé l"}}), ""},
		{"NUL in mailNickname", "User", user(connector.Attributes{"Alias": {"a\x00b"}}), "'mailNickname'"},
		{"a group named as AD names them", "Group", connector.Attributes{"DisplayName": {"Domain Users"}, "Alias": {"Domain Users"}}, ""},
		{"NUL in an on-premises property", "User", user(connector.Attributes{"OnPremisesSamAccountName": {"a\x00b"}}), "'onPremisesSamAccountName'"},
		{"a tab in an on-premises property", "User", user(connector.Attributes{"UserPrincipalName": {"tab@contoso.test"}, "OnPremisesDistinguishedName": {"cn=a\tb,dc=contoso,dc=test"}}), ""},
		{"one business phone", "User", user(connector.Attributes{"UserPrincipalName": {"phone@contoso.test"}, "TelephoneNumber": {"+1 555"}, "PreferredLanguage": {"en-US"}}), ""},
		{"two business phones", "User", user(connector.Attributes{"TelephoneNumber": {"+1 555", "+1 556"}}), "'businessPhones'"},
		{"a language that is not a code", "User", user(connector.Attributes{"PreferredLanguage": {"English (US)"}}), "'preferredLanguage'"},
		{"a plain group", "Group", connector.Attributes{"DisplayName": {"Staff"}, "Alias": {"staff"}}, ""},
		{"NUL in a group's displayName", "Group", connector.Attributes{"DisplayName": {"St\x00aff"}}, "'displayName'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tgt.Create(t.Context(), tc.typ, tc.attrs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Create = %v, want it accepted", err)
			case tc.want != "" && (connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Create = %v (kind %v), want an invalid object naming %s", err, connector.KindOf(err), tc.want)
			}
		})
	}
}

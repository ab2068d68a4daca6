package graphapi

import (
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/directory"
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
		{"a space in mailNickname", "User", user(connector.Attributes{"Alias": {"a b"}}), "'mailNickname'"},
		{"NUL in an on-premises property", "User", user(connector.Attributes{"OnPremisesSamAccountName": {"a\x00b"}}), "'onPremisesSamAccountName'"},
		{"a tab in an on-premises property", "User", user(connector.Attributes{"UserPrincipalName": {"tab@contoso.test"}, "OnPremisesDistinguishedName": {"cn=a\tb,dc=contoso,dc=test"}}), ""},
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

package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/directory"
)

// suiteNames maps the SCIM attribute names the target suite writes to
// the directory's own; names it lacks travel as open properties.
var suiteNames = map[string]string{
	"userName":                             "UserPrincipalName",
	"active":                               "AccountEnabled",
	"displayName":                          "DisplayName",
	"title":                                "JobTitle",
	"externalId":                           "OnPremisesImmutableId",
	"preferredLanguage":                    "PreferredLanguage",
	"name.givenName":                       "GivenName",
	"name.familyName":                      "Surname",
	`emails[type eq "work"].value`:         "Mail",
	`addresses[type eq "work"].locality`:   "City",
	`addresses[type eq "work"].postalCode`: "PostalCode",
	`phoneNumbers[type eq "work"].value`:   "TelephoneNumber",
	`phoneNumbers[type eq "mobile"].value`: "Mobile",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":     "Department",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "EmployeeId",
}

// renamed presents a target under the suite's attribute names.
type renamed struct {
	*directory.Target
	to, from map[string]string
}

func newRenamed(t *directory.Target) *renamed {
	r := &renamed{Target: t, to: suiteNames, from: map[string]string{}}
	for k, v := range suiteNames {
		r.from[v] = k
	}
	return r
}

func rename(a connector.Attributes, m map[string]string) connector.Attributes {
	if a == nil {
		return nil
	}
	out := connector.Attributes{}
	for k, v := range a {
		if n, ok := m[k]; ok {
			k = n
		}
		out[k] = v
	}
	return out
}

func (r *renamed) back(o connector.Object) connector.Object {
	o.Attrs = rename(o.Attrs, r.from)
	return o
}

func (r *renamed) backAll(objs []connector.Object) []connector.Object {
	for i := range objs {
		objs[i] = r.back(objs[i])
	}
	return objs
}

func (r *renamed) Get(ctx context.Context, typ, id string) (connector.Object, error) {
	o, err := r.Target.Get(ctx, typ, id)
	return r.back(o), err
}

func (r *renamed) Find(ctx context.Context, typ, attr, value string) ([]connector.Object, error) {
	if n, ok := r.to[attr]; ok {
		attr = n
	}
	objs, err := r.Target.Find(ctx, typ, attr, value)
	return r.backAll(objs), err
}

func (r *renamed) Create(ctx context.Context, typ string, attrs connector.Attributes) (connector.Object, error) {
	o, err := r.Target.Create(ctx, typ, rename(attrs, r.to))
	return r.back(o), err
}

func (r *renamed) Update(ctx context.Context, typ, id string, set connector.Attributes) error {
	return r.Target.Update(ctx, typ, id, rename(set, r.to))
}

func (r *renamed) List(ctx context.Context, typ, token string, size int) (connector.Page, error) {
	p, err := r.Target.List(ctx, typ, token, size)
	p.Objects = r.backAll(p.Objects)
	return p, err
}

func TestTargetConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			connectortest.RunTarget(t, func(t *testing.T) connector.Target {
				return newRenamed(directory.NewTarget(st, nil, nil))
			})
		})
	}
}

// TestTargetSynced: what a cloud-sync write leaves in the directory, as
// Graph properties: the on-premises ones, the sync stamps, the domain from
// the distinguished name.
func TestTargetSynced(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			tgt := directory.NewTarget(st, func() time.Time { return at }, nil)
			dn := "CN=Adele Vest,CN=Users,DC=corp,DC=chicago,DC=com"
			u, err := tgt.Create(ctx, "User", connector.Attributes{
				"UserPrincipalName": {"adelev@chicago.com"}, "AccountEnabled": {"True"}, "DisplayName": {"Adele Vest"},
				"OnPremisesDistinguishedName": {dn}, "OnPremiseSecurityIdentifier": {"S-1-5-21-1-2-3-1104"},
				"OnPremisesSamAccountName": {"adelev"}, "OnPremisesUserPrincipalName": {"adelev@chicago.com"},
				"OnPremisesImmutableId": {"Gx2iOASLIUuBM8qK5SxBcw=="}, "ProxyAddresses": {"SMTP:adelev@chicago.com"},
				"CommonName": {"Adele Vest"},
			})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := st.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"displayName": "Adele Vest", "onPremisesDistinguishedName": dn,
				"onPremisesSecurityIdentifier": "S-1-5-21-1-2-3-1104", "onPremisesSamAccountName": "adelev",
				"onPremisesUserPrincipalName": "adelev@chicago.com", "onPremisesImmutableId": "Gx2iOASLIUuBM8qK5SxBcw==",
				"proxyAddresses": []any{"SMTP:adelev@chicago.com"}, "CommonName": "Adele Vest",
				"onPremisesSyncEnabled": true, "onPremisesLastSyncDateTime": "2026-12-01T10:00:00Z",
				"onPremisesDomainName": "corp.chicago.com",
			}
			if d := cmp.Diff(want, rec.Props); d != "" {
				t.Errorf("stored properties (-want +got):\n%s", d)
			}
			if !directory.IsSynced(rec.Props) {
				t.Error("IsSynced = false for a user cloud sync wrote")
			}
			found, err := tgt.Find(ctx, "user", "OnPremisesImmutableId", "gx2ioaslIUuBM8qK5SxBcw==")
			if err != nil || len(found) != 1 || found[0].ID != u.ID {
				t.Errorf("Find(OnPremisesImmutableId) = %v, %v; want %s", found, err, u.ID)
			}
			if err := tgt.Delete(ctx, "User", u.ID); err != nil {
				t.Fatal(err)
			}
			if rec, err := st.GetUser(ctx, u.ID); err != nil || rec.Deleted == nil {
				t.Errorf("after Delete: %v, deleted %v; want a soft-deleted user", err, rec.Deleted)
			}
			if found, _ := tgt.Find(ctx, "user", "UserPrincipalName", "adelev@chicago.com"); len(found) != 0 {
				t.Errorf("Find after Delete = %v, want none", found)
			}
			// The same account back (restored in AD): the user is restored.
			back, err := tgt.Create(ctx, "User", connector.Attributes{"UserPrincipalName": {"adelev@chicago.com"},
				"OnPremisesImmutableId": {"Gx2iOASLIUuBM8qK5SxBcw=="}, "DisplayName": {"Adele Vest-Restored"}})
			if err != nil || back.ID != u.ID {
				t.Fatalf("Create of the returning account = %v, %v; want user %s restored", back.ID, err, u.ID)
			}
			if got, err := tgt.Get(ctx, "user", u.ID); err != nil || got.Attrs["DisplayName"][0] != "Adele Vest-Restored" {
				t.Errorf("restored user = %v, %v", got.Attrs, err)
			}
			// Another account with that name is a conflict.
			if err := tgt.Delete(ctx, "User", u.ID); err != nil {
				t.Fatal(err)
			}
			_, err = tgt.Create(ctx, "User", connector.Attributes{"UserPrincipalName": {"adelev@chicago.com"}, "OnPremisesImmutableId": {"other"}})
			if connector.KindOf(err) != connector.KindConflict {
				t.Errorf("Create of another account with a soft-deleted user's name = %v, want KindConflict", err)
			}
		})
	}
}

func TestTargetRefuses(t *testing.T) {
	ctx := t.Context()
	tgt := directory.NewTarget(backends[1].open(t), nil, nil)
	for _, tc := range []struct {
		what  string
		typ   string
		attrs connector.Attributes
	}{
		{"no UPN", "User", connector.Attributes{"DisplayName": {"x"}}},
		{"two UPNs", "User", connector.Attributes{"UserPrincipalName": {"a@x", "b@x"}}},
		{"bad boolean", "User", connector.Attributes{"UserPrincipalName": {"a@x"}, "AccountEnabled": {"yes"}}},
		{"two display names", "User", connector.Attributes{"UserPrincipalName": {"a@x"}, "DisplayName": {"A", "B"}}},
		{"group without name", "Group", connector.Attributes{"Description": {"x"}}},
		{"unknown type", "Printer", connector.Attributes{"DisplayName": {"x"}}},
		{"a SID that is neither", "User", connector.Attributes{"UserPrincipalName": {"a@x"}, "OnPremiseSecurityIdentifier": {"not a SID"}}},
		{"base64 that is no SID", "User", connector.Attributes{"UserPrincipalName": {"a@x"}, "OnPremiseSecurityIdentifier": {"AQU="}}},
	} {
		if _, err := tgt.Create(ctx, tc.typ, tc.attrs); connector.KindOf(err) != connector.KindInvalid {
			t.Errorf("Create(%s) = %v, want KindInvalid", tc.what, err)
		}
	}
}

// TestTargetSecurityIdentifier: cloud sync maps objectSid as the base64 of
// its bytes (seed example 2); Graph's onPremisesSecurityIdentifier is its
// S-1-5-21-... form; read back, the target shows the mapped form again, so
// an unchanged SID is no change.
func TestTargetSecurityIdentifier(t *testing.T) {
	const (
		mapped = "AQUAAAAAAAUVAAAAXAMNf/YJ8nmaUZofGG4BAA==" // seed example 2's objectSid
		graph  = "S-1-5-21-2131559260-2045905398-530207130-93720"
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			tgt := directory.NewTarget(st, nil, nil)
			u, err := tgt.Create(ctx, "User", connector.Attributes{"UserPrincipalName": {"adelev@chicago.com"}, "OnPremiseSecurityIdentifier": {mapped}})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := st.GetUser(ctx, u.ID)
			if err != nil || rec.Props["onPremisesSecurityIdentifier"] != graph {
				t.Errorf("onPremisesSecurityIdentifier = %v, %v; want %s", rec.Props["onPremisesSecurityIdentifier"], err, graph)
			}
			got, err := tgt.Get(ctx, "User", u.ID)
			if err != nil || len(got.Attrs["OnPremiseSecurityIdentifier"]) != 1 || got.Attrs["OnPremiseSecurityIdentifier"][0] != mapped {
				t.Errorf("read back: OnPremiseSecurityIdentifier = %v, %v; want the mapped %s", got.Attrs["OnPremiseSecurityIdentifier"], err, mapped)
			}
			g, err := tgt.Create(ctx, "Group", connector.Attributes{"DisplayName": {"Admins"}, "OnPremiseSecurityIdentifier": {graph}})
			if err != nil {
				t.Fatal(err)
			}
			if gr, err := st.GetGroup(ctx, g.ID); err != nil || gr.Props["onPremisesSecurityIdentifier"] != graph {
				t.Errorf("a group's SID given as S-1-5-...: stored %v, %v", gr.Props["onPremisesSecurityIdentifier"], err)
			}
		})
	}
}

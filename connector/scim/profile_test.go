package scim_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"provisiond/connector"
	"provisiond/connector/scim"
	"provisiond/connector/scim/scimtest"
)

func TestParseProfile(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     scim.Profile
		err      []string // substrings of the error
	}{
		{name: "nil", want: scim.Profile{PatchDialect: "rfc7644", UserUpdate: "patch", MembershipRead: "group"}},
		{
			name: "all set",
			settings: map[string]string{
				"ScimPatchDialect": "entra-legacy", "ScimUserUpdate": "put",
				"ScimMembershipRead": "userFilter", "ScimDiscovery": "off",
			},
			want: scim.Profile{PatchDialect: "entra-legacy", UserUpdate: "put", MembershipRead: "userFilter", NoDiscovery: true},
		},
		{
			name:     "values ignore case and spaces; empty is the default",
			settings: map[string]string{"ScimPatchDialect": " Entra-Legacy ", "ScimMembershipRead": "USERFILTER", "ScimUserUpdate": "", "ScimDiscovery": "On"},
			want:     scim.Profile{PatchDialect: "entra-legacy", UserUpdate: "patch", MembershipRead: "userFilter"},
		},
		{
			name:     "other names, and names in another case, are ignored",
			settings: map[string]string{"scimPatchDialect": "bogus", "SkipOutOfScopeDeletions": "True", "QuarantineTooManyDeletesThreshold": "500"},
			want:     scim.Profile{PatchDialect: "rfc7644", UserUpdate: "patch", MembershipRead: "group"},
		},
		{
			name:     "unknown value",
			settings: map[string]string{"ScimPatchDialect": "aadOptscim062020"},
			err:      []string{`ScimPatchDialect has unknown value "aadOptscim062020" (allowed: rfc7644, entra-legacy)`},
		},
		{
			name:     "every unknown value is listed",
			settings: map[string]string{"ScimUserUpdate": "post", "ScimMembershipRead": "members", "ScimDiscovery": "yes"},
			err: []string{
				`ScimUserUpdate has unknown value "post" (allowed: patch, put)`,
				`ScimMembershipRead has unknown value "members" (allowed: group, userFilter)`,
				`ScimDiscovery has unknown value "yes" (allowed: on, off)`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scim.ParseProfile(tc.settings)
			if len(tc.err) > 0 {
				if err == nil {
					t.Fatalf("ParseProfile = %+v, want an error", got)
				}
				for _, s := range tc.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseProfile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProfileSettings(t *testing.T) {
	got := scim.Profile{UserUpdate: scim.UserUpdatePut}.Settings()
	want := map[string]string{"ScimPatchDialect": "rfc7644", "ScimUserUpdate": "put", "ScimMembershipRead": "group", "ScimDiscovery": "on"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Settings (-want +got):\n%s", diff)
	}
	if _, err := scim.New(scim.Config{BaseAddress: "http://x", Profile: scim.Profile{PatchDialect: "odd"}}); err == nil ||
		!strings.Contains(err.Error(), "ScimPatchDialect") {
		t.Errorf("New(unknown dialect) = %v, want an error naming ScimPatchDialect", err)
	}
}

// FuzzParseProfile checks that ParseProfile never panics, that a profile it
// returns prints as settings that parse back to it, and that an error names
// the setting and its allowed values.
func FuzzParseProfile(f *testing.F) {
	f.Add("entra-legacy", "put", "userFilter", "off")
	f.Add("RFC7644", " PATCH ", "", "on")
	f.Add("x", "", "group", "maybe")
	f.Fuzz(func(t *testing.T, dialect, update, members, discovery string) {
		in := map[string]string{"ScimPatchDialect": dialect, "ScimUserUpdate": update, "ScimMembershipRead": members, "ScimDiscovery": discovery}
		p, err := scim.ParseProfile(in)
		if err != nil {
			if !strings.Contains(err.Error(), "allowed: ") || !strings.Contains(err.Error(), "Scim") {
				t.Fatalf("error %q does not list the allowed values", err)
			}
			return
		}
		again, err := scim.ParseProfile(p.Settings())
		if err != nil || again != p {
			t.Fatalf("round trip of %+v via %v = %+v, %v", p, p.Settings(), again, err)
		}
		if _, err := scim.New(scim.Config{BaseAddress: "http://x", Profile: p}); err != nil {
			t.Fatalf("New(parsed profile %+v) = %v", p, err)
		}
	})
}

// The Entra-legacy dialect sends Entra's default shapes.
func TestEntraLegacyPatchBodies(t *testing.T) {
	h := newHarness(t, scimtest.Options{}, nil)
	h.client = newClientConfig(t, scim.Config{BaseAddress: h.url, SecretToken: token, Profile: scim.Profile{PatchDialect: scim.DialectEntraLegacy}})
	ctx := t.Context()
	u, err := h.client.Create(ctx, "User", connector.Attributes{"userName": {"leg@example.com"}, "active": {"True"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := h.client.Create(ctx, "Group", connector.Attributes{"displayName": {"Legacy"}})
	if err != nil {
		t.Fatal(err)
	}
	n := len(h.srv.Requests())
	steps := []func() error{
		func() error {
			return h.client.Update(ctx, "User", u.ID, connector.Attributes{"active": {"False"}, "title": {"Dev"}, "nickName": nil})
		},
		func() error { return h.client.AddMembers(ctx, g.ID, []string{u.ID, "b"}) },
		func() error { return h.client.RemoveMembers(ctx, g.ID, []string{u.ID, "b"}) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	wants := []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"Replace","path":"active","value":"False"},{"op":"Remove","path":"nickName"},{"op":"Replace","path":"title","value":"Dev"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"Add","path":"members","value":[{"$ref":null,"value":"` + u.ID + `"},{"$ref":null,"value":"b"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"Remove","path":"members","value":[{"value":"` + u.ID + `"},{"value":"b"}]}]}`,
	}
	reqs := h.since(n)
	if len(reqs) != len(wants) {
		t.Fatalf("requests = %+v, want %d PATCHes", reqs, len(wants))
	}
	for i, w := range wants {
		if reqs[i].Method != "PATCH" {
			t.Errorf("request %d = %s %s", i, reqs[i].Method, reqs[i].Path)
		}
		if diff := cmp.Diff(mustJSON(t, w), mustJSON(t, reqs[i].Body)); diff != "" {
			t.Errorf("PATCH %d body (-want +got):\n%s", i, diff)
		}
	}
	if got := h.srv.Users()[0]["active"]; got != false {
		t.Errorf("stored active = %v, want false", got)
	}
	if got, _ := h.client.Get(ctx, "Group", g.ID); len(got.Attrs["members"]) != 0 {
		t.Errorf("members = %v, want none", got.Attrs["members"])
	}
}

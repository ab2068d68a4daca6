package scim

import (
	"fmt"
	"log/slog"
	"strings"
)

// Names of the job settings (a job's synchronizationJobSettings) that
// ParseProfile reads. Names are case-sensitive.
const (
	SettingPatchDialect   = "ScimPatchDialect"
	SettingUserUpdate     = "ScimUserUpdate"
	SettingMembershipRead = "ScimMembershipRead"
	SettingDiscovery      = "ScimDiscovery"
)

// PatchDialect is the shape of the PATCH requests the client sends.
type PatchDialect string

// PATCH dialects.
const (
	// DialectRFC7644 sends RFC 7644 shapes: lower-case ops, JSON booleans,
	// members removed with a filtered path (Entra's aadOptscim062020).
	DialectRFC7644 PatchDialect = "rfc7644"
	// DialectEntraLegacy sends what Entra sends by default today:
	// capitalised ops ("Add", "Replace", "Remove"), active as the string
	// "True" or "False", members removed by a value array and added with
	// "$ref": null.
	DialectEntraLegacy PatchDialect = "entra-legacy"
)

// UserUpdate is how the client updates users.
type UserUpdate string

// User update methods.
const (
	// UserUpdatePatch sends one PATCH per update.
	UserUpdatePatch UserUpdate = "patch"
	// UserUpdatePut reads the user, applies the changes to the whole
	// resource and PUTs it back (PUT-only servers such as AWS IAM Identity
	// Center's).
	UserUpdatePut UserUpdate = "put"
)

// MembershipRead is how the client reads a group's members.
type MembershipRead string

// Membership read strategies.
const (
	// MembershipFromGroup reads members from GET /Groups/{id}.
	MembershipFromGroup MembershipRead = "group"
	// MembershipByUserFilter is for servers that leave members out of
	// GET /Groups/{id}: members are the users that
	// GET /Users?filter=groups.value eq "<groupId>" returns; a server that
	// refuses that filter is asked GET /Groups/{id}?attributes=members.
	MembershipByUserFilter MembershipRead = "userFilter"
)

// Profile describes how a SCIM target differs from the RFC. The zero value
// is the default: RFC 7644 PATCHes for users and groups, members read from
// the group, and /ServiceProviderConfig honoured.
type Profile struct {
	// PatchDialect is the PATCH shape; "" means DialectRFC7644.
	PatchDialect PatchDialect
	// UserUpdate is PATCH or PUT for users; "" means UserUpdatePatch.
	UserUpdate UserUpdate
	// MembershipRead is where members are read; "" means
	// MembershipFromGroup.
	MembershipRead MembershipRead
	// NoDiscovery turns off reading /ServiceProviderConfig (ScimDiscovery
	// "off"): the client then assumes PATCH and filters work.
	NoDiscovery bool
}

// setting describes one job setting: its name, allowed values (the first is
// the default) and where the value goes.
type setting struct {
	name    string
	allowed []string
	get     func(Profile) string
	set     func(*Profile, string)
}

var settings = []setting{
	{
		name:    SettingPatchDialect,
		allowed: []string{string(DialectRFC7644), string(DialectEntraLegacy)},
		get:     func(p Profile) string { return string(p.PatchDialect) },
		set:     func(p *Profile, v string) { p.PatchDialect = PatchDialect(v) },
	},
	{
		name:    SettingUserUpdate,
		allowed: []string{string(UserUpdatePatch), string(UserUpdatePut)},
		get:     func(p Profile) string { return string(p.UserUpdate) },
		set:     func(p *Profile, v string) { p.UserUpdate = UserUpdate(v) },
	},
	{
		name:    SettingMembershipRead,
		allowed: []string{string(MembershipFromGroup), string(MembershipByUserFilter)},
		get:     func(p Profile) string { return string(p.MembershipRead) },
		set:     func(p *Profile, v string) { p.MembershipRead = MembershipRead(v) },
	},
	{
		name:    SettingDiscovery,
		allowed: []string{"on", "off"},
		get: func(p Profile) string {
			if p.NoDiscovery {
				return "off"
			}
			return "on"
		},
		set: func(p *Profile, v string) { p.NoDiscovery = v == "off" },
	},
}

// CheckSettingNames refuses a profile setting named in another case
// (scimPatchDialect), which ParseProfile would never read; it is for a
// change of the settings, not for a connector built from stored ones.
func CheckSettingNames(values map[string]string) error {
	for name := range values {
		for _, s := range settings {
			if name != s.name && strings.EqualFold(name, s.name) {
				return fmt.Errorf("the setting '%s' is spelt '%s': setting names are case-sensitive (one stored so before is removed with \"value\": null)", name, s.name)
			}
		}
	}
	return nil
}

// ParseProfile reads the Scim* settings from a job's settings (name →
// value). Names are case-sensitive and other names are ignored; values are
// matched ignoring case and surrounding spaces, and an empty value means the
// default. An unknown value is an error that names the setting and lists
// the allowed values; the returned Profile is canonical (see Settings).
func ParseProfile(values map[string]string) (Profile, error) {
	var (
		p    Profile
		errs []string
	)
	for _, s := range settings {
		raw, ok := values[s.name]
		v := strings.TrimSpace(raw)
		if !ok || v == "" {
			v = s.allowed[0]
		}
		canon := ""
		for _, a := range s.allowed {
			if strings.EqualFold(v, a) {
				canon = a
			}
		}
		if canon == "" {
			errs = append(errs, fmt.Sprintf("%s has unknown value %q (allowed: %s)", s.name, raw, strings.Join(s.allowed, ", ")))
			continue
		}
		s.set(&p, canon)
	}
	if errs != nil {
		return Profile{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return p.normalize(), nil
}

// Settings returns the profile as job settings, every name with its value;
// ParseProfile(p.Settings()) returns p with defaults spelled out.
func (p Profile) Settings() map[string]string {
	p = p.normalize()
	m := make(map[string]string, len(settings))
	for _, s := range settings {
		m[s.name] = s.get(p)
	}
	return m
}

// LogValue logs the profile as its settings.
func (p Profile) LogValue() slog.Value {
	p = p.normalize()
	attrs := make([]slog.Attr, 0, len(settings))
	for _, s := range settings {
		attrs = append(attrs, slog.String(s.name, s.get(p)))
	}
	return slog.GroupValue(attrs...)
}

// normalize spells out defaults for empty fields.
func (p Profile) normalize() Profile {
	if p.PatchDialect == "" {
		p.PatchDialect = DialectRFC7644
	}
	if p.UserUpdate == "" {
		p.UserUpdate = UserUpdatePatch
	}
	if p.MembershipRead == "" {
		p.MembershipRead = MembershipFromGroup
	}
	return p
}

// validate checks a profile given in code (Config.Profile).
func (p Profile) validate() error {
	p = p.normalize()
	var errs []string
	for _, s := range settings {
		v := s.get(p)
		known := false
		for _, a := range s.allowed {
			known = known || v == a
		}
		if !known {
			errs = append(errs, fmt.Sprintf("%s has unknown value %q (allowed: %s)", s.name, v, strings.Join(s.allowed, ", ")))
		}
	}
	if errs != nil {
		return fmt.Errorf("scim: profile: %s", strings.Join(errs, "; "))
	}
	return nil
}

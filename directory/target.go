package directory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"provisiond/adid"
	"provisiond/connector"
	"provisiond/ids"
	"provisiond/store"
)

// TargetName is the target system name in provisioning logs, as Entra
// cloud sync names the directory it writes.
const TargetName = "Azure Active Directory"

// Target writes the built-in directory for cloud-sync jobs (Active
// Directory or LDAP to the directory). Its attribute names are those of
// cloud sync's target schema (AccountEnabled, DisplayName, Alias,
// OnPremisesImmutableId, ...); each is stored as the Graph property it
// stands for, so /users and /groups show it. A name with no Graph property
// is kept under its own name, as an open property. Every object it writes
// is marked synced (onPremisesSyncEnabled, onPremisesLastSyncDateTime), and
// its on-premises properties can then no longer be changed through Graph.
//
// Writes go through the store, so they land in the change feed and reach
// the jobs that read the directory. Delete soft-deletes, as Entra does.
type Target struct {
	st    store.Store
	now   func() time.Time
	newID func() string
	check ValueCheck
}

// ValueCheck checks a value about to be written to the property name (as
// Graph names it) of a "User" or a "Group"; an error says what is wrong.
type ValueCheck func(objectType, name string, v any) error

var (
	_ connector.Target       = (*Target)(nil)
	_ connector.MemberWriter = (*Target)(nil)
	_ connector.Lister       = (*Target)(nil)
)

// NewTarget returns a Target over st; now stamps onPremisesLastSyncDateTime
// (nil: time.Now) and newID names new objects (nil: random UUIDs).
func NewTarget(st store.Store, now func() time.Time, newID func() string) *Target {
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = ids.NewUUID
	}
	return &Target{st: st, now: now, newID: newID}
}

// CheckingValues makes t refuse, as an invalid object, what check refuses
// (the API's own checks: cloud sync writes no value POST /users would
// refuse), and returns t.
func (t *Target) CheckingValues(check ValueCheck) *Target {
	t.check = check
	return t
}

// checked is t.check of the properties of ps a write sets (names), in
// name order: a value stored before is not this write's to refuse (an
// account must stay disable-able whatever else it holds).
func (t *Target) checked(objectType string, ps map[string]any, names map[string]bool) error {
	if t.check == nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		v, ok := ps[name]
		if !ok {
			continue // cleared
		}
		if err := t.check(objectType, name, v); err != nil {
			return invalid("%s", strings.TrimSuffix(err.Error(), "."))
		}
	}
	return nil
}

// Name implements connector.Target.
func (t *Target) Name() string { return TargetName }

// Test implements connector.Target: the store answers.
func (t *Target) Test(ctx context.Context) error {
	if _, err := t.st.ListUsers(ctx, store.ListOptions{Limit: 1}); err != nil {
		return &connector.Error{Kind: connector.KindTransient, Message: "the directory store does not answer: " + err.Error(), Err: err}
	}
	return nil
}

// prop is one target attribute and the Graph property it is stored as.
// An open property (open) is one the directory has no Graph property for.
type prop struct {
	name, graph       string
	multi, bool, open bool
	// sid: the mapping's value is a SID as Entra maps objectSid (the
	// base64 of its bytes); Graph's property holds its S-1-5-... form.
	sid bool
}

// The target attributes the directory knows, by object class. UserPrincipalName
// and AccountEnabled (users) and DisplayName (groups) are record fields.
var (
	userProps = props(
		prop{name: "AccountEnabled", graph: "accountEnabled", bool: true},
		prop{name: "UserPrincipalName", graph: "userPrincipalName"},
		prop{name: "DisplayName", graph: "displayName"},
		prop{name: "GivenName", graph: "givenName"},
		prop{name: "Surname", graph: "surname"},
		prop{name: "Mail", graph: "mail"},
		prop{name: "Alias", graph: "mailNickname"},
		prop{name: "JobTitle", graph: "jobTitle"},
		prop{name: "Department", graph: "department"},
		prop{name: "CompanyName", graph: "companyName"},
		prop{name: "EmployeeId", graph: "employeeId"},
		prop{name: "City", graph: "city"},
		prop{name: "State", graph: "state"},
		prop{name: "Country", graph: "country"},
		prop{name: "PostalCode", graph: "postalCode"},
		prop{name: "StreetAddress", graph: "streetAddress"},
		prop{name: "TelephoneNumber", graph: "businessPhones", multi: true},
		prop{name: "Mobile", graph: "mobilePhone"},
		prop{name: "PreferredLanguage", graph: "preferredLanguage"},
		prop{name: "UsageLocation", graph: "usageLocation"},
		prop{name: "ProxyAddresses", graph: "proxyAddresses", multi: true},
		prop{name: "OtherMails", graph: "otherMails", multi: true},
		prop{name: "OnPremisesDistinguishedName", graph: "onPremisesDistinguishedName"},
		prop{name: "OnPremiseSecurityIdentifier", graph: "onPremisesSecurityIdentifier", sid: true},
		prop{name: "OnPremisesSamAccountName", graph: "onPremisesSamAccountName"},
		prop{name: "OnPremisesUserPrincipalName", graph: "onPremisesUserPrincipalName"},
		prop{name: "OnPremisesImmutableId", graph: "onPremisesImmutableId"},
	)
	groupProps = props(
		prop{name: "DisplayName", graph: "displayName"},
		prop{name: "Description", graph: "description"},
		prop{name: "Alias", graph: "mailNickname"},
		prop{name: "Mail", graph: "mail"},
		prop{name: "MailEnabled", graph: "mailEnabled", bool: true},
		prop{name: "SecurityEnabled", graph: "securityEnabled", bool: true},
		prop{name: "ProxyAddresses", graph: "proxyAddresses", multi: true},
		prop{name: "OnPremisesDistinguishedName", graph: "onPremisesDistinguishedName"},
		prop{name: "OnPremiseSecurityIdentifier", graph: "onPremisesSecurityIdentifier", sid: true},
		prop{name: "OnPremisesSamAccountName", graph: "onPremisesSamAccountName"},
		prop{name: "OnPremisesImmutableId", graph: "onPremisesImmutableId"},
	)
)

// propTable finds a target attribute by its name or its Graph property's,
// case-insensitively, and a Graph property by its name.
type propTable struct {
	byName  map[string]prop // lower-case target or Graph name
	byGraph map[string]prop
}

func props(ps ...prop) propTable {
	t := propTable{byName: map[string]prop{}, byGraph: map[string]prop{}}
	for _, p := range ps {
		t.byName[strings.ToLower(p.name)] = p
		t.byName[strings.ToLower(p.graph)] = p
		t.byGraph[p.graph] = p
	}
	return t
}

// lookup returns the attribute name resolves to; an unknown name is an
// open property stored under its own name.
func (t propTable) lookup(name string) prop {
	if p, ok := t.byName[strings.ToLower(name)]; ok {
		return p
	}
	return prop{name: name, graph: name, open: true}
}

// Sync stamps: written by the target on every write, never mapped.
const (
	propSyncEnabled = "onPremisesSyncEnabled"
	propLastSync    = "onPremisesLastSyncDateTime"
	propDomainName  = "onPremisesDomainName"
)

// SyncedProperty reports whether a synced object's Graph property is
// mastered on premises, so Graph clients may not change it.
func SyncedProperty(objectClass connector.Class, graphName string) bool {
	switch graphName {
	case propSyncEnabled, propLastSync, propDomainName:
		return true
	case "usageLocation", "preferredLanguage":
		return false // cloud-mastered even on synced users, as in Entra
	}
	tbl := userProps
	if objectClass == connector.ClassGroup {
		tbl = groupProps
	}
	_, ok := tbl.byGraph[graphName]
	return ok
}

// IsSynced reports whether Graph properties props belong to an object a
// cloud-sync job writes.
func IsSynced(props map[string]any) bool { v, _ := props[propSyncEnabled].(bool); return v }

func (t *Target) class(objectType string) (connector.Class, error) {
	switch c := connector.ClassOf(t, objectType); c {
	case connector.ClassUser, connector.ClassGroup:
		return c, nil
	}
	return connector.ClassOther, unknownType(objectType)
}

// Get implements connector.Target. A soft-deleted object is KindNotFound:
// for cloud sync it is gone.
func (t *Target) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	c, err := t.class(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	if c == connector.ClassUser {
		u, err := t.user(ctx, id)
		if err != nil {
			return connector.Object{}, err
		}
		return showUser(u), nil
	}
	g, err := t.group(ctx, id)
	if err != nil {
		return connector.Object{}, err
	}
	return t.showGroup(ctx, g)
}

func (t *Target) user(ctx context.Context, id string) (store.User, error) {
	u, err := t.st.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Deleted != nil {
		return u, notFound(connector.TypeUser, id)
	}
	return u, err
}

func (t *Target) group(ctx context.Context, id string) (store.Group, error) {
	g, err := t.st.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && g.Deleted != nil {
		return g, notFound(connector.TypeGroup, id)
	}
	return g, err
}

// show renders stored Graph properties under their target names.
func show(tbl propTable, ps map[string]any, a connector.Attributes) {
	for k, v := range ps {
		switch k {
		case propSyncEnabled, propLastSync, propDomainName, "passwordProfile":
			continue
		}
		name := k
		p, ok := tbl.byGraph[k]
		if ok {
			name = p.name
		}
		vs := values(v)
		if p.sid {
			vs = sidsAsMapped(vs)
		}
		if len(vs) > 0 {
			a[name] = vs
		}
	}
}

func showUser(u store.User) connector.Object {
	a := connector.Attributes{}
	show(userProps, u.Props, a)
	a["UserPrincipalName"] = []string{u.UserPrincipalName}
	a["AccountEnabled"] = []string{boolString(u.AccountEnabled)}
	return connector.Object{ID: u.ID, Type: connector.TypeUser, Attrs: a, Disabled: !u.AccountEnabled}
}

func (t *Target) showGroup(ctx context.Context, g store.Group) (connector.Object, error) {
	a := connector.Attributes{}
	show(groupProps, g.Props, a)
	a["DisplayName"] = []string{g.DisplayName}
	members, err := t.st.ListMembers(ctx, g.ID)
	if err != nil {
		return connector.Object{}, err
	}
	if len(members) > 0 {
		a["members"] = members
	}
	return connector.Object{ID: g.ID, Type: connector.TypeGroup, Attrs: a}, nil
}

// Find implements connector.Target. UserPrincipalName is looked up by its
// index; other attributes are compared case-insensitively over the
// listing (matching attributes such as OnPremisesImmutableId; cycles match
// over List instead).
func (t *Target) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	c, err := t.class(objectType)
	if err != nil {
		return nil, err
	}
	if c == connector.ClassUser && userProps.lookup(attribute).graph == "userPrincipalName" {
		u, err := t.st.GetUserByUPN(ctx, value)
		if errors.Is(err, store.ErrNotFound) || err == nil && u.Deleted != nil {
			return []connector.Object{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []connector.Object{showUser(u)}, nil
	}
	tbl := userProps
	if c == connector.ClassGroup {
		tbl = groupProps
	}
	name := tbl.lookup(attribute).name
	hits := []connector.Object{}
	token := ""
	for {
		p, err := t.List(ctx, objectType, token, 500)
		if err != nil {
			return nil, err
		}
		for _, o := range p.Objects {
			if slices.ContainsFunc(o.Attrs[name], func(v string) bool { return strings.EqualFold(v, value) }) {
				hits = append(hits, o)
			}
		}
		if token = p.Next; token == "" {
			return hits, nil
		}
	}
}

// List implements connector.Lister: the objects that are not soft-deleted,
// ordered by id; the token is the last id of the previous page.
func (t *Target) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	if pageSize < 1 {
		return connector.Page{}, invalid("page size %d: want at least 1", pageSize)
	}
	c, err := t.class(objectType)
	if err != nil {
		return connector.Page{}, err
	}
	opt := store.ListOptions{After: token, Limit: pageSize + 1}
	if c == connector.ClassUser {
		users, err := t.st.ListUsers(ctx, opt)
		if err != nil {
			return connector.Page{}, err
		}
		return page(ctx, users, pageSize, func(_ context.Context, u store.User) (connector.Object, error) { return showUser(u), nil })
	}
	groups, err := t.st.ListGroups(ctx, opt)
	if err != nil {
		return connector.Page{}, err
	}
	return page(ctx, groups, pageSize, t.showGroup)
}

// Create implements connector.Target. A user needs UserPrincipalName, a
// group DisplayName; "members" is ignored (AddMembers sets them).
func (t *Target) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	c, err := t.class(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	now := t.now().UTC()
	if c == connector.ClassUser {
		u := store.User{ID: t.newID(), AccountEnabled: true, Props: map[string]any{}, Created: now.Truncate(time.Second)}
		if err := t.applyUser(&u, attrs); err != nil {
			return connector.Object{}, err
		}
		err := t.st.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			if restored, ok, rerr := t.restore(ctx, u, attrs); rerr != nil || ok {
				return restored, rerr
			}
		}
		if err != nil {
			return connector.Object{}, writeErr(err, "user", u.UserPrincipalName)
		}
		return showUser(u), nil
	}
	g := store.Group{ID: t.newID(), Props: map[string]any{"securityEnabled": true, "mailEnabled": false}, Created: now.Truncate(time.Second)}
	if err := t.applyGroup(&g, attrs); err != nil {
		return connector.Object{}, err
	}
	if err := t.st.CreateGroup(ctx, g); err != nil {
		return connector.Object{}, writeErr(err, "group", g.DisplayName)
	}
	return t.showGroup(ctx, g)
}

// restore brings back, as Entra does, the user cloud sync soft-deleted
// when the same on-premises account returns (restored in AD, back in
// scope): it holds the userPrincipalName and the same immutable id. ok is
// false when the name is held by anyone else.
func (t *Target) restore(ctx context.Context, u store.User, attrs connector.Attributes) (connector.Object, bool, error) {
	old, err := t.st.GetUserByUPN(ctx, u.UserPrincipalName)
	if err != nil {
		return connector.Object{}, false, nil // gone meanwhile: the conflict stands
	}
	id, _ := u.Props["onPremisesImmutableId"].(string)
	restorable := func(old store.User) bool {
		return old.Deleted != nil && IsSynced(old.Props) && id != "" && old.Props["onPremisesImmutableId"] == id
	}
	if !restorable(old) {
		return connector.Object{}, false, nil
	}
	// Checked again in the edit: the user may have changed meanwhile.
	errNot := errors.New("not restorable")
	restored, err := t.st.EditUser(ctx, old.ID, func(old *store.User) error {
		if !restorable(*old) {
			return errNot
		}
		old.Deleted = nil
		return t.applyUser(old, attrs)
	})
	var ce *connector.Error
	switch {
	case errors.Is(err, errNot) || errors.Is(err, store.ErrNotFound):
		return connector.Object{}, false, nil
	case errors.As(err, &ce):
		return connector.Object{}, false, err
	case err != nil:
		return connector.Object{}, false, writeErr(err, "user", old.UserPrincipalName)
	}
	return showUser(restored), true, nil
}

// Update implements connector.Target.
func (t *Target) Update(ctx context.Context, objectType, id string, set connector.Attributes) error {
	c, err := t.class(objectType)
	if err != nil {
		return err
	}
	if c == connector.ClassUser {
		return t.editUser(ctx, id, func(u *store.User) error { return t.applyUser(u, set) })
	}
	return t.editGroup(ctx, id, func(g *store.Group) error { return t.applyGroup(g, set) })
}

// editUser changes the live user id with fn in one store transaction
// (store.EditUser): an API write in between is not lost.
func (t *Target) editUser(ctx context.Context, id string, fn func(*store.User) error) error {
	var upn string
	var fnErr error // fn's, returned as is
	_, err := t.st.EditUser(ctx, id, func(u *store.User) error {
		if u.Deleted != nil {
			fnErr = notFound(connector.TypeUser, id)
		} else {
			fnErr = fn(u)
		}
		upn = u.UserPrincipalName
		return fnErr
	})
	switch {
	case fnErr != nil || err == nil:
		return fnErr
	case errors.Is(err, store.ErrNotFound):
		return notFound(connector.TypeUser, id)
	}
	return writeErr(err, "user", cmp.Or(upn, id))
}

// editGroup is editUser for a group.
func (t *Target) editGroup(ctx context.Context, id string, fn func(*store.Group) error) error {
	var name string
	var fnErr error // fn's, returned as is
	_, err := t.st.EditGroup(ctx, id, func(g *store.Group) error {
		if g.Deleted != nil {
			fnErr = notFound(connector.TypeGroup, id)
		} else {
			fnErr = fn(g)
		}
		name = g.DisplayName
		return fnErr
	})
	switch {
	case fnErr != nil || err == nil:
		return fnErr
	case errors.Is(err, store.ErrNotFound):
		return notFound(connector.TypeGroup, id)
	}
	return writeErr(err, "group", cmp.Or(name, id))
}

// Delete implements connector.Target: a soft delete, restorable as in
// Entra's recycle bin (a user comes back when Create meets it again).
func (t *Target) Delete(ctx context.Context, objectType, id string) error {
	c, err := t.class(objectType)
	if err != nil {
		return err
	}
	now := t.now().UTC()
	if c == connector.ClassUser {
		return t.editUser(ctx, id, func(u *store.User) error { u.Deleted = &now; return nil })
	}
	return t.editGroup(ctx, id, func(g *store.Group) error { g.Deleted = &now; return nil })
}

// AddMembers implements connector.MemberWriter.
func (t *Target) AddMembers(ctx context.Context, groupID string, memberIDs []string) error {
	for _, m := range memberIDs {
		if err := t.st.AddMember(ctx, groupID, m); err != nil && !errors.Is(err, store.ErrConflict) {
			return writeErr(err, "group", groupID)
		}
	}
	return nil
}

// RemoveMembers implements connector.MemberWriter.
func (t *Target) RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error {
	for _, m := range memberIDs {
		if err := t.st.RemoveMember(ctx, groupID, m); err != nil && !errors.Is(err, store.ErrNotFound) {
			return writeErr(err, "group", groupID)
		}
	}
	return nil
}

func (t *Target) applyUser(u *store.User, attrs connector.Attributes) error {
	if u.Props == nil {
		u.Props = map[string]any{}
	}
	written := map[string]bool{}
	for name, vs := range attrs {
		p := userProps.lookup(name)
		written[p.graph] = true
		switch p.graph {
		case "userPrincipalName":
			if len(vs) != 1 || vs[0] == "" {
				return invalid("UserPrincipalName must be one non-empty value, not %q", vs)
			}
			u.UserPrincipalName = vs[0]
		case "accountEnabled":
			if len(vs) == 0 {
				continue // an account is enabled or not; null keeps it
			}
			b, err := parseBool(name, vs)
			if err != nil {
				return err
			}
			u.AccountEnabled = b
		default:
			if err := setProp(u.Props, p, vs); err != nil {
				return err
			}
		}
	}
	if u.UserPrincipalName == "" {
		return invalid("a user needs a UserPrincipalName")
	}
	if err := t.checked("User", map[string]any{"userPrincipalName": u.UserPrincipalName}, written); err != nil {
		return err
	}
	if err := t.checked("User", u.Props, written); err != nil {
		return err
	}
	t.stamp(u.Props)
	return nil
}

func (t *Target) applyGroup(g *store.Group, attrs connector.Attributes) error {
	if g.Props == nil {
		g.Props = map[string]any{}
	}
	written := map[string]bool{}
	for name, vs := range attrs {
		if name == "members" {
			continue
		}
		p := groupProps.lookup(name)
		written[p.graph] = true
		if p.graph == "displayName" {
			if len(vs) != 1 || vs[0] == "" {
				return invalid("DisplayName must be one non-empty value, not %q", vs)
			}
			g.DisplayName = vs[0]
			continue
		}
		if err := setProp(g.Props, p, vs); err != nil {
			return err
		}
	}
	if g.DisplayName == "" {
		return invalid("a group needs a DisplayName")
	}
	if err := t.checked("Group", map[string]any{"displayName": g.DisplayName}, written); err != nil {
		return err
	}
	if err := t.checked("Group", g.Props, written); err != nil {
		return err
	}
	t.stamp(g.Props)
	return nil
}

// stamp marks an object as written by cloud sync now, and derives its DNS
// domain from its distinguished name's dc= parts.
func (t *Target) stamp(ps map[string]any) {
	ps[propSyncEnabled] = true
	ps[propLastSync] = t.now().UTC().Format(time.RFC3339)
	if dn, ok := ps["onPremisesDistinguishedName"].(string); ok {
		if d := adid.DomainOfDN(dn); d != "" {
			ps[propDomainName] = d
		}
	}
}

func setProp(ps map[string]any, p prop, vs []string) error {
	if p.sid {
		var err error
		if vs, err = sidsAsStored(p.name, vs); err != nil {
			return err
		}
	}
	switch {
	case len(vs) == 0:
		delete(ps, p.graph)
	case p.bool:
		b, err := parseBool(p.name, vs)
		if err != nil {
			return err
		}
		ps[p.graph] = b
	case len(vs) > 1 && !p.multi && !p.open:
		return invalid("%s takes one value, not %d (%q)", p.name, len(vs), vs)
	case p.multi || len(vs) > 1:
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		ps[p.graph] = l
	default:
		ps[p.graph] = vs[0]
	}
	return nil
}

// sidsAsStored turns SIDs as mapped (the base64 of their bytes, as Entra
// imports objectSid; the S-1-5-... form is taken too) into Graph's
// onPremisesSecurityIdentifier form, S-1-5-21-....
func sidsAsStored(name string, vs []string) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		if _, err := adid.ParseSID(v); err == nil {
			out[i] = v
			continue
		}
		s, err := adid.SIDFromBase64(v)
		if err != nil {
			return nil, invalid("%s must be a security identifier, as the base64 of its bytes (objectSid as AD gives it) or as S-1-5-...: %v", name, err)
		}
		out[i] = s
	}
	return out, nil
}

// sidsAsMapped is the inverse of sidsAsStored, so that a stored SID
// compares equal to the mapping's value; what does not read as a SID is
// shown as stored.
func sidsAsMapped(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v
		if b, err := adid.SIDToBase64(v); err == nil {
			out[i] = b
		}
	}
	return out
}

func parseBool(name string, vs []string) (bool, error) {
	if len(vs) == 1 {
		switch strings.ToLower(vs[0]) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, invalid("%s must be True or False, not %q", name, vs)
}

// writeErr turns a store failure into a connector error.
func writeErr(err error, what, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrConflict):
		return &connector.Error{Kind: connector.KindConflict, Code: "EntryConflict",
			Message: fmt.Sprintf("another %s in the directory already has the unique value %q", what, name), Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &connector.Error{Kind: connector.KindNotFound, Message: fmt.Sprintf("%s %s not found", what, name), Err: err}
	}
	return &connector.Error{Kind: connector.KindTransient, Message: "directory store: " + err.Error(), Err: err}
}

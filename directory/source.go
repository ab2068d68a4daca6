package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"provisiond/connector"
	"provisiond/store"
)

// Name is the source system name in provisioning logs.
const Name = "Azure Active Directory"

// DefaultAppRoleID is the app role id of a plain assignment ("Default Access").
const DefaultAppRoleID = "00000000-0000-0000-0000-000000000000"

// AppRole is an app role of a non-gallery application.
type AppRole struct{ ID, DisplayName, Description string }

// NonGalleryAppRoles are the roles every instantiated non-gallery
// application has.
var NonGalleryAppRoles = []AppRole{
	{ID: "18d14569-c3bd-439b-9a66-3a2aee01d14f", DisplayName: "User", Description: "User"},
	{ID: "b9632174-c057-4f7e-951b-be3adc52bfe6", DisplayName: "msiam_access", Description: "msiam_access"},
}

// AppRoleName returns the display name of an app role id.
func AppRoleName(id string) string {
	for _, r := range NonGalleryAppRoles {
		if r.ID == id {
			return r.DisplayName
		}
	}
	if id == DefaultAppRoleID {
		return "Default Access"
	}
	return id
}

// Source reads the built-in directory for one service principal's jobs.
type Source struct {
	st   store.Store
	spID string
}

var (
	_ connector.Source          = (*Source)(nil)
	_ connector.Entitler        = (*Source)(nil)
	_ connector.StateAttributer = (*Source)(nil)
	_ connector.Lister          = (*Source)(nil)
	_ connector.ChangeFeed      = (*Source)(nil)
)

// NewSource returns a Source whose entitlements are assignments to spID.
func NewSource(st store.Store, spID string) *Source { return &Source{st: st, spID: spID} }

// Name implements connector.Source.
func (s *Source) Name() string { return Name }

// graphToEntra renames Graph user properties to the attribute names Entra
// provisioning uses.
var graphToEntra = map[string]string{
	"officeLocation": "physicalDeliveryOfficeName",
	"mobilePhone":    "mobile",
	"faxNumber":      "facsimileTelephoneNumber",
	"businessPhones": "telephoneNumber",
}

func notFound(typ, id string) error {
	return &connector.Error{Kind: connector.KindNotFound, Message: fmt.Sprintf("%s %s not found", typ, id)}
}

// Get implements connector.Source.
func (s *Source) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	switch {
	case strings.EqualFold(objectType, connector.TypeUser):
		u, err := s.st.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if u, err = s.st.GetUserByUPN(ctx, id); errors.Is(err, store.ErrNotFound) {
				return connector.Object{}, notFound(objectType, id)
			}
		}
		if err != nil {
			return connector.Object{}, err
		}
		ent, err := s.entitlement(ctx, u.ID, true)
		if err != nil {
			return connector.Object{}, err
		}
		return s.userObject(u, &ent), nil
	case strings.EqualFold(objectType, connector.TypeGroup):
		g, err := s.st.GetGroup(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return connector.Object{}, notFound(objectType, id)
		}
		if err != nil {
			return connector.Object{}, err
		}
		ent, err := s.entitlement(ctx, g.ID, false)
		if err != nil {
			return connector.Object{}, err
		}
		return s.groupObject(ctx, g, &ent)
	}
	return connector.Object{}, unknownType(objectType)
}

// List implements connector.Lister: users or groups ordered by id,
// soft-deleted ones included (as Get shows them, so a cycle sees the
// deletion), each as Get returns it. The token is the id of the last object
// of the previous page, so an object that exists for the whole listing is
// listed exactly once whatever else changes meanwhile. A page's
// entitlements cost two queries, not two or more per object.
func (s *Source) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	if pageSize < 1 {
		return connector.Page{}, invalid("page size %d: want at least 1", pageSize)
	}
	// One more than a page says whether another follows.
	opt := store.ListOptions{After: token, Limit: pageSize + 1, IncludeDeleted: true}
	switch {
	case strings.EqualFold(objectType, connector.TypeUser):
		users, err := s.st.ListUsers(ctx, opt)
		if err != nil {
			return connector.Page{}, err
		}
		return sourcePage(ctx, s, users, pageSize, true, func(u store.User) string { return u.ID },
			func(_ context.Context, u store.User, ent *connector.Entitlement) (connector.Object, error) {
				return s.userObject(u, ent), nil
			})
	case strings.EqualFold(objectType, connector.TypeGroup):
		groups, err := s.st.ListGroups(ctx, opt)
		if err != nil {
			return connector.Page{}, err
		}
		return sourcePage(ctx, s, groups, pageSize, false, func(g store.Group) string { return g.ID }, s.groupObject)
	}
	return connector.Page{}, unknownType(objectType)
}

// sourcePage shows the first pageSize records with their entitlements
// (through groups too for users); a record beyond them means another page
// follows the last one shown.
func sourcePage[R any](ctx context.Context, s *Source, recs []R, pageSize int, viaGroups bool, id func(R) string,
	show func(context.Context, R, *connector.Entitlement) (connector.Object, error)) (connector.Page, error) {
	shown := recs[:min(len(recs), pageSize)]
	ids := make([]string, len(shown))
	for i, r := range shown {
		ids[i] = id(r)
	}
	ents, err := s.entitlements(ctx, ids, viaGroups)
	if err != nil {
		return connector.Page{}, err
	}
	i := 0 // page shows the records in order, each once
	return page(ctx, recs, pageSize, func(ctx context.Context, r R) (connector.Object, error) {
		i++
		return show(ctx, r, &ents[i-1])
	})
}

// page shows the first pageSize records, in order; a record beyond them
// means another page follows the last one shown.
func page[R any](ctx context.Context, recs []R, pageSize int, show func(context.Context, R) (connector.Object, error)) (connector.Page, error) {
	shown := recs[:min(len(recs), pageSize)]
	p := connector.Page{Objects: make([]connector.Object, 0, len(shown))}
	for _, r := range shown {
		obj, err := show(ctx, r)
		if err != nil {
			return connector.Page{}, err
		}
		p.Objects = append(p.Objects, obj)
	}
	if len(recs) > pageSize {
		p.Next = p.Objects[pageSize-1].ID
	}
	return p, nil
}

// Head implements connector.ChangeFeed: the watermark of the newest change.
func (s *Source) Head(ctx context.Context) (string, error) {
	seq, err := s.st.LastChangeSeq(ctx)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(seq, 10), nil
}

// Changes implements connector.ChangeFeed over the store's change feed:
// the watermark is the seq of the last change returned, in decimal. A
// watermark the store never gave, or whose following changes were pruned,
// is KindInvalid, so the cycle starts over instead of skipping changes.
func (s *Source) Changes(ctx context.Context, watermark string, max int) ([]connector.Change, string, error) {
	if max < 1 {
		return nil, "", invalid("max %d: want at least 1", max)
	}
	after, err := parseWatermark(watermark)
	if err != nil {
		return nil, "", err
	}
	cs, err := s.relevantChanges(ctx, &after, max)
	if errors.Is(err, store.ErrChangesPruned) {
		return nil, "", invalid("watermark %s: the changes after it were pruned; run a full cycle", watermark)
	}
	if err != nil {
		return nil, "", err
	}
	if len(cs) == 0 {
		// Past the newest change: from another database, or one restored
		// from an older backup, whose future changes would be skipped.
		last, err := s.st.LastChangeSeq(ctx)
		if err != nil {
			return nil, "", err
		}
		if after > last {
			return nil, "", invalid("watermark %s is past the newest change (%d); run a full cycle", watermark, last)
		}
		if w := strconv.FormatInt(after, 10); after > 0 && w != watermark {
			return nil, w, nil // past changes of other applications alone
		}
		return nil, watermark, nil
	}
	out := make([]connector.Change, len(cs))
	for i, c := range cs {
		typ := connector.TypeUser
		if c.ObjectType == store.ChangeGroup {
			typ = connector.TypeGroup
		}
		out[i] = connector.Change{ObjectType: typ, ID: c.ObjectID, Deleted: c.Deleted}
	}
	return out, strconv.FormatInt(after, 10), nil // past the changes left out too
}

// relevantChanges reads up to max changes after *after that concern this
// source's jobs, leaving out those of other applications' assignments,
// and moves *after past every change it read.
func (s *Source) relevantChanges(ctx context.Context, after *int64, max int) ([]store.Change, error) {
	var out []store.Change
	for len(out) < max {
		cs, err := s.st.ListChanges(ctx, *after, max-len(out))
		if err != nil || len(cs) == 0 {
			return out, err
		}
		for _, c := range cs {
			if c.Resource == "" || c.Resource == s.spID {
				out = append(out, c)
			}
		}
		*after = cs[len(cs)-1].Seq
	}
	return out, nil
}

// parseWatermark reads a watermark Changes gave: a seq in canonical
// decimal (no sign, no leading zeros), or empty for the beginning.
func parseWatermark(w string) (int64, error) {
	if w == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(w, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != w {
		return 0, invalid("watermark %q: want the decimal change number a previous call returned, or empty to start from the beginning", w)
	}
	return n, nil
}

func invalid(format string, args ...any) error {
	return &connector.Error{Kind: connector.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

func unknownType(objectType string) error {
	return invalid("unknown object type %q (want User or Group)", objectType)
}

// userObject shows a user with its entitlement.
func (s *Source) userObject(u store.User, ent *connector.Entitlement) connector.Object {
	a := make(connector.Attributes, len(u.Props)+5) // the props and the five below
	for k, v := range u.Props {
		if n, ok := graphToEntra[k]; ok {
			k = n
		}
		if vs := values(v); len(vs) > 0 {
			a[k] = vs
		}
	}
	a["objectId"] = []string{u.ID}
	a["userPrincipalName"] = []string{u.UserPrincipalName}
	a["accountEnabled"] = []string{boolString(u.AccountEnabled)}
	a["IsSoftDeleted"] = []string{boolString(u.Deleted != nil)}
	if len(ent.Roles) > 0 {
		a["appRoleAssignments"] = ent.Roles
	}
	return connector.Object{ID: u.ID, Type: connector.TypeUser, Attrs: a,
		Disabled: !u.AccountEnabled, SoftDeleted: u.Deleted != nil, Entitlement: ent}
}

// groupObject shows a group with its members and entitlement.
func (s *Source) groupObject(ctx context.Context, g store.Group, ent *connector.Entitlement) (connector.Object, error) {
	a := connector.Attributes{}
	for k, v := range g.Props {
		if vs := values(v); len(vs) > 0 {
			a[k] = vs
		}
	}
	a["objectId"] = []string{g.ID}
	a["displayName"] = []string{g.DisplayName}
	a["IsSoftDeleted"] = []string{boolString(g.Deleted != nil)}
	members, err := s.st.ListMembers(ctx, g.ID)
	if err != nil {
		return connector.Object{}, err
	}
	if len(members) > 0 {
		a["members"] = members
	}
	return connector.Object{ID: g.ID, Type: connector.TypeGroup, Attrs: a, SoftDeleted: g.Deleted != nil, Entitlement: ent}, nil
}

// StateAttributes implements connector.StateAttributer: the attributes
// that carry an object's state, shown in the import step.
func (s *Source) StateAttributes(objectType string) []string {
	return []string{"accountEnabled", "IsSoftDeleted", "appRoleAssignments"}
}

// Entitlement implements connector.Entitler.
func (s *Source) Entitlement(ctx context.Context, objectType, id string) (connector.Entitlement, error) {
	return s.entitlement(ctx, id, strings.EqualFold(objectType, connector.TypeUser))
}

// entitlement collects assignments to the service principal held directly
// or, for users, through groups they are direct members of.
func (s *Source) entitlement(ctx context.Context, id string, viaGroups bool) (connector.Entitlement, error) {
	ents, err := s.entitlements(ctx, []string{id}, viaGroups)
	if err != nil {
		return connector.Entitlement{}, err
	}
	return ents[0], nil
}

// entitlements is entitlement for many objects, in two queries: their
// groups, then the assignments of them all and of their groups.
func (s *Source) entitlements(ctx context.Context, ids []string, viaGroups bool) ([]connector.Entitlement, error) {
	var groupsOf map[string][]string
	principals := slices.Clone(ids)
	if viaGroups {
		var err error
		if groupsOf, err = s.st.ListMemberOfAll(ctx, ids); err != nil {
			return nil, err
		}
		for _, gs := range groupsOf {
			principals = append(principals, gs...)
		}
	}
	held, err := s.st.ListAppRoleAssignmentsOfAll(ctx, principals)
	if err != nil {
		return nil, err
	}
	ents := make([]connector.Entitlement, len(ids))
	for i, id := range ids {
		ent := &ents[i]
		for _, p := range append([]string{id}, groupsOf[id]...) {
			for _, a := range held[p] {
				if a.ResourceID != s.spID {
					continue
				}
				ent.Assigned = true
				if name := AppRoleName(a.AppRoleID); !slices.Contains(ent.Roles, name) {
					ent.Roles = append(ent.Roles, name)
				}
			}
		}
	}
	return ents, nil
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// values renders a decoded JSON value as attribute values.
func values(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case bool:
		return []string{boolString(v)}
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, values(x)...)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

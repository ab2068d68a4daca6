package ldapsource

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"provisiond/adid"
	"provisiond/connector"
)

// Object type names the source reports (the templates' source object
// names); any case and the LDAP class names are accepted.
const (
	TypeUser  = "user"
	TypeGroup = "group"
)

// Source is an LDAP directory as a provisioning source.
type Source struct {
	cfg *parsed

	mu      sync.Mutex
	idle    []idleConn
	sweeper *time.Timer // closes idle connections (sweep)
	flavor  Flavor
	nc      string // AD: the domain's naming context (DirSync's base)

	lists  listings
	deltas deltaCache
}

var (
	_ connector.Source     = (*Source)(nil)
	_ connector.Lister     = (*Source)(nil)
	_ connector.ChangeFeed = (*Source)(nil)
	_ connector.Classifier = (*Source)(nil)
	_ connector.Watcher    = (*Source)(nil)
	_ connector.Discoverer = (*Source)(nil)

	_ connector.StateAttributer = (*Source)(nil)
)

// StateAttributes implements connector.StateAttributer: what the import
// step shows of an account's state, mapped or not, as cloud sync does.
func (s *Source) StateAttributes(objectType string) []string {
	if s.Class(objectType) == connector.ClassUser {
		return []string{"accountDisabled", "userAccountControl", "IsSoftDeleted"}
	}
	return []string{"IsSoftDeleted"}
}

// New checks c and returns a source; it connects only when first used.
func New(c Config) (*Source, error) {
	p, err := c.parse()
	if err != nil {
		return nil, err
	}
	return &Source{cfg: p, flavor: c.Flavor}, nil
}

// Name implements connector.Source.
func (s *Source) Name() string {
	if s.cfg.Name != "" {
		return s.cfg.Name
	}
	if s.cfg.Flavor == FlavorAD {
		return "Active Directory"
	}
	return s.cfg.u.Hostname()
}

// Class implements connector.Classifier.
func (s *Source) Class(objectType string) connector.Class {
	switch strings.ToLower(objectType) {
	case "user", "person", "inetorgperson", "organizationalperson":
		return connector.ClassUser
	case "group", "groupofnames", "groupofuniquenames":
		return connector.ClassGroup
	}
	return connector.ClassOther
}

// Flavor returns the server's flavor, reading the root DSE the first time.
func (s *Source) Flavor(ctx context.Context) (Flavor, error) {
	s.mu.Lock()
	f := s.flavor
	s.mu.Unlock()
	if f != FlavorAuto && (f != FlavorAD || s.namingContext() != "") {
		return f, nil
	}
	var dse *ldap.Entry
	err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"supportedCapabilities", "defaultNamingContext", "subschemaSubentry", "namingContexts"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return fmt.Errorf("the server has no root DSE")
		}
		dse = res.Entries[0]
		return nil
	})
	if err != nil {
		return FlavorAuto, err
	}
	if f == FlavorAuto {
		f = FlavorOpenLDAP
		// LDAP_CAP_ACTIVE_DIRECTORY_OID: AD and Samba say so.
		if slices.Contains(dse.GetAttributeValues("supportedCapabilities"), "1.2.840.113556.1.4.800") {
			f = FlavorAD
		}
	}
	s.mu.Lock()
	s.flavor, s.nc = f, dse.GetAttributeValue("defaultNamingContext")
	s.mu.Unlock()
	return f, nil
}

func (s *Source) namingContext() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nc
}

// kind is what the source knows of an object type on its flavor.
type kind struct {
	name   string // TypeUser or TypeGroup
	filter string // matches live objects of the type
}

func (s *Source) kindOf(ctx context.Context, objectType string) (kind, Flavor, error) {
	var k kind
	switch s.Class(objectType) {
	case connector.ClassUser:
		k.name = TypeUser
	case connector.ClassGroup:
		k.name = TypeGroup
	default:
		return k, 0, &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
			Message: fmt.Sprintf("%s has no object type %q; its types are user and group", s.Name(), objectType)}
	}
	f, err := s.Flavor(ctx)
	if err != nil {
		return k, f, err
	}
	k.filter = classFilter(f, k.name)
	return k, f, nil
}

func classFilter(f Flavor, typ string) string {
	switch {
	case f == FlavorAD && typ == TypeUser:
		return "(&(objectCategory=person)(objectClass=user))"
	case f == FlavorAD:
		return "(objectClass=group)"
	case typ == TypeUser:
		return "(|(objectClass=inetOrgPerson)(objectClass=organizationalPerson)(objectClass=person))"
	}
	return "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
}

// attributes is what every search asks for: the user attributes and the
// operational ones the source shows.
func attributes(f Flavor) []string {
	if f == FlavorAD {
		return []string{"*", "memberOf", "objectGUID", "objectSid"}
	}
	return []string{"*", "entryUUID", "memberOf"}
}

// Get implements connector.Source. id is an anchor (entryUUID, objectGUID)
// or a distinguished name, compared case-insensitively; the object's ID is
// always its anchor.
func (s *Source) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	k, f, err := s.kindOf(ctx, objectType)
	if err != nil {
		return connector.Object{}, err
	}
	e, err := s.lookup(ctx, f, k, id)
	if err != nil {
		return connector.Object{}, err
	}
	objs, err := s.objects(ctx, f, k.name, []*ldap.Entry{e})
	if err != nil {
		return connector.Object{}, err
	}
	return objs[0], nil
}

// lookup finds the entry of type k that id names: a DN (a base-scope
// search, which the server compares case-insensitively) under the bases,
// or an anchor under one of them.
func (s *Source) lookup(ctx context.Context, f Flavor, k kind, id string) (*ldap.Entry, error) {
	if strings.Contains(id, "=") {
		if _, err := ldap.ParseDN(id); err != nil {
			return nil, notFound(s, k.name, id, "is not a valid distinguished name")
		}
		if !s.inBases(id) {
			return nil, notFound(s, k.name, id, "is outside the containers the job reads")
		}
		es, err := s.search(ctx, ldap.NewSearchRequest(id, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, k.filter, attributes(f), nil))
		if connector.IsNotFound(err) || (err == nil && len(es) == 0) {
			return nil, notFound(s, k.name, id, "does not exist")
		}
		if err != nil {
			return nil, err
		}
		return es[0], nil
	}
	af, ok := anchorFilter(f, id)
	if !ok {
		return nil, notFound(s, k.name, id, "is neither an anchor nor a distinguished name")
	}
	for _, base := range s.cfg.bases {
		es, err := s.search(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
			"(&"+k.filter+af+")", attributes(f), nil))
		if err != nil {
			return nil, err
		}
		if len(es) > 0 {
			return es[0], nil
		}
	}
	return nil, notFound(s, k.name, id, "does not exist")
}

func notFound(s *Source, typ, id, why string) error {
	return &connector.Error{Kind: connector.KindNotFound, Code: CodeNotFound,
		Message: fmt.Sprintf("the %s %q %s in %s", typ, id, why, s.Name())}
}

// search runs one search (no paging) on a pooled connection.
func (s *Source) search(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	var out []*ldap.Entry
	err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		res, err := c.Search(req)
		if err != nil {
			return err
		}
		out = res.Entries
		return nil
	})
	return out, err
}

// inBases reports whether dn is one of the bases or under one.
func (s *Source) inBases(dn string) bool {
	n := normDN(dn)
	for _, b := range s.cfg.bases {
		nb := normDN(b)
		if n == nb || strings.HasSuffix(n, ","+nb) {
			return true
		}
	}
	return false
}

// normDN is dn in a form equal DNs share: attribute types and values
// lower-cased, no spaces around separators.
func normDN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var b strings.Builder
	for i, rdn := range p.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range rdn.Attributes {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.ToLower(a.Type))
			b.WriteByte('=')
			b.WriteString(ldap.EscapeDN(strings.ToLower(a.Value)))
		}
	}
	return b.String()
}

// anchorFilter is the filter that finds the object whose anchor is id, or
// false when id cannot be an anchor.
func anchorFilter(f Flavor, id string) (string, bool) {
	if f == FlavorAD {
		raw, err := adid.ParseGUID(id)
		if err != nil {
			return "", false
		}
		var b strings.Builder
		b.WriteString("(objectGUID=")
		for _, c := range raw {
			fmt.Fprintf(&b, "\\%02x", c)
		}
		b.WriteString(")")
		return b.String(), true
	}
	if _, err := adid.ParseGUID(id); err != nil { // entryUUID is an RFC 4122 UUID
		return "", false
	}
	return "(entryUUID=" + ldap.EscapeFilter(strings.ToLower(id)) + ")", true
}

// skipped are attributes never shown: secrets.
var skipped = map[string]bool{"userpassword": true, "unicodepwd": true, "ntsecuritydescriptor": true}

// objects converts entries of one type, resolving groups' member DNs to
// anchors in one pass.
func (s *Source) objects(ctx context.Context, f Flavor, typ string, es []*ldap.Entry) ([]connector.Object, error) {
	var anchors map[string]string
	if typ == TypeGroup {
		var dns []string
		for _, e := range es {
			dns = append(dns, e.GetEqualFoldAttributeValues("member")...)
			dns = append(dns, e.GetEqualFoldAttributeValues("uniqueMember")...)
		}
		var err error
		if anchors, err = s.resolve(ctx, f, dns); err != nil {
			return nil, err
		}
	}
	out := make([]connector.Object, 0, len(es))
	for _, e := range es {
		o := object(f, typ, s.cfg.Domain, e)
		if typ == TypeGroup {
			var members []string
			for _, dn := range append(e.GetEqualFoldAttributeValues("member"), e.GetEqualFoldAttributeValues("uniqueMember")...) {
				if a, ok := anchors[normDN(dn)]; ok && !slices.Contains(members, a) {
					members = append(members, a)
				}
			}
			if len(members) > 0 {
				o.Attrs["members"] = members
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// object converts one entry; members are left to objects. Binary
// attributes (objectGUID, objectSid, ...) are the base64 of their bytes,
// as Entra shows them; the ID stays the objectGUID's string form.
func object(f Flavor, typ, domain string, e *ldap.Entry) connector.Object {
	a := connector.Attributes{}
	var guid []byte
	for _, at := range e.Attributes {
		name := at.Name
		lower := strings.ToLower(name)
		if skipped[lower] {
			continue
		}
		if lower == "objectguid" && len(at.ByteValues) == 1 {
			guid = at.ByteValues[0]
		}
		vals := make([]string, 0, len(at.Values))
		for i, v := range at.Values {
			if binary[lower] || !utf8.ValidString(v) {
				v = b64(at.ByteValues[i]) // binary values travel as base64
			}
			vals = append(vals, v)
		}
		a[name] = vals
	}
	id := first(a, "entryUUID")
	if f == FlavorAD {
		id = adid.FormatGUID(guid)
	}
	if _, ok := a["distinguishedName"]; !ok {
		a["distinguishedName"] = []string{e.DN}
	}
	disabled := false
	if f == FlavorAD && typ == TypeUser {
		disabled = uacDisabled(first(a, "userAccountControl"))
	}
	a["objectId"] = []string{id}
	a["IsSoftDeleted"] = []string{"False"}
	if domain == "" {
		domain = domainOfDN(e.DN)
	}
	if domain != "" {
		a[AttrDomain] = []string{domain}
	}
	if typ == TypeUser {
		a["accountEnabled"] = []string{boolString(!disabled)}
		a["accountDisabled"] = []string{boolString(disabled)} // as cloud sync's import shows it
	}
	return connector.Object{ID: id, Type: typ, Attrs: a, Disabled: disabled}
}

// AttrDomain is the computed attribute that holds the directory's DNS
// domain: the job's Domain secret, else the entry's dc= components. It is
// what cloud sync's mappings call it, so expressions can read the domain
// (LDAP2AAD's uid@Domain user principal names).
const AttrDomain = "domainFQDN"

// domainOfDN is the DNS domain a DN's dc= components spell, or "".
func domainOfDN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	var parts []string
	for _, rdn := range p.RDNs {
		for _, at := range rdn.Attributes {
			if strings.EqualFold(at.Type, "dc") {
				parts = append(parts, at.Value)
			}
		}
	}
	return strings.Join(parts, ".")
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// resolve maps member DNs (normalised) to anchors, in batched searches
// under the bases; members outside them are not resolved.
func (s *Source) resolve(ctx context.Context, f Flavor, dns []string) (map[string]string, error) {
	out := map[string]string{}
	want := map[string]bool{}
	var uniq []string
	for _, dn := range dns {
		n := normDN(dn)
		if !want[n] && s.inBases(dn) {
			want[n] = true
			uniq = append(uniq, dn)
		}
	}
	attr, anchor := "entryDN", "entryUUID"
	if f == FlavorAD {
		attr, anchor = "distinguishedName", "objectGUID"
	}
	const batch = 200
	for len(uniq) > 0 {
		n := min(batch, len(uniq))
		var b strings.Builder
		b.WriteString("(|")
		for _, dn := range uniq[:n] {
			b.WriteString("(" + attr + "=" + ldap.EscapeFilter(dn) + ")")
		}
		b.WriteString(")")
		uniq = uniq[n:]
		for _, base := range s.cfg.bases {
			es, err := s.paged(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				b.String(), []string{anchor}, nil))
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				id := e.GetAttributeValue(anchor)
				if f == FlavorAD {
					id = adid.FormatGUID(e.GetRawAttributeValue(anchor))
				}
				out[normDN(e.DN)] = id
			}
		}
	}
	return out, nil
}

// paged runs a search with the paging control, all pages, on one
// connection.
func (s *Source) paged(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	var out []*ldap.Entry
	err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		res, err := c.SearchWithPaging(req, 500)
		if err != nil {
			return err
		}
		out = res.Entries
		return nil
	})
	return out, err
}

// first is the first value of name, or "".
func first(a connector.Attributes, name string) string {
	v, _ := a.Get(name)
	return v
}

// Package adfake is an in-memory directory shaped like Active Directory
// (or OpenLDAP) as the LDAP source connector presents it: object types
// "user" and "group", attributes under their LDAP names, the anchor
// (objectGUID) as the object id, Get by anchor or by distinguished name,
// group members as member anchors. It passes the source conformance suite
// and lets tests of cloud-sync jobs run without a directory server.
package adfake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"provisiond/adid"
	"provisiond/connector"
)

// Entry is one directory entry.
type Entry struct {
	// ID is the anchor (objectGUID, entryUUID).
	ID string
	// DN is the distinguished name.
	DN string
	// Group is true for a group, false for a user.
	Group bool
	// Attrs are the LDAP attributes (distinguishedName and the anchor are
	// added from DN and ID).
	Attrs connector.Attributes
	// Members are the anchors of a group's direct members.
	Members []string
	// Disabled (userAccountControl bit 2) and Deleted (a tombstone).
	Disabled, Deleted bool
}

// Source is the fake directory.
type Source struct {
	name, anchor string

	mu      sync.Mutex
	entries map[string]Entry // by ID
	changes []connector.Change
	testErr error
}

// FailTest makes Test fail with err (nil: succeed again), as a server
// that refuses the bind would.
func (s *Source) FailTest(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.testErr = err
}

// Test checks the connection, as validateCredentials asks.
func (s *Source) Test(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.testErr != nil {
		return &connector.Error{Kind: connector.KindUnauthorized, Message: s.testErr.Error(), Err: s.testErr}
	}
	return nil
}

var (
	_ connector.Source          = (*Source)(nil)
	_ connector.Lister          = (*Source)(nil)
	_ connector.ChangeFeed      = (*Source)(nil)
	_ connector.StateAttributer = (*Source)(nil)
	_ connector.Discoverer      = (*Source)(nil)
)

// New returns an empty directory named name (the provisioning logs'
// source system) whose anchor attribute is anchor ("objectGUID").
func New(name, anchor string) *Source {
	return &Source{name: name, anchor: anchor, entries: map[string]Entry{}}
}

// Name implements connector.Source.
func (s *Source) Name() string { return s.name }

// Put adds or replaces an entry and records the change.
func (s *Source) Put(e Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Attrs = e.Attrs.Clone()
	e.Members = slices.Clone(e.Members)
	s.entries[e.ID] = e
	s.changes = append(s.changes, connector.Change{ObjectType: typeOf(e), ID: e.ID})
}

// Modify sets attributes of an entry (a nil value clears one), as an LDAP
// modify does, and records the change.
func (s *Source) Modify(id string, set connector.Attributes) {
	s.mu.Lock()
	e, ok := s.entries[id]
	s.mu.Unlock()
	if !ok {
		panic("adfake: Modify of a missing entry " + id)
	}
	e.Attrs = e.Attrs.Clone()
	for k, v := range set {
		if len(v) == 0 {
			delete(e.Attrs, k)
		} else {
			e.Attrs[k] = slices.Clone(v)
		}
	}
	s.Put(e)
}

// Remove deletes an entry outright (no tombstone) and records it.
func (s *Source) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return
	}
	delete(s.entries, id)
	s.changes = append(s.changes, connector.Change{ObjectType: typeOf(e), ID: id, Deleted: true})
}

func typeOf(e Entry) string {
	if e.Group {
		return "group"
	}
	return "user"
}

// Get implements connector.Source: id is the anchor or the distinguished
// name (compared case-insensitively).
func (s *Source) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	group, err := isGroup(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		for _, c := range s.entries {
			if strings.EqualFold(c.DN, id) {
				e, ok = c, true
				break
			}
		}
	}
	if !ok || e.Group != group {
		return connector.Object{}, &connector.Error{Kind: connector.KindNotFound, Message: fmt.Sprintf("no %s %s in %s", objectType, id, s.name)}
	}
	return s.show(e), nil
}

func isGroup(objectType string) (bool, error) {
	switch {
	case strings.EqualFold(objectType, "user"):
		return false, nil
	case strings.EqualFold(objectType, "group"):
		return true, nil
	}
	return false, &connector.Error{Kind: connector.KindInvalid, Message: fmt.Sprintf("unknown object type %q (want user or group)", objectType)}
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// show presents an entry as the LDAP source does, with the computed
// attributes every source has (objectId, accountEnabled, IsSoftDeleted,
// domainFQDN from the DN's dc= parts); an objectGUID anchor and objectSid
// values given in their string forms are shown as the base64 of their
// bytes.
func (s *Source) show(e Entry) connector.Object {
	a := e.Attrs.Clone()
	a["distinguishedName"] = []string{e.DN}
	a[s.anchor] = []string{e.ID}
	if s.anchor == "objectGUID" {
		// The bytes' base64, as the LDAP source shows binary attributes.
		if id, ok := adid.ImmutableID(e.ID); ok {
			a[s.anchor] = []string{id}
		}
	}
	for i, v := range a["objectSid"] {
		if b, err := adid.SIDToBase64(v); err == nil {
			a["objectSid"] = slices.Clone(a["objectSid"])
			a["objectSid"][i] = b
		}
	}
	if d := adid.DomainOfDN(e.DN); d != "" {
		a["domainFQDN"] = []string{d}
	}
	a["objectId"] = []string{e.ID}
	a["IsSoftDeleted"] = []string{boolString(e.Deleted)}
	typ := "user"
	if e.Group {
		typ = "group"
		if len(e.Members) > 0 {
			a["members"] = slices.Clone(e.Members)
		}
	} else {
		a["accountEnabled"] = []string{boolString(!e.Disabled)}
		a["accountDisabled"] = []string{boolString(e.Disabled)}
	}
	return connector.Object{ID: e.ID, Type: typ, Attrs: a, Disabled: e.Disabled, SoftDeleted: e.Deleted}
}

// List implements connector.Lister, ordered by anchor.
func (s *Source) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	if pageSize < 1 {
		return connector.Page{}, &connector.Error{Kind: connector.KindInvalid, Message: fmt.Sprintf("page size %d: want at least 1", pageSize)}
	}
	group, err := isGroup(objectType)
	if err != nil {
		return connector.Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, e := range s.entries {
		if e.Group == group && id > token {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var p connector.Page
	for _, id := range ids[:min(len(ids), pageSize)] {
		p.Objects = append(p.Objects, s.show(s.entries[id]))
	}
	if len(ids) > pageSize {
		p.Next = ids[pageSize-1]
	}
	return p, nil
}

// Head implements connector.ChangeFeed.
func (s *Source) Head(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.Itoa(len(s.changes)), nil
}

// Changes implements connector.ChangeFeed: the watermark is the number of
// changes read, in decimal.
func (s *Source) Changes(ctx context.Context, watermark string, max int) ([]connector.Change, string, error) {
	if max < 1 {
		return nil, "", &connector.Error{Kind: connector.KindInvalid, Message: fmt.Sprintf("max %d: want at least 1", max)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if watermark != "" {
		var err error
		if n, err = strconv.Atoi(watermark); err != nil || n < 0 || n > len(s.changes) || strconv.Itoa(n) != watermark {
			return nil, "", &connector.Error{Kind: connector.KindInvalid, Message: fmt.Sprintf("watermark %q was never given", watermark)}
		}
	}
	end := min(len(s.changes), n+max)
	out := slices.Clone(s.changes[n:end])
	if len(out) == 0 {
		return nil, watermark, nil
	}
	return out, strconv.Itoa(end), nil
}

// StateAttributes implements connector.StateAttributer.
func (s *Source) StateAttributes(objectType string) []string {
	return []string{"accountDisabled", "userAccountControl", "IsSoftDeleted"}
}

// Discover implements connector.Discoverer: the attributes the entries of
// the type hold, as strings (multi-valued where an entry has several).
func (s *Source) Discover(ctx context.Context, objectType string) ([]connector.AttributeInfo, error) {
	group, err := isGroup(objectType)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range s.entries {
		if e.Group != group {
			continue
		}
		for k, v := range e.Attrs {
			seen[k] = seen[k] || len(v) > 1
		}
	}
	var out []connector.AttributeInfo
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, connector.AttributeInfo{Name: k, Type: "String", Multivalued: seen[k]})
	}
	return out, nil
}

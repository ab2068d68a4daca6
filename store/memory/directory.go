package memory

import (
	"context"
	"strings"

	"provisiond/store"
)

// userRec is a stored user: the record without Props, and Props as JSON.
type userRec struct {
	u     store.User
	props []byte
}

func newUserRec(u store.User) (userRec, error) {
	props, err := encode("props", u.Props)
	if err != nil {
		return userRec{}, err
	}
	u.Props, u.Created, u.Deleted = nil, norm(u.Created), normPtr(u.Deleted)
	return userRec{u: u, props: props}, nil
}

func (r userRec) user() (store.User, error) {
	u := r.u
	var err error
	u.Props, err = decode[map[string]any]("props", r.props)
	return u, err
}

// upnKey is the form userPrincipalNames are compared in.
func upnKey(upn string) string { return strings.ToLower(upn) }

// CreateUser implements store.Store.
func (s *Store) CreateUser(_ context.Context, u store.User) error {
	rec, err := newUserRec(u)
	if err != nil {
		return fail(err, "create user", u.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.users[u.ID]; taken {
		return fail(store.ErrConflict, "create user", u.ID)
	}
	if _, taken := s.upns[upnKey(u.UserPrincipalName)]; taken {
		return fail(store.ErrConflict, "create user", u.ID)
	}
	s.users[u.ID] = rec
	s.upns[upnKey(u.UserPrincipalName)] = u.ID
	s.record(store.ChangeUser, u.ID, false)
	return nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(_ context.Context, id string) (store.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.users[id]
	if !ok {
		return store.User{}, fail(store.ErrNotFound, "get user", id)
	}
	return rec.user()
}

// GetUserByUPN implements store.Store.
func (s *Store) GetUserByUPN(_ context.Context, upn string) (store.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.upns[upnKey(upn)]
	if !ok {
		return store.User{}, fail(store.ErrNotFound, "get user by upn", upn)
	}
	return s.users[id].user()
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(_ context.Context, u store.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateUser(u)
}

// EditUser implements store.Store: fn runs under the store's lock.
func (s *Store) EditUser(_ context.Context, id string, fn func(*store.User) error) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return store.User{}, fail(store.ErrNotFound, "edit user", id)
	}
	u, err := rec.user()
	if err != nil {
		return store.User{}, err
	}
	if err := fn(&u); err != nil {
		return store.User{}, err
	}
	u.ID = id
	if err := s.updateUser(u); err != nil {
		return store.User{}, err
	}
	return s.users[id].user()
}

// updateUser is UpdateUser with s.mu held.
func (s *Store) updateUser(u store.User) error {
	rec, err := newUserRec(u)
	if err != nil {
		return fail(err, "update user", u.ID)
	}
	old, ok := s.users[u.ID]
	if !ok {
		return fail(store.ErrNotFound, "update user", u.ID)
	}
	if owner, taken := s.upns[upnKey(u.UserPrincipalName)]; taken && owner != u.ID {
		return fail(store.ErrConflict, "update user", u.ID)
	}
	delete(s.upns, upnKey(old.u.UserPrincipalName))
	s.upns[upnKey(u.UserPrincipalName)] = u.ID
	s.users[u.ID] = rec
	s.record(store.ChangeUser, u.ID, false)
	return nil
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(_ context.Context, opt store.ListOptions) ([]store.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var recs []userRec
	for _, r := range s.users {
		if opt.IncludeDeleted || r.u.Deleted == nil {
			recs = append(recs, r)
		}
	}
	recs = page(recs, func(r userRec) string { return r.u.ID }, opt)
	out := make([]store.User, 0, len(recs))
	for _, r := range recs {
		u, err := r.user()
		if err != nil {
			return nil, fail(err, "list users")
		}
		out = append(out, u)
	}
	return out, nil
}

// PurgeUser implements store.Store.
func (s *Store) PurgeUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.users[id]
	if !ok {
		return fail(store.ErrNotFound, "purge user", id)
	}
	groups := s.groupsOf(id)
	delete(s.users, id)
	delete(s.upns, upnKey(rec.u.UserPrincipalName))
	s.forget(id)
	s.record(store.ChangeUser, id, true)
	for _, g := range groups {
		s.record(store.ChangeGroup, g, false)
	}
	return nil
}

// forget removes the memberships and assignments that name a purged user
// or group.
func (s *Store) forget(id string) {
	for _, ms := range s.members {
		delete(ms, id)
	}
	for aid, a := range s.assignments {
		if a.PrincipalID == id {
			delete(s.assignments, aid)
		}
	}
}

// groupRec is a stored group: the record without Props, and Props as JSON.
type groupRec struct {
	g     store.Group
	props []byte
}

func newGroupRec(g store.Group) (groupRec, error) {
	props, err := encode("props", g.Props)
	if err != nil {
		return groupRec{}, err
	}
	g.Props, g.Created, g.Deleted = nil, norm(g.Created), normPtr(g.Deleted)
	return groupRec{g: g, props: props}, nil
}

func (r groupRec) group() (store.Group, error) {
	g := r.g
	var err error
	g.Props, err = decode[map[string]any]("props", r.props)
	return g, err
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(_ context.Context, g store.Group) error {
	rec, err := newGroupRec(g)
	if err != nil {
		return fail(err, "create group", g.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.groups[g.ID]; taken {
		return fail(store.ErrConflict, "create group", g.ID)
	}
	s.groups[g.ID] = rec
	s.record(store.ChangeGroup, g.ID, false)
	return nil
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(_ context.Context, id string) (store.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.groups[id]
	if !ok {
		return store.Group{}, fail(store.ErrNotFound, "get group", id)
	}
	return rec.group()
}

// UpdateGroup implements store.Store.
func (s *Store) UpdateGroup(_ context.Context, g store.Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateGroup(g)
}

// EditGroup implements store.Store: fn runs under the store's lock.
func (s *Store) EditGroup(_ context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.groups[id]
	if !ok {
		return store.Group{}, fail(store.ErrNotFound, "edit group", id)
	}
	g, err := rec.group()
	if err != nil {
		return store.Group{}, err
	}
	if err := fn(&g); err != nil {
		return store.Group{}, err
	}
	g.ID = id
	if err := s.updateGroup(g); err != nil {
		return store.Group{}, err
	}
	return s.groups[id].group()
}

// updateGroup is UpdateGroup with s.mu held.
func (s *Store) updateGroup(g store.Group) error {
	rec, err := newGroupRec(g)
	if err != nil {
		return fail(err, "update group", g.ID)
	}
	if _, ok := s.groups[g.ID]; !ok {
		return fail(store.ErrNotFound, "update group", g.ID)
	}
	s.groups[g.ID] = rec
	s.record(store.ChangeGroup, g.ID, false)
	return nil
}

// ListGroups implements store.Store.
func (s *Store) ListGroups(_ context.Context, opt store.ListOptions) ([]store.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var recs []groupRec
	for _, r := range s.groups {
		if opt.IncludeDeleted || r.g.Deleted == nil {
			recs = append(recs, r)
		}
	}
	recs = page(recs, func(r groupRec) string { return r.g.ID }, opt)
	out := make([]store.Group, 0, len(recs))
	for _, r := range recs {
		g, err := r.group()
		if err != nil {
			return nil, fail(err, "list groups")
		}
		out = append(out, g)
	}
	return out, nil
}

// PurgeGroup implements store.Store.
func (s *Store) PurgeGroup(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[id]; !ok {
		return fail(store.ErrNotFound, "purge group", id)
	}
	s.record(store.ChangeGroup, id, true)
	for _, g := range s.groupsOf(id) {
		if g != id { // a group in itself is gone, not changed
			s.record(store.ChangeGroup, g, false)
		}
	}
	s.recordMemberUsers(id, "")
	delete(s.groups, id)
	delete(s.members, id)
	s.forget(id)
	return nil
}

// AddMember implements store.Store.
func (s *Store) AddMember(_ context.Context, groupID, memberID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[groupID]; !ok {
		return fail(store.ErrNotFound, "add member", groupID, memberID)
	}
	ms := s.members[groupID]
	if ms == nil {
		ms = set{}
		s.members[groupID] = ms
	}
	if ms[memberID] {
		return fail(store.ErrConflict, "add member", groupID, memberID)
	}
	ms[memberID] = true
	s.recordMembership(groupID, memberID)
	return nil
}

// RemoveMember implements store.Store.
func (s *Store) RemoveMember(_ context.Context, groupID, memberID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.members[groupID][memberID] {
		return fail(store.ErrNotFound, "remove member", groupID, memberID)
	}
	delete(s.members[groupID], memberID)
	s.recordMembership(groupID, memberID)
	return nil
}

// recordMembership records the changes of adding or removing a member.
func (s *Store) recordMembership(groupID, memberID string) {
	s.record(store.ChangeGroup, groupID, false)
	if _, ok := s.users[memberID]; ok {
		s.record(store.ChangeUser, memberID, false)
	}
}

// ListMembers implements store.Store.
func (s *Store) ListMembers(_ context.Context, groupID string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.members[groupID].sorted(), nil
}

// ListMemberOf implements store.Store.
func (s *Store) ListMemberOf(_ context.Context, memberID string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.groupsOf(memberID), nil
}

// ListMemberOfAll implements store.Store.
func (s *Store) ListMemberOfAll(_ context.Context, memberIDs []string) (map[string][]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string][]string{}
	for _, m := range memberIDs {
		if gs := s.groupsOf(m); len(gs) > 0 {
			out[m] = gs
		}
	}
	return out, nil
}

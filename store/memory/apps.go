package memory

import (
	"context"

	"provisiond/store"
)

// CreateServicePrincipal implements store.Store: both records or neither.
func (s *Store) CreateServicePrincipal(_ context.Context, app store.Application, sp store.ServicePrincipal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, spTaken := s.sps[sp.ID]
	_, spAppIDTaken := s.spByAppID[sp.AppID]
	_, appTaken := s.apps[app.ID]
	_, appAppIDTaken := s.appByAppID[app.AppID]
	if spTaken || spAppIDTaken || appTaken || appAppIDTaken {
		return fail(store.ErrConflict, "create service principal", sp.ID)
	}
	sp.Created, app.Created = norm(sp.Created), norm(app.Created)
	s.sps[sp.ID] = sp
	s.spByAppID[sp.AppID] = sp.ID
	s.apps[app.ID] = application{Application: app, spID: sp.ID}
	s.appByAppID[app.AppID] = app.ID
	return nil
}

// GetServicePrincipal implements store.Store.
func (s *Store) GetServicePrincipal(_ context.Context, id string) (store.ServicePrincipal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sp, ok := s.sps[id]
	if !ok {
		return store.ServicePrincipal{}, fail(store.ErrNotFound, "get service principal", id)
	}
	return sp, nil
}

// GetServicePrincipalByAppID implements store.Store.
func (s *Store) GetServicePrincipalByAppID(_ context.Context, appID string) (store.ServicePrincipal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.spByAppID[appID]
	if !ok {
		return store.ServicePrincipal{}, fail(store.ErrNotFound, "get service principal by app id", appID)
	}
	return s.sps[id], nil
}

// GetApplication implements store.Store.
func (s *Store) GetApplication(_ context.Context, id string) (store.Application, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	app, ok := s.apps[id]
	if !ok {
		return store.Application{}, fail(store.ErrNotFound, "get application", id)
	}
	return app.Application, nil
}

// ListServicePrincipals implements store.Store.
func (s *Store) ListServicePrincipals(_ context.Context, opt store.ListOptions) ([]store.ServicePrincipal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.ServicePrincipal, 0, len(s.sps))
	for _, sp := range s.sps {
		out = append(out, sp)
	}
	return page(out, func(sp store.ServicePrincipal) string { return sp.ID }, opt), nil
}

// DeleteServicePrincipal implements store.Store: with it go its
// application, owners, assignments to it, secrets and jobs (with their
// anchors and logs).
func (s *Store) DeleteServicePrincipal(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, ok := s.sps[id]
	if !ok {
		return fail(store.ErrNotFound, "delete service principal", id)
	}
	delete(s.sps, id)
	delete(s.spByAppID, sp.AppID)
	for appID, app := range s.apps {
		if app.spID == id {
			delete(s.apps, appID)
			delete(s.appByAppID, app.AppID)
		}
	}
	delete(s.owners, id)
	delete(s.secrets, id)
	for aid, a := range s.assignments {
		if a.ResourceID == id {
			delete(s.assignments, aid)
		}
	}
	for jid, rec := range s.jobs {
		if rec.j.ServicePrincipalID == id {
			s.deleteJob(jid)
		}
	}
	return nil
}

// AddOwner implements store.Store.
func (s *Store) AddOwner(_ context.Context, spID, ownerID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sps[spID]; !ok {
		return fail(store.ErrNotFound, "add owner", spID, ownerID)
	}
	owners := s.owners[spID]
	if owners == nil {
		owners = set{}
		s.owners[spID] = owners
	}
	if owners[ownerID] {
		return fail(store.ErrConflict, "add owner", spID, ownerID)
	}
	owners[ownerID] = true
	return nil
}

// RemoveOwner implements store.Store.
func (s *Store) RemoveOwner(_ context.Context, spID, ownerID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.owners[spID][ownerID] {
		return fail(store.ErrNotFound, "remove owner", spID, ownerID)
	}
	delete(s.owners[spID], ownerID)
	return nil
}

// ListOwners implements store.Store.
func (s *Store) ListOwners(_ context.Context, spID string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.owners[spID].sorted(), nil
}

// CreateAppRoleAssignment implements store.Store.
func (s *Store) CreateAppRoleAssignment(_ context.Context, a store.AppRoleAssignment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.assignments[a.ID]; taken {
		return fail(store.ErrConflict, "create app role assignment", a.ID)
	}
	for _, b := range s.assignments {
		if b.ResourceID == a.ResourceID && b.PrincipalID == a.PrincipalID && b.AppRoleID == a.AppRoleID {
			return fail(store.ErrConflict, "create app role assignment", a.ID)
		}
	}
	if _, ok := s.sps[a.ResourceID]; !ok {
		return fail(store.ErrNotFound, "create app role assignment", a.ID)
	}
	a.Created = norm(a.Created)
	s.assignments[a.ID] = a
	s.recordAssignment(a)
	return nil
}

// GetAppRoleAssignment implements store.Store.
func (s *Store) GetAppRoleAssignment(_ context.Context, id string) (store.AppRoleAssignment, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.assignments[id]
	if !ok {
		return store.AppRoleAssignment{}, fail(store.ErrNotFound, "get app role assignment", id)
	}
	return a, nil
}

// ListAppRoleAssignments implements store.Store.
func (s *Store) ListAppRoleAssignments(_ context.Context, resourceID string) ([]store.AppRoleAssignment, error) {
	return s.listAssignments(func(a store.AppRoleAssignment) bool { return a.ResourceID == resourceID }), nil
}

// ListAppRoleAssignmentsOf implements store.Store.
func (s *Store) ListAppRoleAssignmentsOf(_ context.Context, principalID string) ([]store.AppRoleAssignment, error) {
	return s.listAssignments(func(a store.AppRoleAssignment) bool { return a.PrincipalID == principalID }), nil
}

func (s *Store) listAssignments(keep func(store.AppRoleAssignment) bool) []store.AppRoleAssignment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.AppRoleAssignment
	for _, a := range s.assignments {
		if keep(a) {
			out = append(out, a)
		}
	}
	return page(out, func(a store.AppRoleAssignment) string { return a.ID }, store.ListOptions{})
}

// DeleteAppRoleAssignment implements store.Store.
func (s *Store) DeleteAppRoleAssignment(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assignments[id]
	if !ok {
		return fail(store.ErrNotFound, "delete app role assignment", id)
	}
	delete(s.assignments, id)
	s.recordAssignment(a)
	return nil
}

// ListAppRoleAssignmentsOfAll implements store.Store.
func (s *Store) ListAppRoleAssignmentsOfAll(_ context.Context, principalIDs []string) (map[string][]store.AppRoleAssignment, error) {
	want := map[string]bool{}
	for _, p := range principalIDs {
		want[p] = true
	}
	out := map[string][]store.AppRoleAssignment{}
	for _, a := range s.listAssignments(func(a store.AppRoleAssignment) bool { return want[a.PrincipalID] }) {
		out[a.PrincipalID] = append(out[a.PrincipalID], a)
	}
	return out, nil
}

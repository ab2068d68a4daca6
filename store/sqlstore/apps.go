package sqlstore

import (
	"context"
	"database/sql"

	"provisiond/store"
)

const spCols = `id, app_id, application_id, display_name, created`

func scanSP(sc interface{ Scan(...any) error }) (store.ServicePrincipal, error) {
	var (
		sp      store.ServicePrincipal
		created int64
	)
	if err := sc.Scan(&sp.ID, &sp.AppID, &sp.ApplicationID, &sp.DisplayName, &created); err != nil {
		return store.ServicePrincipal{}, err
	}
	sp.Created = fromMicros(created)
	return sp, nil
}

// CreateServicePrincipal implements store.Store. Both rows are inserted in
// one transaction; the application row points to the service principal so
// that deleting the latter removes both.
func (s *Store) CreateServicePrincipal(ctx context.Context, app store.Application, sp store.ServicePrincipal) error {
	err := s.inTx(ctx, func(w writeTx) error {
		_, err := w.exec(ctx, `INSERT INTO service_principals (`+spCols+`) VALUES (?, ?, ?, ?, ?)`,
			sp.ID, sp.AppID, sp.ApplicationID, sp.DisplayName, micros(sp.Created))
		if err != nil {
			return err
		}
		_, err = w.exec(ctx, `INSERT INTO applications (id, app_id, display_name, created, service_principal_id)
			VALUES (?, ?, ?, ?, ?)`,
			app.ID, app.AppID, app.DisplayName, micros(app.Created), sp.ID)
		return err
	})
	if err != nil {
		return s.fail(err, "create service principal", sp.ID)
	}
	return nil
}

// GetServicePrincipal implements store.Store.
func (s *Store) GetServicePrincipal(ctx context.Context, id string) (store.ServicePrincipal, error) {
	sp, err := s.getSP(ctx, `SELECT `+spCols+` FROM service_principals WHERE id = ?`, id)
	if err != nil {
		return store.ServicePrincipal{}, s.fail(err, "get service principal", id)
	}
	return sp, nil
}

// GetServicePrincipalByAppID implements store.Store.
func (s *Store) GetServicePrincipalByAppID(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	sp, err := s.getSP(ctx, `SELECT `+spCols+` FROM service_principals WHERE app_id = ?`, appID)
	if err != nil {
		return store.ServicePrincipal{}, s.fail(err, "get service principal by app id", appID)
	}
	return sp, nil
}

func (s *Store) getSP(ctx context.Context, query, key string) (store.ServicePrincipal, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, query)
	if err != nil {
		return store.ServicePrincipal{}, err
	}
	return scanSP(st.QueryRowContext(ctx, key))
}

// GetApplication implements store.Store.
func (s *Store) GetApplication(ctx context.Context, id string) (store.Application, error) {
	var (
		app     store.Application
		created int64
	)
	err := s.queryRow(ctx, []any{&app.ID, &app.AppID, &app.DisplayName, &created},
		`SELECT id, app_id, display_name, created FROM applications WHERE id = ?`, id)
	if err != nil {
		return store.Application{}, s.fail(err, "get application", id)
	}
	app.Created = fromMicros(created)
	return app, nil
}

// ListServicePrincipals implements store.Store.
func (s *Store) ListServicePrincipals(ctx context.Context, opt store.ListOptions) ([]store.ServicePrincipal, error) {
	q, args := page(`SELECT `+spCols+` FROM service_principals`, "", "id", opt, nil)
	rows, err := s.query(ctx, q, args...)
	sps, err := collect(rows, err, func(r *sql.Rows) (store.ServicePrincipal, error) { return scanSP(r) })
	if err != nil {
		return nil, s.fail(err, "list service principals")
	}
	return sps, nil
}

// DeleteServicePrincipal implements store.Store. Foreign keys cascade the
// delete to the application, owners, assignments, jobs (and through them
// anchors and logs) and secrets.
func (s *Store) DeleteServicePrincipal(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM service_principals WHERE id = ?`, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return s.fail(err, "delete service principal", id)
	}
	return nil
}

// AddOwner implements store.Store.
func (s *Store) AddOwner(ctx context.Context, spID, ownerID string) error {
	_, err := s.exec(ctx, `INSERT INTO sp_owners (service_principal_id, owner_id) VALUES (?, ?)`, spID, ownerID)
	if err != nil {
		return s.fail(err, "add owner", spID, ownerID)
	}
	return nil
}

// RemoveOwner implements store.Store.
func (s *Store) RemoveOwner(ctx context.Context, spID, ownerID string) error {
	res, err := s.exec(ctx, `DELETE FROM sp_owners WHERE service_principal_id = ? AND owner_id = ?`, spID, ownerID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return s.fail(err, "remove owner", spID, ownerID)
	}
	return nil
}

// ListOwners implements store.Store.
func (s *Store) ListOwners(ctx context.Context, spID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT owner_id FROM sp_owners WHERE service_principal_id = ? ORDER BY owner_id`, spID)
	ids, err := collect(rows, err, scanString)
	if err != nil {
		return nil, s.fail(err, "list owners", spID)
	}
	return ids, nil
}

const assignmentCols = `id, app_role_id, principal_id, principal_type, resource_id, created`

func scanAssignment(sc interface{ Scan(...any) error }) (store.AppRoleAssignment, error) {
	var (
		a       store.AppRoleAssignment
		created int64
	)
	if err := sc.Scan(&a.ID, &a.AppRoleID, &a.PrincipalID, &a.PrincipalType, &a.ResourceID, &created); err != nil {
		return store.AppRoleAssignment{}, err
	}
	a.Created = fromMicros(created)
	return a, nil
}

// CreateAppRoleAssignment implements store.Store. The foreign key on
// resource_id reports a missing resource; the unique key on (resource_id,
// principal_id, app_role_id) a duplicate grant.
func (s *Store) CreateAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		_, err := w.exec(ctx, `INSERT INTO app_role_assignments (`+assignmentCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			a.ID, a.AppRoleID, a.PrincipalID, a.PrincipalType, a.ResourceID, micros(a.Created))
		if err != nil {
			return err
		}
		return recordAssignment(ctx, w, a.PrincipalType, a.PrincipalID, a.ResourceID)
	})
	if err != nil {
		return s.fail(err, "create app role assignment", a.ID)
	}
	return nil
}

// GetAppRoleAssignment implements store.Store.
func (s *Store) GetAppRoleAssignment(ctx context.Context, id string) (store.AppRoleAssignment, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, `SELECT `+assignmentCols+` FROM app_role_assignments WHERE id = ?`)
	if err != nil {
		return store.AppRoleAssignment{}, s.fail(err, "get app role assignment", id)
	}
	a, err := scanAssignment(st.QueryRowContext(ctx, id))
	if err != nil {
		return store.AppRoleAssignment{}, s.fail(err, "get app role assignment", id)
	}
	return a, nil
}

// ListAppRoleAssignments implements store.Store.
func (s *Store) ListAppRoleAssignments(ctx context.Context, resourceID string) ([]store.AppRoleAssignment, error) {
	rows, err := s.query(ctx, `SELECT `+assignmentCols+` FROM app_role_assignments
		WHERE resource_id = ? ORDER BY id`, resourceID)
	as, err := collect(rows, err, func(r *sql.Rows) (store.AppRoleAssignment, error) { return scanAssignment(r) })
	if err != nil {
		return nil, s.fail(err, "list app role assignments", resourceID)
	}
	return as, nil
}

// ListAppRoleAssignmentsOf implements store.Store.
func (s *Store) ListAppRoleAssignmentsOf(ctx context.Context, principalID string) ([]store.AppRoleAssignment, error) {
	rows, err := s.query(ctx, `SELECT `+assignmentCols+` FROM app_role_assignments
		WHERE principal_id = ? ORDER BY id`, principalID)
	as, err := collect(rows, err, func(r *sql.Rows) (store.AppRoleAssignment, error) { return scanAssignment(r) })
	if err != nil {
		return nil, s.fail(err, "list app role assignments of", principalID)
	}
	return as, nil
}

// DeleteAppRoleAssignment implements store.Store.
func (s *Store) DeleteAppRoleAssignment(ctx context.Context, id string) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		var principalID, principalType, resourceID string
		err := w.tx.QueryRowContext(ctx, s.d.rebind(`DELETE FROM app_role_assignments WHERE id = ?
			RETURNING principal_id, principal_type, resource_id`), id).Scan(&principalID, &principalType, &resourceID)
		if err != nil {
			return err
		}
		return recordAssignment(ctx, w, principalType, principalID, resourceID)
	})
	if err != nil {
		return s.fail(err, "delete app role assignment", id)
	}
	return nil
}

// ListAppRoleAssignmentsOfAll implements store.Store.
func (s *Store) ListAppRoleAssignmentsOfAll(ctx context.Context, principalIDs []string) (map[string][]store.AppRoleAssignment, error) {
	out := map[string][]store.AppRoleAssignment{}
	err := queryMany(ctx, s, `SELECT `+assignmentCols+` FROM app_role_assignments WHERE principal_id IN (?*) ORDER BY principal_id, id`,
		nil, principalIDs, func(r *sql.Rows) error {
			a, err := scanAssignment(r)
			out[a.PrincipalID] = append(out[a.PrincipalID], a)
			return err
		})
	if err != nil {
		return nil, s.fail(err, "list app role assignments of all")
	}
	return out, nil
}

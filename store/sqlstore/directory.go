package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"provisiond/store"
)

// upnKey is the form userPrincipalNames are compared in.
func upnKey(upn string) string { return strings.ToLower(upn) }

const userCols = `id, upn, account_enabled, props, created, deleted`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var (
		u       store.User
		props   string
		created int64
		deleted sql.NullInt64
	)
	if err := sc.Scan(&u.ID, &u.UserPrincipalName, &u.AccountEnabled, &props, &created, &deleted); err != nil {
		return store.User{}, err
	}
	p, err := decodeProps(props)
	if err != nil {
		return store.User{}, err
	}
	u.Props, u.Created, u.Deleted = p, fromMicros(created), fromNullMicros(deleted)
	return u, nil
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	props, err := encodeProps(u.Props)
	if err != nil {
		return s.fail(err, "create user", u.ID)
	}
	err = s.directoryWrite(ctx, func(w writeTx) error {
		_, err := w.exec(ctx, `INSERT INTO users (id, upn, upn_key, account_enabled, props, created, deleted)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.UserPrincipalName, upnKey(u.UserPrincipalName), u.AccountEnabled, props,
			micros(u.Created), nullMicros(u.Deleted))
		if err != nil {
			return err
		}
		return record(ctx, w, store.ChangeUser, u.ID, false)
	})
	if err != nil {
		return s.fail(err, "create user", u.ID)
	}
	return nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.getUser(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
	if err != nil {
		return store.User{}, s.fail(err, "get user", id)
	}
	return u, nil
}

// GetUserByUPN implements store.Store.
func (s *Store) GetUserByUPN(ctx context.Context, upn string) (store.User, error) {
	u, err := s.getUser(ctx, `SELECT `+userCols+` FROM users WHERE upn_key = ?`, upnKey(upn))
	if err != nil {
		return store.User{}, s.fail(err, "get user by upn", upn)
	}
	return u, nil
}

func (s *Store) getUser(ctx context.Context, query, key string) (store.User, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, query)
	if err != nil {
		return store.User{}, err
	}
	return scanUser(st.QueryRowContext(ctx, key))
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	err := s.directoryWrite(ctx, func(w writeTx) error { return updateUser(ctx, w, u) })
	if err != nil {
		return s.fail(err, "update user", u.ID)
	}
	return nil
}

// EditUser implements store.Store: the user is read in the write's
// transaction, locked until it ends.
func (s *Store) EditUser(ctx context.Context, id string, fn func(*store.User) error) (store.User, error) {
	var u store.User
	err := s.directoryWrite(ctx, func(w writeTx) error {
		var err error
		q := s.d.rebind(`SELECT ` + userCols + ` FROM users WHERE id = ?` + s.d.lockRow)
		if u, err = scanUser(w.tx.QueryRowContext(ctx, q, id)); err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return errFromFn{err}
		}
		u.ID = id
		if err := updateUser(ctx, w, u); err != nil {
			return err
		}
		u, err = scanUser(w.tx.QueryRowContext(ctx, q, id)) // as stored: times in UTC, to the microsecond
		return err
	})
	var fe errFromFn
	if errors.As(err, &fe) {
		return store.User{}, fe.err
	}
	if err != nil {
		return store.User{}, s.fail(err, "edit user", id)
	}
	return u, nil
}

// updateUser stores u over its record in w, and records the change.
func updateUser(ctx context.Context, w writeTx, u store.User) error {
	props, err := encodeProps(u.Props)
	if err != nil {
		return err
	}
	res, err := w.exec(ctx, `UPDATE users SET upn = ?, upn_key = ?, account_enabled = ?, props = ?,
		created = ?, deleted = ? WHERE id = ?`,
		u.UserPrincipalName, upnKey(u.UserPrincipalName), u.AccountEnabled, props,
		micros(u.Created), nullMicros(u.Deleted), u.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return err
	}
	return record(ctx, w, store.ChangeUser, u.ID, false)
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, opt store.ListOptions) ([]store.User, error) {
	where := "deleted IS NULL"
	if opt.IncludeDeleted {
		where = ""
	}
	q, args := page(`SELECT `+userCols+` FROM users`, where, "id", opt, nil)
	rows, err := s.query(ctx, q, args...)
	us, err := collect(rows, err, func(r *sql.Rows) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, s.fail(err, "list users")
	}
	return us, nil
}

// PurgeUser implements store.Store.
func (s *Store) PurgeUser(ctx context.Context, id string) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		groups, err := groupsOf(ctx, w, id)
		if err != nil {
			return err
		}
		if err := purgeDirectoryObject(ctx, w, `DELETE FROM users WHERE id = ?`, id); err != nil {
			return err
		}
		if err := record(ctx, w, store.ChangeUser, id, true); err != nil {
			return err
		}
		return recordAll(ctx, w, store.ChangeGroup, groups)
	})
	if err != nil {
		return s.fail(err, "purge user", id)
	}
	return nil
}

// purgeDirectoryObject deletes a user or group with del and then the
// memberships and assignments that name it. Memberships of a group's own
// members go by cascade.
func purgeDirectoryObject(ctx context.Context, w writeTx, del, id string) error {
	res, err := w.exec(ctx, del, id)
	if err != nil {
		return err
	}
	if err := mustAffect(res); err != nil {
		return err
	}
	if _, err := w.exec(ctx, `DELETE FROM group_members WHERE member_id = ?`, id); err != nil {
		return err
	}
	_, err = w.exec(ctx, `DELETE FROM app_role_assignments WHERE principal_id = ?`, id)
	return err
}

const groupCols = `id, display_name, props, created, deleted`

func scanGroup(sc interface{ Scan(...any) error }) (store.Group, error) {
	var (
		g       store.Group
		props   string
		created int64
		deleted sql.NullInt64
	)
	if err := sc.Scan(&g.ID, &g.DisplayName, &props, &created, &deleted); err != nil {
		return store.Group{}, err
	}
	p, err := decodeProps(props)
	if err != nil {
		return store.Group{}, err
	}
	g.Props, g.Created, g.Deleted = p, fromMicros(created), fromNullMicros(deleted)
	return g, nil
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	props, err := encodeProps(g.Props)
	if err != nil {
		return s.fail(err, "create group", g.ID)
	}
	err = s.directoryWrite(ctx, func(w writeTx) error {
		_, err := w.exec(ctx, `INSERT INTO groups (id, display_name, props, created, deleted)
			VALUES (?, ?, ?, ?, ?)`,
			g.ID, g.DisplayName, props, micros(g.Created), nullMicros(g.Deleted))
		if err != nil {
			return err
		}
		return record(ctx, w, store.ChangeGroup, g.ID, false)
	})
	if err != nil {
		return s.fail(err, "create group", g.ID)
	}
	return nil
}

// GetGroup implements store.Store.
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	st, err := s.stmt(ctx, s.rdb, &s.rstmts, `SELECT `+groupCols+` FROM groups WHERE id = ?`)
	if err != nil {
		return store.Group{}, s.fail(err, "get group", id)
	}
	g, err := scanGroup(st.QueryRowContext(ctx, id))
	if err != nil {
		return store.Group{}, s.fail(err, "get group", id)
	}
	return g, nil
}

// UpdateGroup implements store.Store.
func (s *Store) UpdateGroup(ctx context.Context, g store.Group) error {
	err := s.directoryWrite(ctx, func(w writeTx) error { return updateGroup(ctx, w, g) })
	if err != nil {
		return s.fail(err, "update group", g.ID)
	}
	return nil
}

// EditGroup implements store.Store, as EditUser.
func (s *Store) EditGroup(ctx context.Context, id string, fn func(*store.Group) error) (store.Group, error) {
	var g store.Group
	err := s.directoryWrite(ctx, func(w writeTx) error {
		var err error
		q := s.d.rebind(`SELECT ` + groupCols + ` FROM groups WHERE id = ?` + s.d.lockRow)
		if g, err = scanGroup(w.tx.QueryRowContext(ctx, q, id)); err != nil {
			return err
		}
		if err := fn(&g); err != nil {
			return errFromFn{err}
		}
		g.ID = id
		if err := updateGroup(ctx, w, g); err != nil {
			return err
		}
		g, err = scanGroup(w.tx.QueryRowContext(ctx, q, id)) // as stored
		return err
	})
	var fe errFromFn
	if errors.As(err, &fe) {
		return store.Group{}, fe.err
	}
	if err != nil {
		return store.Group{}, s.fail(err, "edit group", id)
	}
	return g, nil
}

// updateGroup stores g over its record in w, and records the change.
func updateGroup(ctx context.Context, w writeTx, g store.Group) error {
	props, err := encodeProps(g.Props)
	if err != nil {
		return err
	}
	res, err := w.exec(ctx, `UPDATE groups SET display_name = ?, props = ?, created = ?, deleted = ?
		WHERE id = ?`,
		g.DisplayName, props, micros(g.Created), nullMicros(g.Deleted), g.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return err
	}
	return record(ctx, w, store.ChangeGroup, g.ID, false)
}

// ListGroups implements store.Store.
func (s *Store) ListGroups(ctx context.Context, opt store.ListOptions) ([]store.Group, error) {
	where := "deleted IS NULL"
	if opt.IncludeDeleted {
		where = ""
	}
	q, args := page(`SELECT `+groupCols+` FROM groups`, where, "id", opt, nil)
	rows, err := s.query(ctx, q, args...)
	gs, err := collect(rows, err, func(r *sql.Rows) (store.Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, s.fail(err, "list groups")
	}
	return gs, nil
}

// PurgeGroup implements store.Store.
func (s *Store) PurgeGroup(ctx context.Context, id string) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		groups, err := groupsOf(ctx, w, id)
		if err != nil {
			return err
		}
		users, err := memberUsers(ctx, w, id)
		if err != nil {
			return err
		}
		if err := purgeDirectoryObject(ctx, w, `DELETE FROM groups WHERE id = ?`, id); err != nil {
			return err
		}
		if err := record(ctx, w, store.ChangeGroup, id, true); err != nil {
			return err
		}
		if err := recordAll(ctx, w, store.ChangeGroup, groups); err != nil {
			return err
		}
		return recordAll(ctx, w, store.ChangeUser, users)
	})
	if err != nil {
		return s.fail(err, "purge group", id)
	}
	return nil
}

// AddMember implements store.Store. The foreign key on group_id reports a
// missing group.
func (s *Store) AddMember(ctx context.Context, groupID, memberID string) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		_, err := w.exec(ctx, `INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`, groupID, memberID)
		if err != nil {
			return err
		}
		return recordMembership(ctx, w, groupID, memberID)
	})
	if err != nil {
		return s.fail(err, "add member", groupID, memberID)
	}
	return nil
}

// RemoveMember implements store.Store.
func (s *Store) RemoveMember(ctx context.Context, groupID, memberID string) error {
	err := s.directoryWrite(ctx, func(w writeTx) error {
		res, err := w.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND member_id = ?`, groupID, memberID)
		if err == nil {
			err = mustAffect(res)
		}
		if err != nil {
			return err
		}
		return recordMembership(ctx, w, groupID, memberID)
	})
	if err != nil {
		return s.fail(err, "remove member", groupID, memberID)
	}
	return nil
}

// ListMembers implements store.Store.
func (s *Store) ListMembers(ctx context.Context, groupID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT member_id FROM group_members WHERE group_id = ? ORDER BY member_id`, groupID)
	ids, err := collect(rows, err, scanString)
	if err != nil {
		return nil, s.fail(err, "list members", groupID)
	}
	return ids, nil
}

// ListMemberOf implements store.Store.
func (s *Store) ListMemberOf(ctx context.Context, memberID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT group_id FROM group_members WHERE member_id = ? ORDER BY group_id`, memberID)
	ids, err := collect(rows, err, scanString)
	if err != nil {
		return nil, s.fail(err, "list member of", memberID)
	}
	return ids, nil
}

// ListMemberOfAll implements store.Store.
func (s *Store) ListMemberOfAll(ctx context.Context, memberIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := queryMany(ctx, s, `SELECT member_id, group_id FROM group_members WHERE member_id IN (?*) ORDER BY member_id, group_id`,
		nil, memberIDs, func(r *sql.Rows) error {
			var m, g string
			if err := r.Scan(&m, &g); err != nil {
				return err
			}
			out[m] = append(out[m], g)
			return nil
		})
	if err != nil {
		return nil, s.fail(err, "list member of all")
	}
	return out, nil
}

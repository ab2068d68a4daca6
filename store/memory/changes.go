package memory

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"provisiond/store"
)

// record appends a change to the feed and signals subscribers. The caller
// holds s.mu for writing and has checked everything that could fail, so
// the change lands with its write; subscribers reading the feed wait for
// the lock and so see it.
func (s *Store) record(typ, id string, deleted bool) { s.recordFor(typ, id, deleted, "") }

// recordFor is record of a change that concerns resource's jobs alone
// ("": every job).
func (s *Store) recordFor(typ, id string, deleted bool, resource string) {
	s.lastSeq++
	s.changes = append(s.changes, store.Change{
		Seq: s.lastSeq, ObjectType: typ, ObjectID: id, Deleted: deleted, At: norm(time.Now()), Resource: resource,
	})
	s.changed.Notify()
}

// recordMemberUsers records a change for each direct member of groupID
// that is a user, in id order, for resource's jobs ("": every job).
func (s *Store) recordMemberUsers(groupID, resource string) {
	for _, id := range s.members[groupID].sorted() {
		if _, ok := s.users[id]; ok {
			s.recordFor(store.ChangeUser, id, false, resource)
		}
	}
}

// groupsOf returns the groups id is a direct member of, in id order.
func (s *Store) groupsOf(id string) []string {
	of := set{}
	for g, ms := range s.members {
		if ms[id] {
			of[g] = true
		}
	}
	return of.sorted()
}

// principalType is the change type of an assignment's principal.
func principalType(a store.AppRoleAssignment) string {
	if strings.EqualFold(a.PrincipalType, store.ChangeGroup) {
		return store.ChangeGroup
	}
	return store.ChangeUser
}

// recordAssignment records the changes an assignment made or removed.
func (s *Store) recordAssignment(a store.AppRoleAssignment) {
	typ := principalType(a)
	s.recordFor(typ, a.PrincipalID, false, a.ResourceID)
	if typ == store.ChangeGroup {
		s.recordMemberUsers(a.PrincipalID, a.ResourceID)
	}
}

// ListChanges implements store.Store.
func (s *Store) ListChanges(_ context.Context, after int64, limit int) ([]store.Change, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if after+1 < s.prunedBefore {
		return nil, fail(store.ErrChangesPruned, "list changes", strconv.FormatInt(after, 10))
	}
	i, _ := slices.BinarySearchFunc(s.changes, after+1, func(c store.Change, seq int64) int {
		return cmp.Compare(c.Seq, seq)
	})
	out := s.changes[i:]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return slices.Clone(out), nil
}

// LastChangeSeq implements store.Store.
func (s *Store) LastChangeSeq(context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastSeq, nil
}

// PruneChanges implements store.Store.
func (s *Store) PruneChanges(_ context.Context, before int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prunedBefore = max(s.prunedBefore, min(before, s.lastSeq+1))
	i := 0
	for i < len(s.changes) && s.changes[i].Seq < s.prunedBefore {
		i++
	}
	// A copy, so the pruned changes' memory goes.
	s.changes = slices.Clone(s.changes[i:])
	return nil
}

// Subscribe implements store.Store.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.changed.Subscribe() }

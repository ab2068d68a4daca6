package memory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"provisiond/store"
)

// Store is an in-memory store.Store, safe for concurrent use. The zero
// value is not usable; call New.
type Store struct {
	mu sync.RWMutex

	users   map[string]userRec
	upns    map[string]string // lower-cased userPrincipalName → user id
	groups  map[string]groupRec
	members map[string]set // group id → member ids

	sps         map[string]store.ServicePrincipal
	spByAppID   map[string]string
	apps        map[string]application
	appByAppID  map[string]string
	owners      map[string]set // service principal id → owner ids
	assignments map[string]store.AppRoleAssignment

	jobs    map[string]jobRec
	secrets map[string][]byte                     // service principal id → sealed
	anchors map[string]map[anchorKey]store.Anchor // job id → anchors
	// anchorsVersion is AnchorsVersion's number, by job id.
	anchorsVersion map[string]int64
	escrows        map[string]map[anchorKey]store.Escrow // job id → escrows
	staged         map[string][]store.StagedDelete       // job id → staged deletes
	logs           map[string]store.ProvisioningLog

	// The change feed: changes in Seq order, the last Seq given and the
	// Seq below which changes were pruned.
	changes      []store.Change
	lastSeq      int64
	prunedBefore int64
	changed      store.Notifier

	keys     string               // the fingerprint ClaimKeys recorded
	usedOnce map[string]time.Time // one-time value → when its record expires
}

var _ store.Store = (*Store)(nil)

// application is an app registration with the service principal it lives
// and dies with.
type application struct {
	store.Application
	spID string
}

type anchorKey struct{ sourceType, sourceID string }

// set is a set of ids.
type set map[string]bool

// sorted returns the ids of s in order.
func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users: map[string]userRec{}, upns: map[string]string{}, groups: map[string]groupRec{},
		members: map[string]set{}, sps: map[string]store.ServicePrincipal{}, spByAppID: map[string]string{},
		apps: map[string]application{}, appByAppID: map[string]string{}, owners: map[string]set{},
		assignments: map[string]store.AppRoleAssignment{}, jobs: map[string]jobRec{},
		secrets: map[string][]byte{}, anchors: map[string]map[anchorKey]store.Anchor{}, anchorsVersion: map[string]int64{},
		escrows: map[string]map[anchorKey]store.Escrow{}, staged: map[string][]store.StagedDelete{},
		logs: map[string]store.ProvisioningLog{}, usedOnce: map[string]time.Time{},
	}
}

// Close implements store.Store; it keeps the data.
func (s *Store) Close() error { return nil }

// fail wraps a sentinel with the context "<op> <key>", as sqlstore does.
func fail(err error, op string, key ...string) error {
	if len(key) > 0 {
		op += " " + strings.Join(key, "/")
	}
	return fmt.Errorf("%s: %w", op, err)
}

// norm is t as a backend keeps it: UTC, to the microsecond.
func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := norm(*t)
	return &n
}

// encode and decode keep Props and job statuses as JSON, as sqlstore does,
// so that what comes back holds the types JSON decodes to and shares no
// memory with what went in.
func encode(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return b, nil
}

func decode[T any](what string, b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// cloneBytes copies b, keeping nil as nil.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// page orders items by id and applies opt's After and Limit.
func page[T any](items []T, id func(T) string, opt store.ListOptions) []T {
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	out := items[:0]
	for _, it := range items {
		if opt.After != "" && id(it) <= opt.After {
			continue
		}
		if opt.Limit > 0 && len(out) == opt.Limit {
			break
		}
		out = append(out, it)
	}
	return out
}

// ClaimKeys implements store.Store.
func (s *Store) ClaimKeys(_ context.Context, fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == "" {
		s.keys = fingerprint
	}
	if s.keys != fingerprint {
		return fmt.Errorf("claim keys: %w", store.ErrKeysDiffer)
	}
	return nil
}

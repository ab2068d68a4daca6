package jobs

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"

	"provisiond/connector"
	"provisiond/engine"
)

// maxListed caps how many target objects a cycle indexes to match
// against; a larger target is matched with one query per object instead.
// An indexed object costs about 100 bytes, whatever its attributes.
const maxListed = 2_000_000

// listedBudget is how many bytes of listed objects (ids, attribute names
// and values) a cycle keeps whole, so that reading or matching them costs
// no round trip; the objects past it are indexed only.
const listedBudget = 64 << 20

// listedTarget is a job's target read once at the start of a cycle and
// kept as an index from matching values to object ids, so that matching
// an object absent from the target costs no round trip, and, within
// listedBudget, as whole objects, so that reading or matching those costs
// none either. Past the budget its memory grows by a hundred bytes or so
// per object, not by the objects' size nor their members: a hit not kept
// whole is read from the target. A hit is kept only if it still has the
// value, so that objects written during the cycle (no longer kept whole)
// and the rare hash collision are answered as the target would. Objects
// the cycle creates or updates are indexed too.
// Objects created by others during the cycle are not seen: a create that
// collides with one is refused by the target, and the engine matches it
// again through Refresh.
type listedTarget struct {
	connector.Target
	members connector.MemberWriter
	seed    maphash.Seed
	attrs   map[string][]string // type → the attributes matching uses

	mu sync.Mutex
	// ids maps the hash of "type\x00attribute\x00lower-case value" to the
	// id of the first object indexed under it; more to the others.
	ids  map[uint64]string
	more map[uint64][]string
	n    int // objects listed
	// written holds the keys of values the cycle wrote.
	written map[uint64]struct{}
	// whole holds listed objects ("type\x00id") within listedBudget,
	// until the cycle writes them; size is their bytes.
	whole map[string]connector.Object
	size  int
}

// listTarget reads the matching values of every object of the types the
// rule maps. It returns the target itself when it cannot list, is too
// large, or cannot change membership (the engine asks for that by type
// assertion).
func listTarget(ctx context.Context, job *engine.Job) (connector.Target, error) {
	return listWithin(ctx, job, listedBudget)
}

// listWithin is listTarget keeping budget bytes of objects whole.
func listWithin(ctx context.Context, job *engine.Job, budget int) (connector.Target, error) {
	lister, canList := job.Target.(connector.Lister)
	mw, canMember := job.Target.(connector.MemberWriter)
	if !canList || !canMember {
		return job.Target, nil
	}
	lt := &listedTarget{Target: job.Target, members: mw, seed: maphash.MakeSeed(),
		ids: map[uint64]string{}, more: map[uint64][]string{}, attrs: map[string][]string{}, written: map[uint64]struct{}{},
		whole: map[string]connector.Object{}}
	for _, om := range job.Rule.Objects {
		if !om.Mapping.Enabled {
			continue
		}
		typ := strings.ToLower(om.Mapping.TargetObjectName)
		for _, m := range om.Matching {
			lt.attrs[typ] = append(lt.attrs[typ], m.Target)
		}
		token := ""
		for {
			page, err := lister.List(ctx, om.Mapping.TargetObjectName, token, cyclePage)
			if err != nil {
				return nil, err
			}
			for _, o := range page.Objects {
				if lt.n >= maxListed {
					return job.Target, nil
				}
				lt.n++
				lt.index(typ, o.ID, o.Attrs)
				if size := sizeOf(o); lt.size+size <= budget {
					lt.whole[typ+"\x00"+o.ID] = o
					lt.size += size
				}
			}
			if page.Next == "" {
				break
			}
			token = page.Next
		}
	}
	return lt, nil
}

// sizeOf is about how many bytes o's strings take.
func sizeOf(o connector.Object) int {
	n := len(o.ID) + len(o.Type)
	for k, vs := range o.Attrs {
		n += len(k) + 16
		for _, v := range vs {
			n += len(v) + 16
		}
	}
	return n
}

// drop forgets the whole object the cycle wrote: the target knows its
// state.
func (lt *listedTarget) drop(objectType, id string) {
	lt.mu.Lock()
	delete(lt.whole, strings.ToLower(objectType)+"\x00"+id)
	lt.mu.Unlock()
}

// Get implements connector.Target from memory when the object is kept
// whole.
func (lt *listedTarget) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	lt.mu.Lock()
	o, ok := lt.whole[strings.ToLower(objectType)+"\x00"+id]
	lt.mu.Unlock()
	if ok {
		return o, nil
	}
	return lt.Target.Get(ctx, objectType, id)
}

func (lt *listedTarget) key(typ, attribute, value string) uint64 {
	var h maphash.Hash
	h.SetSeed(lt.seed)
	h.WriteString(typ)
	h.WriteByte(0)
	h.WriteString(strings.ToLower(attribute))
	h.WriteByte(0)
	h.WriteString(strings.ToLower(value))
	return h.Sum64()
}

// wrote remembers the matching values the cycle wrote; lt.mu is held.
func (lt *listedTarget) wrote(typ string, attrs connector.Attributes) {
	for _, a := range lt.attrs[typ] {
		for _, v := range attrs[a] {
			lt.written[lt.key(typ, a, v)] = struct{}{}
		}
	}
}

// index records id under its values of the matching attributes; lt.mu is
// held, or lt not yet shared.
func (lt *listedTarget) index(typ, id string, attrs connector.Attributes) {
	for _, a := range lt.attrs[typ] {
		for _, v := range attrs[a] {
			k := lt.key(typ, a, v)
			switch first, ok := lt.ids[k]; {
			case !ok:
				lt.ids[k] = strings.Clone(id) // not the listing page's memory
			case first != id && !contains(lt.more[k], id):
				lt.more[k] = append(lt.more[k], strings.Clone(id))
			}
		}
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Find implements connector.Target from the index for matching attributes:
// the objects indexed under the value (from memory when kept whole, else
// read from the target) that still have it. Values compare case-insensitively, as SCIM servers compare
// userName and displayName.
func (lt *listedTarget) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	typ := strings.ToLower(objectType)
	indexed := false
	for _, a := range lt.attrs[typ] {
		indexed = indexed || strings.EqualFold(a, attribute)
	}
	if !indexed {
		return lt.Target.Find(ctx, objectType, attribute, value)
	}
	k := lt.key(typ, attribute, value)
	lt.mu.Lock()
	_, written := lt.written[k]
	var ids []string
	if first, ok := lt.ids[k]; ok {
		ids = append([]string{first}, lt.more[k]...)
	}
	lt.mu.Unlock()
	if written {
		return lt.Target.Find(ctx, objectType, attribute, value)
	}
	var hits []connector.Object
	for _, id := range ids {
		o, err := lt.Get(ctx, objectType, id)
		if connector.IsNotFound(err) {
			continue // deleted during the cycle
		}
		if err != nil {
			return nil, err
		}
		if hasValue(o.Attrs, attribute, value) {
			hits = append(hits, o)
		}
	}
	return hits, nil
}

// hasValue reports whether attrs hold value under attribute, both compared
// case-insensitively.
func hasValue(attrs connector.Attributes, attribute, value string) bool {
	for a, vs := range attrs {
		if strings.EqualFold(a, attribute) {
			for _, v := range vs {
				if strings.EqualFold(v, value) {
					return true
				}
			}
		}
	}
	return false
}

// Create implements connector.Target, remembering the values written, so
// that matching them again (SelectUniqueValue's next candidate, a replay)
// asks the target.
func (lt *listedTarget) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	o, err := lt.Target.Create(ctx, objectType, attrs)
	if err == nil {
		lt.mu.Lock()
		lt.wrote(strings.ToLower(objectType), attrs)
		lt.mu.Unlock()
	}
	return o, err
}

var _ engine.Snapshot = (*listedTarget)(nil)

// Refresh implements engine.Snapshot: matching the values in attrs asks
// the target from now on (another created an object with them since the
// listing: the engine's create was refused as a conflict).
func (lt *listedTarget) Refresh(objectType string, attrs connector.Attributes) {
	lt.mu.Lock()
	lt.wrote(strings.ToLower(objectType), attrs)
	lt.mu.Unlock()
}

// Update implements connector.Target, remembering the values set.
func (lt *listedTarget) Update(ctx context.Context, objectType, id string, set connector.Attributes) error {
	lt.drop(objectType, id)
	err := lt.Target.Update(ctx, objectType, id, set)
	if err == nil {
		lt.mu.Lock()
		lt.wrote(strings.ToLower(objectType), set)
		lt.mu.Unlock()
	}
	return err
}

// Delete implements connector.Target.
func (lt *listedTarget) Delete(ctx context.Context, objectType, id string) error {
	lt.drop(objectType, id)
	return lt.Target.Delete(ctx, objectType, id)
}

// AddMembers implements connector.MemberWriter.
func (lt *listedTarget) AddMembers(ctx context.Context, groupID string, memberIDs []string) error {
	lt.drop(connector.TypeGroup, groupID)
	return lt.members.AddMembers(ctx, groupID, memberIDs)
}

// RemoveMembers implements connector.MemberWriter.
func (lt *listedTarget) RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error {
	lt.drop(connector.TypeGroup, groupID)
	return lt.members.RemoveMembers(ctx, groupID, memberIDs)
}

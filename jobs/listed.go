package jobs

import (
	"context"
	"strings"
	"sync"

	"provisiond/connector"
	"provisiond/engine"
)

// maxListed caps how many target objects a cycle keeps in memory to match
// against; a larger target is matched with one query per object instead.
const maxListed = 200_000

// listedTarget is a job's target read once at the start of a cycle, so
// matching and reading an anchored object cost no round trip per object.
// Writes go to the target; an object written is dropped from memory, so
// later reads see the target's answer. Objects created by others during the
// cycle are not seen: a create that collides with one is refused by the
// target and retried by the next cycle.
type listedTarget struct {
	connector.Target
	members connector.MemberWriter

	mu   sync.Mutex
	byID map[string]connector.Object // "type\x00id"
	// byAttr maps "type\x00attribute\x00lower-case value" to object ids.
	byAttr map[string][]string
	attrs  map[string][]string // type → the attributes matching uses
}

// listTarget reads every object of the types the rule maps into memory.
// It returns the target itself when it cannot list, is too large, or
// cannot change membership (the engine asks for that by type assertion).
func listTarget(ctx context.Context, job *engine.Job) (connector.Target, error) {
	lister, canList := job.Target.(connector.Lister)
	mw, canMember := job.Target.(connector.MemberWriter)
	if !canList || !canMember {
		return job.Target, nil
	}
	lt := &listedTarget{Target: job.Target, members: mw, byID: map[string]connector.Object{},
		byAttr: map[string][]string{}, attrs: map[string][]string{}}
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
				if len(lt.byID) >= maxListed {
					return job.Target, nil
				}
				lt.put(typ, o)
			}
			if page.Next == "" {
				break
			}
			token = page.Next
		}
	}
	return lt, nil
}

func (lt *listedTarget) put(typ string, o connector.Object) {
	lt.byID[typ+"\x00"+o.ID] = o
	lt.index(typ, o.ID, o.Attrs)
}

// index records id under its values of the matching attributes.
func (lt *listedTarget) index(typ, id string, attrs connector.Attributes) {
	for _, a := range lt.attrs[typ] {
		for _, v := range attrs[a] {
			k := attrKey(typ, a, v)
			lt.byAttr[k] = append(lt.byAttr[k], id)
		}
	}
}

func attrKey(typ, attribute, value string) string {
	return typ + "\x00" + strings.ToLower(attribute) + "\x00" + strings.ToLower(value)
}

// drop forgets an object the cycle wrote: the target knows its state.
func (lt *listedTarget) drop(objectType, id string) {
	lt.mu.Lock()
	delete(lt.byID, strings.ToLower(objectType)+"\x00"+id)
	lt.mu.Unlock()
}

// Find implements connector.Target from memory for matching attributes.
// Values compare case-insensitively, as SCIM servers compare userName and
// displayName; an object written during the cycle is read again.
func (lt *listedTarget) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	typ := strings.ToLower(objectType)
	lt.mu.Lock()
	indexed := false
	for _, a := range lt.attrs[typ] {
		indexed = indexed || strings.EqualFold(a, attribute)
	}
	var hits []connector.Object
	fresh := true
	for _, id := range lt.byAttr[attrKey(typ, attribute, value)] {
		o, ok := lt.byID[typ+"\x00"+id]
		if !ok {
			fresh = false // written during the cycle: ask the target
			break
		}
		hits = append(hits, o)
	}
	lt.mu.Unlock()
	if !indexed || !fresh {
		return lt.Target.Find(ctx, objectType, attribute, value)
	}
	return hits, nil
}

// Get implements connector.Target from memory when the object was listed
// and not written since.
func (lt *listedTarget) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	lt.mu.Lock()
	o, ok := lt.byID[strings.ToLower(objectType)+"\x00"+id]
	lt.mu.Unlock()
	if ok {
		return o, nil
	}
	return lt.Target.Get(ctx, objectType, id)
}

// Create implements connector.Target. A created object was absent from
// the listing, so matching it again (a replay) asks the target.
func (lt *listedTarget) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	o, err := lt.Target.Create(ctx, objectType, attrs)
	if err == nil {
		lt.mu.Lock()
		lt.index(strings.ToLower(objectType), o.ID, attrs) // not in byID: Find asks the target
		lt.mu.Unlock()
	}
	return o, err
}

// Update implements connector.Target.
func (lt *listedTarget) Update(ctx context.Context, objectType, id string, set connector.Attributes) error {
	lt.drop(objectType, id)
	return lt.Target.Update(ctx, objectType, id, set)
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

package memtarget

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode"

	"provisiond/connector"
	"provisiond/ids"
)

// Op names a Target method, for failure injection and the call log.
type Op string

// The Target methods.
const (
	OpTest          Op = "Test"
	OpFind          Op = "Find"
	OpGet           Op = "Get"
	OpCreate        Op = "Create"
	OpUpdate        Op = "Update"
	OpDelete        Op = "Delete"
	OpAddMembers    Op = "AddMembers"
	OpRemoveMembers Op = "RemoveMembers"
	OpList          Op = "List"
)

// Call is one call made to a Target, with its arguments.
type Call struct {
	Op Op
	// Type is the object type as the caller named it.
	Type string
	// ID is the object (Get, Update, Delete) or group (AddMembers,
	// RemoveMembers) id.
	ID               string
	Attribute, Value string               // Find
	Attrs            connector.Attributes // Create, Update
	MemberIDs        []string             // AddMembers, RemoveMembers
	Token            string               // List
	PageSize         int                  // List
}

// Options configure a Target.
type Options struct {
	// Name is the system name; "memtarget" when empty.
	Name string
	// NewID makes object ids; ids.NewUUID when nil.
	NewID func() string
}

// Target is an in-memory connector.Target, safe for concurrent use.
type Target struct {
	name  string
	newID func() string

	mu      sync.Mutex
	objects map[string]*object
	// userNames maps each user's folded userName to its id, so that
	// checking a userName is free costs no scan of every user.
	userNames map[string]string
	faults    []fault
	failIf    func(Call) *connector.Error
	calls     []Call
}

var (
	_ connector.Target       = (*Target)(nil)
	_ connector.MemberWriter = (*Target)(nil)
	_ connector.Lister       = (*Target)(nil)
)

// object is a stored user or group.
type object struct {
	typ     string // connector.TypeUser or connector.TypeGroup
	attrs   connector.Attributes
	members map[string]bool // groups
}

func (o *object) view(id string) connector.Object {
	attrs := o.attrs.Clone()
	if o.typ == connector.TypeGroup && len(o.members) > 0 {
		attrs["members"] = slices.Sorted(maps.Keys(o.members))
	}
	return connector.Object{ID: id, Type: o.typ, Attrs: attrs}
}

type fault struct {
	op  Op
	n   int
	err *connector.Error
}

// New returns an empty Target.
func New(opt Options) *Target {
	t := &Target{name: opt.Name, newID: opt.NewID, objects: map[string]*object{}, userNames: map[string]string{}}
	if t.name == "" {
		t.name = "memtarget"
	}
	if t.newID == nil {
		t.newID = ids.NewUUID
	}
	return t
}

// FailNext makes the next n calls of op fail with err before they change
// anything (a nil err lets them through). Faults queued for one op are used
// in the order queued.
func (t *Target) FailNext(op Op, n int, err *connector.Error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = append(t.faults, fault{op: op, n: n, err: err})
}

// FailWhen makes every call for which f returns an error fail with it
// before it changes anything; nil removes the hook. f runs under the
// Target's lock and must not call the Target.
func (t *Target) FailWhen(f func(Call) *connector.Error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failIf = f
}

// Failure returns the error a SCIM app answering with kind's usual HTTP
// status would cause: status, provisioning-log code and message, and the
// Retry-After (seconds) given. KindTransient is a 429 when retryAfter is
// set and a 503 otherwise; KindUnknown has no status.
func Failure(kind connector.Kind, retryAfter float64) *connector.Error {
	status := map[connector.Kind]int{
		connector.KindUnauthorized: http.StatusUnauthorized,
		connector.KindNotFound:     http.StatusNotFound,
		connector.KindConflict:     http.StatusConflict,
		connector.KindInvalid:      http.StatusBadRequest,
		connector.KindTransient:    http.StatusServiceUnavailable,
	}[kind]
	if kind == connector.KindTransient && retryAfter > 0 {
		status = http.StatusTooManyRequests
	}
	e := &connector.Error{Kind: kind, Status: status, RetryAfter: retryAfter,
		Message: fmt.Sprintf("injected %s failure", kind)}
	if status != 0 {
		e.Code = connector.CodeForStatus(status)
	}
	return e
}

// Calls returns the calls made so far, failed ones included, oldest first.
func (t *Target) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.calls)
}

// Objects returns every object of the type, ordered by id.
func (t *Target) Objects(objectType string) []connector.Object {
	t.mu.Lock()
	defer t.mu.Unlock()
	typ, err := canonical(objectType)
	if err != nil {
		return nil
	}
	var out []connector.Object
	for _, id := range slices.Sorted(maps.Keys(t.objects)) {
		if o := t.objects[id]; o.typ == typ {
			out = append(out, o.view(id))
		}
	}
	return out
}

// begin locks the Target, logs c and returns the injected failure for it,
// if any. The caller unlocks.
func (t *Target) begin(c Call) error {
	t.mu.Lock()
	if c.Attrs != nil {
		c.Attrs = c.Attrs.Clone()
	}
	c.MemberIDs = slices.Clone(c.MemberIDs)
	t.calls = append(t.calls, c)
	for i, f := range t.faults {
		if f.op != c.Op {
			continue
		}
		if f.n--; f.n <= 0 {
			t.faults = slices.Delete(t.faults, i, i+1)
		} else {
			t.faults[i] = f
		}
		if f.err != nil {
			return f.err
		}
		return nil
	}
	if t.failIf != nil {
		if err := t.failIf(c); err != nil {
			return err
		}
	}
	return nil
}

// canonical returns the object type name for typ, compared ignoring case.
func canonical(typ string) (string, error) {
	for _, known := range []string{connector.TypeUser, connector.TypeGroup} {
		if strings.EqualFold(typ, known) {
			return known, nil
		}
	}
	return "", invalid("unknown object type %q (want User or Group)", typ)
}

func notFound(typ, id string) error {
	return &connector.Error{Kind: connector.KindNotFound, Status: http.StatusNotFound, Code: connector.CodeForStatus(http.StatusNotFound),
		Message: fmt.Sprintf("%s %s not found", typ, id)}
}

func invalid(format string, args ...any) error {
	return &connector.Error{Kind: connector.KindInvalid, Status: http.StatusBadRequest, Code: connector.CodeForStatus(http.StatusBadRequest),
		Message: fmt.Sprintf(format, args...)}
}

// lookup returns the object id of type typ, or a KindNotFound error.
func (t *Target) lookup(typ, id string) (*object, error) {
	o, ok := t.objects[id]
	if !ok || o.typ != typ {
		return nil, notFound(typ, id)
	}
	return o, nil
}

// Name implements connector.Target.
func (t *Target) Name() string { return t.name }

// Test implements connector.Target; only an injected failure fails it.
func (t *Target) Test(ctx context.Context) error {
	err := t.begin(Call{Op: OpTest})
	defer t.mu.Unlock()
	return err
}

// caseExact are the attributes whose values compare with case (SCIM's
// caseExact); the others ignore it.
var caseExact = map[string]bool{"externalid": true}

// Find implements connector.Target: the objects of the type with a value of
// the attribute (its name compared ignoring case) equal to value.
func (t *Target) Find(ctx context.Context, objectType, attribute, value string) ([]connector.Object, error) {
	err := t.begin(Call{Op: OpFind, Type: objectType, Attribute: attribute, Value: value})
	defer t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return nil, err
	}
	equal := strings.EqualFold
	if caseExact[strings.ToLower(attribute)] {
		equal = func(a, b string) bool { return a == b }
	}
	out := []connector.Object{}
	for _, id := range slices.Sorted(maps.Keys(t.objects)) {
		if t.objects[id].typ != typ {
			continue
		}
		obj := t.objects[id].view(id)
		if slices.ContainsFunc(obj.Attrs[key(obj.Attrs, attribute)], func(v string) bool { return equal(v, value) }) {
			out = append(out, obj)
		}
	}
	return out, nil
}

// key returns the name attrs holds name under, compared ignoring case, or
// name itself when it holds none.
func key(attrs connector.Attributes, name string) string {
	if _, ok := attrs[name]; ok {
		return name
	}
	for k := range attrs {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// Get implements connector.Target.
func (t *Target) Get(ctx context.Context, objectType, id string) (connector.Object, error) {
	err := t.begin(Call{Op: OpGet, Type: objectType, ID: id})
	defer t.mu.Unlock()
	if err != nil {
		return connector.Object{}, err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	o, err := t.lookup(typ, id)
	if err != nil {
		return connector.Object{}, err
	}
	return o.view(id), nil
}

// List implements connector.Lister: the objects of the type ordered by id,
// pageSize at a time. The token is the id of the last object of the
// previous page, so an object that exists for the whole listing is listed
// exactly once whatever else is created or deleted meanwhile.
func (t *Target) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	err := t.begin(Call{Op: OpList, Type: objectType, Token: token, PageSize: pageSize})
	defer t.mu.Unlock()
	if err != nil {
		return connector.Page{}, err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return connector.Page{}, err
	}
	if pageSize < 1 {
		return connector.Page{}, invalid("page size %d: want at least 1", pageSize)
	}
	var page connector.Page
	for _, id := range slices.Sorted(maps.Keys(t.objects)) {
		if o := t.objects[id]; o.typ != typ || (token != "" && id <= token) {
			continue
		}
		if len(page.Objects) == pageSize {
			page.Next = page.Objects[pageSize-1].ID
			break
		}
		page.Objects = append(page.Objects, t.objects[id].view(id))
	}
	return page, nil
}

// identity is the attribute every object of the type needs, unique among
// users.
func identity(typ string) string {
	if typ == connector.TypeGroup {
		return "displayName"
	}
	return "userName"
}

// set applies attrs to o: a nil value clears an attribute, members are
// left to AddMembers and RemoveMembers.
func set(o *object, attrs connector.Attributes) {
	for k, v := range attrs {
		if strings.EqualFold(k, "members") {
			continue
		}
		k2 := key(o.attrs, k)
		delete(o.attrs, k2)
		if len(v) > 0 {
			o.attrs[k] = slices.Clone(v)
		}
	}
}

// check refuses o, or o with id, when it lacks its identity or a user's
// userName is taken by another user.
func (t *Target) check(o *object, id string) error {
	attr := identity(o.typ)
	v, ok := o.attrs.Get(key(o.attrs, attr))
	if !ok || v == "" {
		return invalid("%s is required for a %s", attr, o.typ)
	}
	if o.typ != connector.TypeUser {
		return nil
	}
	if oid, taken := t.userNames[fold(v)]; taken && oid != id {
		return &connector.Error{Kind: connector.KindConflict, Status: http.StatusConflict, Code: connector.CodeForStatus(http.StatusConflict),
			Message: fmt.Sprintf("userName %q is taken by user %s", v, oid)}
	}
	return nil
}

// index records o (stored under id) in t.userNames, and forgets was, the
// object it replaces (nil if none).
func (t *Target) index(id string, was, o *object) {
	if was != nil && was.typ == connector.TypeUser {
		v, _ := was.attrs.Get(key(was.attrs, "userName"))
		delete(t.userNames, fold(v))
	}
	if o != nil && o.typ == connector.TypeUser {
		v, _ := o.attrs.Get(key(o.attrs, "userName"))
		t.userNames[fold(v)] = id
	}
}

// fold maps s to one spelling of every string strings.EqualFold holds
// equal to it: each rune becomes the smallest of its case-folding orbit.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// Create implements connector.Target. A group's members are ignored: they
// follow through AddMembers.
func (t *Target) Create(ctx context.Context, objectType string, attrs connector.Attributes) (connector.Object, error) {
	err := t.begin(Call{Op: OpCreate, Type: objectType, Attrs: attrs})
	defer t.mu.Unlock()
	if err != nil {
		return connector.Object{}, err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return connector.Object{}, err
	}
	o := &object{typ: typ, attrs: connector.Attributes{}}
	if typ == connector.TypeGroup {
		o.members = map[string]bool{}
	}
	set(o, attrs)
	if err := t.check(o, ""); err != nil {
		return connector.Object{}, err
	}
	id := t.newID()
	if _, taken := t.objects[id]; taken {
		return connector.Object{}, &connector.Error{Kind: connector.KindConflict, Status: http.StatusConflict,
			Code: connector.CodeForStatus(http.StatusConflict), Message: fmt.Sprintf("id %s is taken", id)}
	}
	t.objects[id] = o
	t.index(id, nil, o)
	return o.view(id), nil
}

// Update implements connector.Target: all of set or, when the result is
// refused (a taken or missing userName), nothing. members are ignored.
func (t *Target) Update(ctx context.Context, objectType, id string, attrs connector.Attributes) error {
	err := t.begin(Call{Op: OpUpdate, Type: objectType, ID: id, Attrs: attrs})
	defer t.mu.Unlock()
	if err != nil {
		return err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return err
	}
	o, err := t.lookup(typ, id)
	if err != nil {
		return err
	}
	changed := &object{typ: o.typ, attrs: o.attrs.Clone(), members: o.members}
	set(changed, attrs)
	if err := t.check(changed, id); err != nil {
		return err
	}
	t.objects[id] = changed
	t.index(id, o, changed)
	return nil
}

// Delete implements connector.Target; a deleted object leaves the groups
// it was a member of.
func (t *Target) Delete(ctx context.Context, objectType, id string) error {
	err := t.begin(Call{Op: OpDelete, Type: objectType, ID: id})
	defer t.mu.Unlock()
	if err != nil {
		return err
	}
	typ, err := canonical(objectType)
	if err != nil {
		return err
	}
	o, err := t.lookup(typ, id)
	if err != nil {
		return err
	}
	delete(t.objects, id)
	t.index(id, o, nil)
	for _, o := range t.objects {
		delete(o.members, id)
	}
	return nil
}

// AddMembers implements connector.Target. Members must exist: unknown ids
// are refused with KindInvalid, after the others are added.
func (t *Target) AddMembers(ctx context.Context, groupID string, memberIDs []string) error {
	err := t.begin(Call{Op: OpAddMembers, Type: connector.TypeGroup, ID: groupID, MemberIDs: memberIDs})
	defer t.mu.Unlock()
	if err != nil {
		return err
	}
	g, err := t.lookup(connector.TypeGroup, groupID)
	if err != nil {
		return err
	}
	var unknown []string
	for _, id := range memberIDs {
		if _, ok := t.objects[id]; !ok {
			unknown = append(unknown, id)
			continue
		}
		g.members[id] = true
	}
	if len(unknown) > 0 {
		return invalid("cannot add %q to group %s: no such objects", unknown, groupID)
	}
	return nil
}

// RemoveMembers implements connector.Target.
func (t *Target) RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error {
	err := t.begin(Call{Op: OpRemoveMembers, Type: connector.TypeGroup, ID: groupID, MemberIDs: memberIDs})
	defer t.mu.Unlock()
	if err != nil {
		return err
	}
	g, err := t.lookup(connector.TypeGroup, groupID)
	if err != nil {
		return err
	}
	for _, id := range memberIDs {
		delete(g.members, id)
	}
	return nil
}

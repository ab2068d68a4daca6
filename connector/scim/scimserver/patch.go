package scimserver

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"provisiond/connector/scim/scimjson"
)

// PatchOperation is one decoded RFC 7644 §3.5.2 operation.
type PatchOperation struct {
	Op       string    // "add", "replace" or "remove" (lower-cased)
	Path     *AttrPath // nil when the operation has no path
	Value    any
	HasValue bool
}

// DecodePatch decodes a PatchOp message. Operation names are
// case-insensitive ("Replace" works) and so are the member names
// ("operations", "Op"); add and replace need a value, a path-less operation
// an object value. Errors are SCIM errors (400 invalidSyntax, invalidPath,
// invalidValue).
func DecodePatch(body []byte) ([]PatchOperation, error) {
	msg, err := scimjson.DecodeObject(body)
	if err != nil {
		return nil, badRequest("invalidSyntax", "PatchOp body is not a JSON object: %v", err)
	}
	raw, _ := scimjson.Lookup(msg, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, badRequest("invalidSyntax", "PatchOp body needs a non-empty Operations array")
	}
	ops := make([]PatchOperation, 0, len(list))
	for i, r := range list {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, badRequest("invalidSyntax", "operation %d is not an object", i+1)
		}
		name, _ := scimjson.Lookup(m, "op")
		op, _ := name.(string)
		op = strings.ToLower(op)
		if op != "add" && op != "replace" && op != "remove" {
			return nil, badRequest("invalidSyntax", "operation %d: unknown op %q", i+1, name)
		}
		o := PatchOperation{Op: op}
		o.Value, o.HasValue = scimjson.Lookup(m, "value")
		if rp, ok := scimjson.Lookup(m, "path"); ok && rp != nil {
			s, _ := rp.(string)
			if strings.TrimSpace(s) != "" {
				p, err := ParsePath(strings.TrimSpace(s))
				if err != nil {
					return nil, badRequest("invalidPath", "operation %d: %v", i+1, err)
				}
				o.Path = &p
			}
		}
		switch {
		case op != "remove" && !o.HasValue:
			return nil, badRequest("invalidValue", "operation %d: %s needs a value", i+1, op)
		case o.Path == nil && op == "remove":
			return nil, badRequest("noTarget", "operation %d: remove needs a path", i+1)
		case o.Path == nil:
			if _, ok := o.Value.(map[string]any); !ok {
				return nil, badRequest("invalidValue", "operation %d: %s without a path needs an object value", i+1, op)
			}
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// ApplyPatch applies the operations to the resource in place. A path-less
// operation applies each member of its value as its own path (dotted keys
// such as "name.givenName" and extension objects included); "active" takes
// a boolean or the strings "True"/"False"; a replace whose value filter
// matches nothing is 400 noTarget, an add creates the element the filter
// describes; remove of members takes a filter or (Entra-legacy) a value
// array.
func ApplyPatch(res map[string]any, ops []PatchOperation) error {
	return applyPatch(res, ops, nil)
}

// applyPatch is ApplyPatch, adding to res's members with the help of
// members, the index of their keys (nil for none).
func applyPatch(res map[string]any, ops []PatchOperation, members *keyIndex) error {
	for i, o := range ops {
		err := eachPath(o, func(p AttrPath, v any, hasValue bool) error {
			return applyPath(res, o.Op, p, v, hasValue, members)
		})
		if err != nil {
			return prefixError(err, i)
		}
	}
	return nil
}

// eachPath calls f with each attribute change o makes, in order: o's path,
// or each member of its value (an extension object's member by member),
// until f fails.
func eachPath(o PatchOperation, f func(p AttrPath, v any, hasValue bool) error) error {
	if o.Path != nil {
		return f(*o.Path, o.Value, o.HasValue)
	}
	obj := o.Value.(map[string]any)
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch strings.ToLower(k) {
		case "schemas", "id", "meta":
			continue
		}
		if ext, ok := v.(map[string]any); ok && isSchemaKey(k) {
			for _, a := range sortedKeys(ext) {
				p, err := ParsePath(k + ":" + a)
				if err != nil {
					return badRequest("invalidPath", "%v", err)
				}
				if err := f(p, ext[a], true); err != nil {
					return err
				}
			}
			continue
		}
		p, err := ParsePath(k)
		if err != nil {
			return badRequest("invalidPath", "%v", err)
		}
		if err := f(p, v, true); err != nil {
			return err
		}
	}
	return nil
}

func prefixError(err error, i int) error {
	if e, ok := err.(*Error); ok {
		e2 := *e
		e2.Detail = fmt.Sprintf("operation %d: %s", i+1, e.Detail)
		return &e2
	}
	return err
}

// isSchemaKey reports whether a path-less value key names a whole schema
// extension ("urn:…:2.0:User") rather than one of its attributes
// ("urn:…:2.0:User:department"): schema names end in a capitalised segment.
func isSchemaKey(k string) bool {
	if len(k) < 4 || !strings.EqualFold(k[:4], "urn:") {
		return false
	}
	last := k[strings.LastIndexByte(k, ':')+1:]
	return last != "" && last[0] >= 'A' && last[0] <= 'Z'
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// coerce converts "True"/"False" for the boolean attributes active and
// primary.
func coerce(p AttrPath, v any) (any, error) {
	name := p.Attr
	if p.Sub != "" {
		name = p.Sub
	}
	if !strings.EqualFold(name, "active") && !strings.EqualFold(name, "primary") {
		return v, nil
	}
	switch x := v.(type) {
	case bool, nil:
		return v, nil
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return nil, badRequest("invalidValue", "%s must be a boolean, got %s", p, scimjson.Compact(v))
}

func applyPath(res map[string]any, op string, p AttrPath, v any, hasValue bool, members *keyIndex) error {
	if strings.EqualFold(p.Attr, "id") || strings.EqualFold(p.Attr, "meta") || strings.EqualFold(p.Attr, "schemas") {
		if p.Schema == "" || isCoreSchema(p.Schema) {
			return &Error{Status: 400, ScimType: "mutability", Detail: fmt.Sprintf("%s is read-only", p.Attr)}
		}
	}
	if op != "remove" {
		var err error
		if v, err = coerce(p, v); err != nil {
			return err
		}
	}
	c := container(res, p)
	if c == nil {
		if op == "remove" {
			return nil
		}
		c = map[string]any{}
		res[p.Schema] = c
		scimjson.AddSchema(res, p.Schema)
	}
	key := scimjson.Key(c, p.Attr)
	cur, exists := c[key]
	switch {
	case p.Filter == nil && p.Sub == "":
		switch op {
		case "add":
			arr, isArr := cur.([]any)
			if _, adding := v.([]any); adding && cur == nil {
				isArr = true // a new list, without the duplicates v may have
			}
			if isArr {
				out, indexed := []any(nil), false
				if members != nil && (p.Schema == "" || isCoreSchema(p.Schema)) && strings.EqualFold(key, "members") {
					out, indexed = members.add(arr, v)
				}
				if !indexed {
					out = appendUnique(arr, v)
				}
				c[key] = out
			} else if m, ok := cur.(map[string]any); ok && isMap(v) {
				merge(m, v.(map[string]any))
			} else {
				c[key] = v
			}
		case "replace":
			if m, ok := cur.(map[string]any); ok && isMap(v) {
				merge(m, v.(map[string]any))
			} else {
				c[key] = v
			}
		case "remove":
			arr, isArr := cur.([]any)
			if hasValue && isArr && v != nil {
				c[key] = removeValues(arr, v)
				if len(c[key].([]any)) == 0 {
					delete(c, key)
				}
			} else if exists {
				delete(c, key)
			}
		}
		return nil
	case p.Filter == nil:
		if arr, ok := cur.([]any); ok {
			if op != "remove" {
				return badRequest("invalidPath", "%s is multi-valued: select elements with a value filter", p.Attr)
			}
			for _, e := range arr {
				if m, ok := e.(map[string]any); ok {
					delete(m, scimjson.Key(m, p.Sub))
				}
			}
			return nil
		}
		m, _ := cur.(map[string]any)
		if op == "remove" {
			if m != nil {
				delete(m, scimjson.Key(m, p.Sub))
				if len(m) == 0 {
					delete(c, key)
				}
			}
			return nil
		}
		if m == nil {
			m = map[string]any{}
			c[key] = m
		}
		sk := scimjson.Key(m, p.Sub)
		if old, ok := m[sk].(map[string]any); ok && op == "add" && isMap(v) {
			merge(old, v.(map[string]any))
		} else {
			m[sk] = v
		}
		return nil
	}
	arr, _ := cur.([]any)
	var idx []int
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && p.Filter.Match(m) {
			idx = append(idx, i)
		}
	}
	if op == "remove" {
		keep := arr[:0:0]
		for i, e := range arr {
			m, _ := e.(map[string]any)
			if !contains(idx, i) {
				keep = append(keep, e)
			} else if p.Sub != "" {
				delete(m, scimjson.Key(m, p.Sub))
				if !scimjson.OnlyLabels(m) {
					keep = append(keep, m)
				}
			}
		}
		if len(keep) == 0 {
			delete(c, key)
		} else {
			c[key] = keep
		}
		return nil
	}
	if len(idx) == 0 {
		elem := elementFromFilter(p.Filter)
		if op == "replace" || elem == nil {
			return badRequest("noTarget", "filter %s matches no value of %s for %s", p.Filter, p.Attr, op)
		}
		arr = append(arr, elem)
		idx = []int{len(arr) - 1}
		c[key] = arr
	}
	for _, i := range idx {
		m := arr[i].(map[string]any)
		if p.Sub != "" {
			m[scimjson.Key(m, p.Sub)] = v
			continue
		}
		vm, ok := v.(map[string]any)
		if !ok {
			return badRequest("invalidValue", "%s selects complex values: the value must be an object", p)
		}
		merge(m, vm)
	}
	return nil
}

func isMap(v any) bool { _, ok := v.(map[string]any); return ok }

func contains(s []int, i int) bool {
	for _, x := range s {
		if x == i {
			return true
		}
	}
	return false
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		dst[scimjson.Key(dst, k)] = v
	}
}

// appendUnique appends the value (or the values of an array) to a
// multi-valued attribute, skipping elements already present: equal
// elements, or elements with the same "value" (group members). Elements
// with a string "value" are found by it in a map of the ones being added,
// so that adding members in many requests to a big group costs one pass
// over it per request, not a map of it.
func appendUnique(arr []any, v any) []any {
	add, ok := v.([]any)
	if !ok {
		add = []any{v}
	}
	seen := map[elementKey]bool{} // the keys added, and whether present
	for _, e := range add {
		if k, ok := keyOf(e); ok {
			seen[k] = false
		}
	}
	if len(seen) > 0 {
		for _, have := range arr {
			if k, ok := keyOf(have); ok {
				if _, adding := seen[k]; adding {
					seen[k] = true
				}
			}
		}
	}
	for _, e := range add {
		dup := false
		if k, ok := keyOf(e); ok {
			dup = seen[k]
			seen[k] = true
		} else {
			for _, have := range arr {
				if sameElement(have, e) {
					dup = true
					break
				}
			}
		}
		if !dup {
			arr = append(arr, e)
		}
	}
	return arr
}

// keyIndex is the set of the keys of one list's elements, a group's
// members, so that adding members to a big group costs the members added,
// not the group. It describes the list that starts where its own list does
// and is as long: a PATCH that uses it changes no element in place (an add
// appends; a remove or a replace of the whole list builds a new one; a
// PATCH editing members through a filter or a sub-attribute goes without
// the index, which it drops), so such a list holds the elements it
// indexed. It describes only lists whose every element has a key.
//
// Its own list is the one last stored, with its capacity: the next add
// appends there, past the stored list's end, which nothing reads (a
// stored resource is only read under the server's lock, and copied), so
// that a big group is not copied whole by every PATCH.
type keyIndex struct {
	list []any
	keys map[elementKey]struct{}
}

// describes reports whether x holds the keys of list.
func (x *keyIndex) describes(list []any) bool {
	return x != nil && len(x.list) > 0 && len(list) == len(x.list) && &list[0] == &x.list[0]
}

// add is appendUnique(arr, v) for the list x describes (or, indexed first,
// for any list), and then describes its result; false, and x forgotten,
// when an element of either has no key (appendUnique compares those
// whole).
func (x *keyIndex) add(arr []any, v any) ([]any, bool) {
	add, ok := v.([]any)
	if !ok {
		add = []any{v}
	}
	for _, e := range add {
		if _, ok := keyOf(e); !ok {
			x.list = nil
			return nil, false
		}
	}
	if !x.describes(arr) {
		x.list, x.keys = nil, make(map[elementKey]struct{}, len(arr)+len(add))
		for _, have := range arr {
			k, ok := keyOf(have)
			if !ok {
				return nil, false
			}
			x.keys[k] = struct{}{}
		}
		x.list = arr
	}
	out := x.list
	for _, e := range add {
		k, _ := keyOf(e)
		if _, dup := x.keys[k]; !dup {
			x.keys[k] = struct{}{}
			out = append(out, e)
		}
	}
	x.list = out
	return out, true
}

// elementKey is what sameElement compares two elements with a string
// "value" by: the value, and the type when there is one.
type elementKey struct {
	value, typ string
	typed      bool
}

// keyOf is e's elementKey, when e is an object with a string "value" and
// no type or a string one.
func keyOf(e any) (elementKey, bool) {
	m, ok := e.(map[string]any)
	if !ok {
		return elementKey{}, false
	}
	v, ok := scimjson.Lookup(m, "value")
	value, isString := v.(string)
	if !ok || !isString {
		return elementKey{}, false
	}
	if len(m) == 1 { // only the value: no type, and no pass over the keys for one
		return elementKey{value: value}, true
	}
	t, typed := scimjson.Lookup(m, "type")
	typ, isString := t.(string)
	if typed && !isString {
		return elementKey{}, false
	}
	return elementKey{value: value, typ: typ, typed: typed}, true
}

func sameElement(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, ok1 := scimjson.Lookup(am, "value")
		bv, ok2 := scimjson.Lookup(bm, "value")
		if ok1 && ok2 && av != nil && reflect.DeepEqual(av, bv) {
			_, at := scimjson.Lookup(am, "type")
			_, bt := scimjson.Lookup(bm, "type")
			if !at && !bt || reflect.DeepEqual(am["type"], bm["type"]) {
				return true
			}
		}
	}
	return reflect.DeepEqual(a, b)
}

// removeValues removes the elements whose "value" (or whole value) equals
// one of vals (Entra's `{"op":"Remove","path":"members","value":[{"value":"id"}]}`).
func removeValues(arr []any, vals any) []any {
	list, ok := vals.([]any)
	if !ok {
		list = []any{vals}
	}
	keep := arr[:0:0]
	for _, e := range arr {
		drop := false
		for _, r := range list {
			if sameElement(e, r) {
				drop = true
				break
			}
			if rm, ok := r.(map[string]any); ok {
				em, _ := e.(map[string]any)
				rv, _ := scimjson.Lookup(rm, "value")
				if em != nil && rv != nil {
					ev, _ := scimjson.Lookup(em, "value")
					drop = reflect.DeepEqual(ev, rv)
				}
			}
			if drop {
				break
			}
		}
		if !drop {
			keep = append(keep, e)
		}
	}
	return keep
}

// elementFromFilter builds the element an add to `attr[f]` creates: the
// attributes a conjunction of eq comparisons fixes, or nil.
func elementFromFilter(f Filter) map[string]any {
	switch e := f.(type) {
	case compareExpr:
		if e.op != "eq" || e.path.Schema != "" || e.path.Sub != "" || e.path.Filter != nil || e.value == nil {
			return nil
		}
		return map[string]any{e.path.Attr: e.value}
	case logicalExpr:
		if !e.and {
			return nil
		}
		l, r := elementFromFilter(e.l), elementFromFilter(e.r)
		if l == nil || r == nil {
			return nil
		}
		merge(l, r)
		return l
	}
	return nil
}

// patchCopy copies of old what ApplyPatch(…, ops) may change, so that a
// failed PATCH leaves old as it was: the top level, and deeply every
// attribute the operations name, except that a multi-valued attribute
// only added to or removed from as a whole keeps its elements, shared.
// ApplyPatch builds such a list anew and never changes its elements, so a
// PATCH adding members to a big group costs its members, not the group.
func patchCopy(old map[string]any, ops []PatchOperation) map[string]any {
	res := maps.Clone(old)
	// How each attribute is copied; an operation that changes a list in
	// place after one that only adds to it makes its copy deep.
	deepened, shared := map[string]bool{}, map[string]bool{}
	deep := func(key string) {
		if !deepened[key] {
			deepened[key] = true
			if v, ok := old[key]; ok {
				res[key] = deepCopy(v)
			}
		}
	}
	name := func(op string, p AttrPath) {
		if p.Schema != "" && !isCoreSchema(p.Schema) {
			for _, k := range keysFolding(old, p.Schema) {
				deep(k)
			}
			return
		}
		keys := keysFolding(old, p.Attr)
		if len(keys) != 1 { // one of several, whichever a lookup finds: copy all
			for _, k := range keys {
				deep(k)
			}
			return
		}
		key := keys[0]
		list, isList := old[key].([]any)
		wholeList := isList && p.Sub == "" && (op == "remove" || op == "add" && p.Filter == nil)
		if !wholeList {
			deep(key)
		} else if !deepened[key] && !shared[key] {
			shared[key] = true
			res[key] = slices.Clip(list) // an append makes a new array
		}
	}
	for _, name := range []string{"schemas", "meta"} {
		for _, k := range keysFolding(old, name) {
			deep(k)
		}
	}
	for _, o := range ops {
		// ApplyPatch stops where eachPath does: what it changes is named.
		_ = eachPath(o, func(p AttrPath, _ any, _ bool) error {
			name(o.Op, p)
			return nil
		})
	}
	return res
}

// keysFolding returns the keys of m equal to name ignoring case.
func keysFolding(m map[string]any, name string) []string {
	var keys []string
	for k := range m {
		if strings.EqualFold(k, name) {
			keys = append(keys, k)
		}
	}
	return keys
}

package scim

import (
	"sort"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// PatchRequest is an RFC 7644 §3.5.2 PatchOp message.
type PatchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []PatchOp `json:"Operations"`
}

// PatchOp is one operation of a PatchRequest. Value is omitted when nil.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// PatchOps returns the RFC-style operations that set the flat attributes
// in set, in attribute-name order:
//   - a plain path: `replace` with the wire value (active as a boolean, the
//     manager as {"value": id}), or `remove` when the value is nil;
//   - a filtered path such as `emails[type eq "work"].value`: when current
//     (the resource as read) has an element of that type, `replace` (one
//     value) or `remove` on the path; otherwise an `add` of new elements to
//     the attribute, because a `replace` whose filter matches nothing is 400
//     noTarget on strict servers. Clearing an absent element sends nothing.
//
// Adds come last and are merged per attribute, so addresses[type eq
// "work"].locality and .postalCode become one new element. current may be nil
// when set has no filtered path.
func PatchOps(set connector.Attributes, current map[string]any) ([]PatchOp, error) {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var ops, adds []PatchOp
	addIndex := map[string]int{}              // lower-case schema:attr → index in adds
	newElems := map[string][]map[string]any{} // lower-case filter path without sub → new elements
	for _, k := range keys {
		values := set[k]
		p, err := ParsePath(k)
		if err != nil {
			return nil, invalidPath(k, err)
		}
		if p.Schema != "" {
			p.Schema = canonicalSchema(p.Schema)
		}
		if !p.Filtered() {
			if len(values) == 0 {
				ops = append(ops, PatchOp{Op: "remove", Path: p.String()})
				continue
			}
			v, err := wireValue(p, values)
			if err != nil {
				return nil, err
			}
			ops = append(ops, PatchOp{Op: "replace", Path: p.String(), Value: v})
			continue
		}
		sub := p
		sub.FilterAttr, sub.FilterValue = "", ""
		if sub.Sub == "" {
			sub.Sub = "value"
		}
		whole := p // the filtered elements themselves
		whole.Sub = ""
		exists := hasElement(current, p)
		switch {
		case len(values) == 0:
			if exists {
				ops = append(ops, PatchOp{Op: "remove", Path: p.String()})
			}
			continue
		case exists && len(values) == 1:
			v, err := wireValue(sub, values)
			if err != nil {
				return nil, err
			}
			ops = append(ops, PatchOp{Op: "replace", Path: p.String(), Value: v})
			continue
		case exists: // several values replace every element of the type
			ops = append(ops, PatchOp{Op: "remove", Path: whole.String()})
		}
		attrKey := strings.ToLower(Path{Schema: p.Schema, Attr: p.Attr}.String())
		elemKey := strings.ToLower(whole.String())
		i, ok := addIndex[attrKey]
		if !ok {
			i = len(adds)
			addIndex[attrKey] = i
			adds = append(adds, PatchOp{Op: "add", Path: Path{Schema: p.Schema, Attr: p.Attr}.String(), Value: []any{}})
		}
		elems := newElems[elemKey]
		for j, s := range values {
			v, err := wireValue(sub, []string{s})
			if err != nil {
				return nil, err
			}
			if j >= len(elems) {
				e := newElement(p)
				elems = append(elems, e)
				adds[i].Value = append(adds[i].Value.([]any), e)
			}
			elems[j][sub.Sub] = v
		}
		newElems[elemKey] = elems
	}
	return append(ops, adds...), nil
}

// hasElement reports whether the resource has an element of p's
// multi-valued attribute that p's filter selects.
func hasElement(resource map[string]any, p Path) bool {
	container := resource
	if p.Schema != "" {
		ext, _ := scimjson.Lookup(resource, p.Schema)
		container, _ = ext.(map[string]any)
	}
	if container == nil {
		return false
	}
	v, _ := scimjson.Lookup(container, p.Attr)
	arr, _ := v.([]any)
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && elementMatches(m, p) {
			return true
		}
	}
	return false
}

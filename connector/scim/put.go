package scim

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// putUpdate updates a resource the PUT way: read it (a group with its
// members, as the profile reads them), apply set, PUT the whole resource.
func (c *Client) putUpdate(ctx context.Context, endpoint, typ, id, path string, set connector.Attributes) error {
	r, err := c.read(ctx, endpoint, typ, id)
	if err != nil {
		return err
	}
	if err := applyAttributes(r, set); err != nil {
		return err
	}
	return c.put(ctx, path, typ, r)
}

// put sends a resource as read back with PUT, without meta and (users) the
// read-only groups.
func (c *Client) put(ctx context.Context, path, typ string, r map[string]any) error {
	body := make(map[string]any, len(r))
	for k, v := range r {
		switch {
		case strings.EqualFold(k, "meta"):
		case typ == connector.TypeUser && strings.EqualFold(k, "groups"):
		default:
			body[k] = v
		}
	}
	_, err := c.do(ctx, http.MethodPut, path, nil, body)
	return err
}

// applyAttributes sets flat attributes on a resource in place, with the
// outcome PatchOps has on the server: plain paths are replaced or removed;
// a filtered path changes the elements its filter selects, or adds new
// ones (merged per filter, a work email primary); several values replace
// every selected element. Elements left with only their type and primary
// are dropped, as are emptied complex attributes.
func applyAttributes(res map[string]any, set connector.Attributes) error {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	created := map[string][]map[string]any{} // lower-case filter path → elements added here
	for _, k := range keys {
		values := set[k]
		p, err := ParsePath(k)
		if err != nil {
			return invalidPath(k, err)
		}
		container := res
		if p.Schema != "" {
			p.Schema = canonicalSchema(p.Schema)
			key := scimjson.Key(res, p.Schema)
			ext, _ := res[key].(map[string]any)
			if ext == nil {
				if len(values) == 0 {
					continue
				}
				ext = map[string]any{}
				res[key] = ext
			}
			if len(values) > 0 {
				scimjson.AddSchema(res, p.Schema)
			}
			container = ext
		}
		key := scimjson.Key(container, canonicalName(p.Attr))
		if !p.Filtered() {
			if err := setPlain(container, key, p, values); err != nil {
				return err
			}
			continue
		}
		if err := setFilteredElements(container, key, p, values, created); err != nil {
			return err
		}
	}
	return nil
}

// setPlain sets or (no values) removes an attribute or a sub-attribute
// of a complex one.
func setPlain(container map[string]any, key string, p Path, values []string) error {
	if p.Sub == "" {
		if len(values) == 0 {
			delete(container, key)
			return nil
		}
		v, err := wireValue(p, values)
		if err != nil {
			return err
		}
		container[key] = v
		return nil
	}
	var v any
	if len(values) > 0 {
		var err error
		if v, err = wireValue(p, values); err != nil {
			return err
		}
	}
	setSub := func(m map[string]any) {
		if len(values) == 0 {
			delete(m, scimjson.Key(m, p.Sub))
		} else {
			m[scimjson.Key(m, canonicalName(p.Sub))] = v
		}
	}
	switch cur := container[key].(type) {
	case []any: // emails.value: every element
		for _, e := range cur {
			if m, ok := e.(map[string]any); ok {
				setSub(m)
			}
		}
	case map[string]any:
		setSub(cur)
		if len(cur) == 0 {
			delete(container, key)
		}
	default:
		if len(values) > 0 {
			container[key] = map[string]any{canonicalName(p.Sub): v}
		}
	}
	return nil
}

// setFilteredElements applies values to the elements of a multi-valued
// attribute that p's filter selects (see applyAttributes). created holds
// the elements added by earlier keys of the same change.
func setFilteredElements(container map[string]any, key string, p Path, values []string, created map[string][]map[string]any) error {
	arr, _ := container[key].([]any)
	sub := p
	sub.FilterAttr, sub.FilterValue = "", ""
	sub.Sub = cmp.Or(p.Sub, "value")
	whole := p
	whole.Sub = ""
	wholeKey := strings.ToLower(whole.String())
	elems := created[wholeKey]
	var selected []int
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && elementMatches(m, p) {
			selected = append(selected, i)
		}
	}
	switch {
	case len(values) == 0:
		keep := arr[:0:0]
		for i, e := range arr {
			if !slices.Contains(selected, i) {
				keep = append(keep, e)
				continue
			}
			if p.Sub == "" {
				continue
			}
			m := e.(map[string]any)
			delete(m, scimjson.Key(m, p.Sub))
			if !scimjson.OnlyLabels(m) {
				keep = append(keep, m)
			}
		}
		if len(keep) == 0 {
			delete(container, key)
		} else {
			container[key] = keep
		}
		return nil
	case len(elems) > 0: // elements this change added: fill them in below
	case len(selected) > 0 && len(values) == 1:
		v, err := wireValue(sub, values)
		if err != nil {
			return err
		}
		for _, i := range selected {
			m := arr[i].(map[string]any)
			m[scimjson.Key(m, sub.Sub)] = v
		}
		return nil
	case len(selected) > 0: // several values replace the selected elements
		keep := arr[:0:0]
		for i, e := range arr {
			if !slices.Contains(selected, i) {
				keep = append(keep, e)
			}
		}
		arr = keep
	}
	for j, s := range values {
		v, err := wireValue(sub, []string{s})
		if err != nil {
			return err
		}
		if j >= len(elems) {
			e := newElement(p)
			elems = append(elems, e)
			arr = append(arr, e)
		}
		elems[j][sub.Sub] = v
	}
	created[wholeKey] = elems
	container[key] = arr
	return nil
}

package scim

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// canonicalNames spells the RFC 7643 attribute names the way Entra's
// mappings do, so a server that answers "username" still diffs as
// "userName". Keys are lower case.
var canonicalNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		// core User and Group
		"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
		"preferredLanguage", "locale", "timezone", "active", "password", "emails",
		"phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles",
		"x509Certificates", "externalId", "members",
		// sub-attributes
		"formatted", "familyName", "givenName", "middleName", "honorificPrefix",
		"honorificSuffix", "value", "display", "type", "primary", "streetAddress",
		"locality", "region", "postalCode", "country", "$ref",
		// enterprise extension
		"employeeNumber", "costCenter", "organization", "division", "department", "manager",
		"displayName",
	} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

func canonicalName(n string) string {
	if c, ok := canonicalNames[strings.ToLower(n)]; ok {
		return c
	}
	return n
}

// canonicalPath spells p's names as flattenValue spells those of a
// nested object, so that a dotted key and the object it stands for
// flatten to the same name.
func canonicalPath(p Path) Path {
	p.Schema, p.Attr, p.Sub = canonicalSchema(p.Schema), canonicalName(p.Attr), canonicalName(p.Sub)
	if strings.EqualFold(p.FilterAttr, "type") {
		p.FilterAttr, p.FilterValue = "type", strings.ToLower(p.FilterValue)
	}
	return p
}

func canonicalSchema(urn string) string {
	if strings.EqualFold(urn, EnterpriseUserSchema) {
		return EnterpriseUserSchema
	}
	return urn
}

// valueLists are multi-valued complex attributes that flatten to the list
// of their elements' "value" when the elements carry no "type" (group
// members above all).
var valueLists = map[string]bool{
	"members": true, "groups": true, "emails": true, "phoneNumbers": true, "ims": true,
	"photos": true, "roles": true, "entitlements": true, "x509Certificates": true,
}

// isBoolean reports whether the attribute at p is a SCIM boolean, which
// travels as "True"/"False" in the flat model.
func isBoolean(p Path) bool {
	if p.Sub != "" {
		return strings.EqualFold(p.Sub, "primary")
	}
	return p.Schema == "" && strings.EqualFold(p.Attr, "active")
}

// isManager reports whether p is the enterprise manager reference, whose
// flat value is the manager's id and whose wire form is {"value": id}.
func isManager(p Path) bool {
	return strings.EqualFold(p.Schema, EnterpriseUserSchema) && strings.EqualFold(p.Attr, "manager") && p.Sub == "" && !p.Filtered()
}

// Flatten turns a SCIM resource into the flat attribute model: simple
// attributes by name, complex ones as `name.sub`, multi-valued complex
// ones with a type as `name[type eq "x"].sub`, extension attributes as
// `urn...:attr` (manager as its id), booleans as "True"/"False". For
// attributes like members whose elements have no type, the attribute lists
// the elements' values, once each. "schemas", "id" and "meta" are not
// attributes.
func Flatten(resource map[string]any) connector.Attributes {
	out := connector.Attributes{}
	flattenInto(out, resource)
	return dedupeAll(out)
}

// dedupeAll drops repeated values of every attribute of out.
func dedupeAll(out connector.Attributes) connector.Attributes {
	for k, v := range out {
		out[k] = dedupe(v)
	}
	return out
}

// flattenInto adds the flat attributes of resource to out, repeats and
// all.
func flattenInto(out connector.Attributes, resource map[string]any) {
	for k, v := range resource {
		switch strings.ToLower(k) {
		case "schemas", "id", "meta", "":
			continue
		}
		if !hasPrefixFold(k, "urn:") {
			if strings.ContainsAny(k, ".[") { // a key such as "name.givenName": "x"
				if p, err := ParsePath(k); err == nil {
					flattenValue(out, canonicalPath(p), v)
					continue
				}
			}
			flattenValue(out, Path{Attr: canonicalName(k)}, v)
			continue
		}
		ext, ok := v.(map[string]any)
		if !ok { // a dotted key such as "urn:…:User:department": "x"
			if p, err := ParsePath(k); err == nil {
				flattenValue(out, canonicalPath(p), v)
			}
			continue
		}
		schema := canonicalSchema(k)
		for a, av := range ext {
			if a == "" {
				continue
			}
			p := Path{Schema: schema, Attr: canonicalName(a)}
			if obj, ok := av.(map[string]any); ok {
				if ref, ok := scimjson.Lookup(obj, "value"); ok && ref != nil {
					av = ref // references such as manager
				}
			}
			flattenValue(out, p, av)
		}
	}
}

func flattenValue(out connector.Attributes, p Path, v any) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		if p.Sub != "" { // deeper nesting has no flat name; keep the JSON
			out[p.String()] = append(out[p.String()], scimjson.Compact(x))
			return
		}
		for k, sv := range x {
			if k == "" {
				continue
			}
			q := p
			q.Sub = canonicalName(k)
			flattenValue(out, q, sv)
		}
	case []any:
		for _, e := range x {
			flattenElement(out, p, e)
		}
	default:
		if s, ok := scalarString(x); ok {
			out[p.String()] = append(out[p.String()], s)
		}
	}
}

// flattenElement flattens one element of a multi-valued attribute.
func flattenElement(out connector.Attributes, p Path, e any) {
	obj, ok := e.(map[string]any)
	if !ok || p.Sub != "" || p.Filtered() {
		flattenValue(out, p, e)
		return
	}
	typ, hasType := "", false
	for k, v := range obj {
		if strings.EqualFold(k, "type") {
			typ, hasType = scalarString(v)
		}
	}
	if !hasType || typ == "" {
		if val, ok := scimjson.Lookup(obj, "value"); ok && valueLists[p.Attr] {
			flattenValue(out, p, val)
			return
		}
		flattenValue(out, p, obj)
		return
	}
	for k, v := range obj {
		if k == "" || strings.EqualFold(k, "type") {
			continue
		}
		q := p
		q.FilterAttr, q.FilterValue, q.Sub = "type", strings.ToLower(typ), canonicalName(k)
		if _, nested := v.(map[string]any); nested {
			out[q.String()] = append(out[q.String()], scimjson.Compact(v))
			continue
		}
		flattenValue(out, q, v)
	}
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return boolString(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	}
	return "", false
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// parseBool reads Entra's "True"/"False" (any case, also "1"/"0").
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func dedupe(v []string) []string {
	out := v[:0:0]
	seen := make(map[string]bool, len(v)) // groups have tens of thousands of members
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// wireValue converts the flat values of the attribute at p to JSON: a
// boolean for active/primary, {"value": id} for the manager, a list of
// {"value": x} for value lists such as members, a string for one value and
// an array for several.
func wireValue(p Path, values []string) (any, error) {
	conv := func(s string) (any, error) {
		if isBoolean(p) {
			b, ok := parseBool(s)
			if !ok {
				return nil, invalidValue(p, s, "not a boolean")
			}
			return b, nil
		}
		return s, nil
	}
	switch {
	case isManager(p):
		return map[string]any{"value": values[0]}, nil
	case p.Schema == "" && p.Sub == "" && !p.Filtered() && valueLists[canonicalName(p.Attr)]:
		list := make([]any, 0, len(values))
		for _, v := range values {
			list = append(list, map[string]any{"value": v})
		}
		return list, nil
	case len(values) == 1:
		return conv(values[0])
	}
	list := make([]any, 0, len(values))
	for _, s := range values {
		v, err := conv(s)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

// BuildResource turns flat attributes into the SCIM resource Create posts:
// the object type's core schema (plus the enterprise extension URN when an
// enterprise attribute is present), meta.resourceType, booleans as JSON
// booleans, typed elements for filtered paths (a work email is primary).
// Null attributes and, for groups, "members" are left out.
func BuildResource(resourceType string, attrs connector.Attributes) (map[string]any, error) {
	res := map[string]any{}
	schemas := []any{scimjson.UserSchema}
	if resourceType == connector.TypeGroup {
		schemas = []any{scimjson.GroupSchema}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	enterprise := false
	for _, k := range keys {
		values := attrs[k]
		if len(values) == 0 {
			continue
		}
		p, err := ParsePath(k)
		if err != nil {
			return nil, invalidPath(k, err)
		}
		if resourceType == connector.TypeGroup && p.Schema == "" && strings.EqualFold(p.Attr, "members") {
			continue
		}
		container := res
		if p.Schema != "" {
			p.Schema = canonicalSchema(p.Schema)
			enterprise = enterprise || p.Schema == EnterpriseUserSchema
			ext, _ := res[p.Schema].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				res[p.Schema] = ext
			}
			container = ext
		}
		if p.Filtered() {
			if err := setFiltered(container, p, values); err != nil {
				return nil, err
			}
			continue
		}
		v, err := wireValue(p, values)
		if err != nil {
			return nil, err
		}
		if p.Sub == "" {
			container[p.Attr] = v
			continue
		}
		obj, _ := container[p.Attr].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
			container[p.Attr] = obj
		}
		obj[p.Sub] = v
	}
	if enterprise {
		schemas = append(schemas, EnterpriseUserSchema)
	}
	res["schemas"] = schemas
	res["meta"] = map[string]any{"resourceType": resourceType}
	return res, nil
}

// setFiltered stores values of a filtered path into the container's
// multi-valued attribute: the i-th value goes to the i-th element whose
// filter attribute matches, created when missing.
func setFiltered(container map[string]any, p Path, values []string) error {
	arr, _ := container[p.Attr].([]any)
	var matches []map[string]any
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && elementMatches(m, p) {
			matches = append(matches, m)
		}
	}
	sub := p
	sub.FilterAttr, sub.FilterValue = "", ""
	if sub.Sub == "" {
		sub.Sub = "value"
	}
	for i, s := range values {
		v, err := wireValue(sub, []string{s})
		if err != nil {
			return err
		}
		if i >= len(matches) {
			matches = append(matches, newElement(p))
			arr = append(arr, matches[i])
		}
		matches[i][sub.Sub] = v
	}
	container[p.Attr] = arr
	return nil
}

// newElement starts a multi-valued element selected by p's filter; a work
// email is marked primary, as Entra does.
func newElement(p Path) map[string]any {
	e := map[string]any{p.FilterAttr: p.FilterValue}
	if strings.EqualFold(p.Attr, "emails") && strings.EqualFold(p.FilterValue, "work") {
		e["primary"] = true
	}
	return e
}

func elementMatches(m map[string]any, p Path) bool {
	v, ok := scimjson.Lookup(m, p.FilterAttr)
	if !ok {
		return false
	}
	s, ok := scalarString(v)
	return ok && strings.EqualFold(s, p.FilterValue)
}

package scimserver

import (
	"net/http"
	"strings"

	"provisiond/connector/scim/scimjson"
)

func (s *Server) serviceProviderConfig(base string) (any, error) {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "",
		"patch":            map[string]any{"supported": !s.opts.NoPatch},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": !s.opts.NoFilter, "maxResults": maxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "Authentication scheme using the OAuth Bearer Token Standard",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	}, nil
}

// attr describes one schema attribute (RFC 7643 §7).
func attr(name, typ string, multi bool, subs ...map[string]any) map[string]any {
	a := map[string]any{
		"name": name, "type": typ, "multiValued": multi, "required": false,
		"caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
	}
	if len(subs) > 0 {
		list := make([]any, len(subs))
		for i, s := range subs {
			list[i] = s
		}
		a["subAttributes"] = list
	}
	return a
}

func str(name string) map[string]any { return attr(name, "string", false) }

func with(a map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i].(string)] = kv[i+1]
	}
	return a
}

// multi is a multi-valued complex attribute with value, type and primary.
func multi(name string, types ...string) map[string]any {
	typ := str("type")
	if len(types) > 0 {
		typ["canonicalValues"] = types
	}
	return attr(name, "complex", true, str("value"), str("display"), typ, attr("primary", "boolean", false))
}

func schemaDefs() []map[string]any {
	user := []any{
		with(str("userName"), "required", true, "uniqueness", "server"),
		attr("name", "complex", false, str("formatted"), str("familyName"), str("givenName"),
			str("middleName"), str("honorificPrefix"), str("honorificSuffix")),
		str("displayName"), str("nickName"), attr("profileUrl", "reference", false), str("title"),
		str("userType"), str("preferredLanguage"), str("locale"), str("timezone"),
		attr("active", "boolean", false), with(str("password"), "mutability", "writeOnly", "returned", "never"),
		multi("emails", "work", "home", "other"), multi("phoneNumbers", "work", "home", "mobile", "fax", "pager", "other"),
		multi("ims"), multi("photos", "photo", "thumbnail"),
		attr("addresses", "complex", true, str("formatted"), str("streetAddress"), str("locality"),
			str("region"), str("postalCode"), str("country"), str("type"), attr("primary", "boolean", false)),
		with(multi("groups"), "mutability", "readOnly"), multi("entitlements"), multi("roles"),
		multi("x509Certificates"), with(str("externalId"), "caseExact", true),
	}
	group := []any{
		with(str("displayName"), "required", true, "uniqueness", "server"),
		attr("members", "complex", true, with(str("value"), "mutability", "immutable"),
			attr("$ref", "reference", false), str("display"), str("type")),
		with(str("externalId"), "caseExact", true),
	}
	enterprise := []any{
		str("employeeNumber"), str("costCenter"), str("organization"), str("division"), str("department"),
		attr("manager", "complex", false, str("value"), attr("$ref", "reference", false),
			with(str("displayName"), "mutability", "readOnly")),
	}
	def := func(id, name, desc string, attrs []any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"},
			"id": id, "name": name, "description": desc, "attributes": attrs,
			"meta": map[string]any{"resourceType": "Schema"}}
	}
	return []map[string]any{
		def(scimjson.UserSchema, "User", "User Account", user),
		def(scimjson.GroupSchema, "Group", "Group", group),
		def(scimjson.EnterpriseUserSchema, "EnterpriseUser", "Enterprise User", enterprise),
	}
}

func schemasResponse(id, base string) (any, error) {
	defs := schemaDefs()
	for _, d := range defs {
		d["meta"].(map[string]any)["location"] = base + "/Schemas/" + d["id"].(string)
	}
	return pick(defs, id, "Schema")
}

func resourceTypesResponse(id, base string) (any, error) {
	rt := func(name, schema string, ext bool) map[string]any {
		m := map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
			"id":      name, "name": name, "endpoint": endpointOf(name), "schema": schema,
			"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + name},
		}
		if ext {
			m["schemaExtensions"] = []any{map[string]any{"schema": scimjson.EnterpriseUserSchema, "required": false}}
		}
		return m
	}
	return pick([]map[string]any{rt("User", scimjson.UserSchema, true), rt("Group", scimjson.GroupSchema, false)}, id, "ResourceType")
}

// pick returns the whole list as a ListResponse, or the item with the id.
func pick(items []map[string]any, id, what string) (any, error) {
	if id == "" {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		return scimjson.NewListResponse(len(items), 1, list), nil
	}
	for _, it := range items {
		if strings.EqualFold(it["id"].(string), id) {
			return it, nil
		}
	}
	return nil, &Error{Status: http.StatusNotFound, Detail: what + " " + id + " not found"}
}

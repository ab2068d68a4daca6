package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/store"
)

// This file holds the /users routes and the property decoder shared by the
// directory's writable resources (users, groups).

// routesDirectory registers the built-in directory: users, groups and their
// members, application templates, service principals, owners and app role
// assignments.
func (s *Server) routesDirectory(mux *http.ServeMux) {
	s.route(mux, "GET /users", auth.UserRead, s.listUsers)
	s.route(mux, "POST /users", auth.UserWrite, s.createUser)
	s.route(mux, "GET /users/{userId}", auth.UserRead, s.getUser)
	s.route(mux, "PATCH /users/{userId}", auth.UserWrite, s.updateUser)
	s.route(mux, "DELETE /users/{userId}", auth.UserWrite, s.deleteUser)
	s.route(mux, "GET /users/{userId}/appRoleAssignments", auth.UserRead, s.listUserAssignments)
	s.routesGroups(mux)
	s.routesApps(mux)
}

// propSpec describes one writable property of a directory object.
type propSpec struct {
	kind     kind
	required bool // on create; never null on update
	// transient properties are accepted but never stored nor returned.
	transient bool
	// check validates a non-null value; it returns a hint for the caller
	// when the value is invalid.
	check func(v any) string
}

// objectSpec describes the writable properties of one entity type.
type objectSpec struct {
	typeName   string // "microsoft.graph.user"
	resource   string // "User", as in Graph's "Invalid value specified" messages
	props      map[string]propSpec
	lower      map[string]string
	readOnly   []string // accepted and ignored (clients round-trip objects)
	extensions bool     // extension_<appid>_<name> properties are writable
	binds      []string // navigation properties settable with name@odata.bind
}

func newObjectSpec(o objectSpec) objectSpec {
	o.lower = map[string]string{}
	for name := range o.props {
		o.lower[strings.ToLower(name)] = name
	}
	for _, name := range o.readOnly {
		o.lower[strings.ToLower(name)] = name
	}
	return o
}

// decoded is a validated request body. props maps canonical property names
// to their values; on update a nil value clears the property.
type decoded struct {
	props map[string]any
	binds map[string][]string // navigation property → @odata.id URLs
}

// decode validates a JSON body against the spec. On create every required
// property must be present and non-null.
func (o objectSpec) decode(raw []byte, create bool) (decoded, error) {
	d := decoded{props: map[string]any{}, binds: map[string][]string{}}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return d, dirBadRequest("The request body must be a JSON object with the properties of %s.", o.typeName)
	}
	for _, key := range slices.Sorted(maps.Keys(body)) {
		if err := o.decodeProp(&d, key, body[key]); err != nil {
			return d, err
		}
	}
	if create {
		for _, name := range slices.Sorted(maps.Keys(o.props)) {
			if o.props[name].required && d.props[name] == nil {
				return d, dirBadRequest("Property '%s' is required when creating the object; add it to the request body.", name)
			}
		}
	}
	return d, nil
}

func (o objectSpec) decodeProp(d *decoded, key string, rawVal json.RawMessage) error {
	var v any
	if err := json.Unmarshal(rawVal, &v); err != nil {
		return dirBadRequest("Invalid value for property '%s': %v.", key, err)
	}
	if name, ann, ok := strings.Cut(key, "@"); ok {
		return o.decodeAnnotation(d, name, ann, v)
	}
	name, known := o.lower[strings.ToLower(key)]
	if !known {
		if !o.extensions || !extensionName.MatchString(key) {
			hint := ""
			if o.extensions && strings.HasPrefix(strings.ToLower(key), "extension_") {
				hint = " Directory extension properties are named extension_{appId without dashes}_{name}."
			}
			return dirBadRequest("Property '%s' does not exist on type '%s'.%s", key, o.typeName, hint)
		}
		if !scalarOrList(v) {
			return dirBadRequest("Invalid value for property '%s': an extension property holds a string, number, boolean or a list of them.", key)
		}
		d.props[key] = v
		return nil
	}
	spec, writable := o.props[name]
	if !writable {
		return nil // read-only: ignored
	}
	if v == nil {
		if spec.required {
			return o.invalid(name, "it cannot be null")
		}
		d.props[name] = nil
		return nil
	}
	if got := jsonType(v); !kindAccepts(spec.kind, v) {
		return dirBadRequest("Invalid value for property '%s': expected %s, got a JSON %s.", name, spec.kind.EDM(), got)
	}
	if spec.check != nil {
		if hint := spec.check(v); hint != "" {
			return o.invalid(name, hint)
		}
	}
	if spec.kind == kindStrings {
		v = stringList(v)
	}
	d.props[name] = v
	return nil
}

func (o objectSpec) decodeAnnotation(d *decoded, name, ann string, v any) error {
	switch {
	case name == "" && ann == "odata.type":
		t, _ := v.(string)
		if t != "" && !strings.EqualFold(strings.TrimPrefix(t, "#"), o.typeName) {
			return dirBadRequest("The @odata.type '%v' does not match the resource type '#%s'.", v, o.typeName)
		}
		return nil
	case ann == "odata.bind" && name != "":
		for _, nav := range o.binds {
			if strings.EqualFold(nav, name) {
				list, ok := v.([]any)
				refs := make([]string, 0, len(list))
				for _, e := range list {
					s, isStr := e.(string)
					if !isStr {
						ok = false
						break
					}
					refs = append(refs, s)
				}
				if !ok {
					return dirBadRequest("Invalid value for '%s@odata.bind': expected a list of object URLs such as \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\".", name)
				}
				d.binds[nav] = append(d.binds[nav], refs...)
				return nil
			}
		}
		return dirBadRequest("Binding '%s@odata.bind' is not supported on type '%s'.", name, o.typeName)
	}
	return nil // other instance and property annotations are informational
}

// dirBadRequest is the directory's 400 for a request the caller must fix.
func dirBadRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "Request_BadRequest", format, args...)
}

func (o objectSpec) invalid(name, hint string) *Error {
	return dirBadRequest("Invalid value specified for property '%s' of resource '%s': %s.", name, o.resource, hint)
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

func kindAccepts(k kind, v any) bool {
	switch k {
	case kindString:
		_, ok := v.(string)
		return ok
	case kindBool:
		_, ok := v.(bool)
		return ok
	case kindStrings:
		list, ok := v.([]any)
		for _, e := range list {
			if _, isStr := e.(string); !isStr {
				return false
			}
		}
		return ok
	case kindObject:
		_, ok := v.(map[string]any)
		return ok
	}
	return scalarOrList(v)
}

func scalarOrList(v any) bool {
	switch t := v.(type) {
	case string, bool, float64, nil:
		return true
	case []any:
		for _, e := range t {
			switch e.(type) {
			case string, bool, float64:
			default:
				return false
			}
		}
		return true
	}
	return false
}

func stringList(v any) []any {
	list, _ := v.([]any)
	if list == nil {
		return []any{}
	}
	return list
}

// Value checks. Each returns "" when the value is fine, else a hint.

func nonEmpty(max int) func(any) string {
	return func(v any) string {
		s := v.(string)
		switch {
		case strings.TrimSpace(s) == "":
			return "it cannot be empty"
		case len(s) > max:
			return "it is longer than the limit of " + strconv.Itoa(max) + " characters"
		}
		return ""
	}
}

func maxLen(max int) func(any) string {
	return func(v any) string {
		if len(v.(string)) > max {
			return "it is longer than the limit of " + strconv.Itoa(max) + " characters"
		}
		return ""
	}
}

func checkUPN(v any) string {
	s := v.(string)
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return "use the form alias@domain, e.g. adele@contoso.com"
	case strings.ContainsAny(s, " \t\r\n\"\\<>()[];:,"):
		return "it contains a space or a character not allowed in a user principal name"
	case len(s) > 113 || len(local) > 64:
		return "it is too long (at most 64 characters before the @ and 113 in all)"
	}
	return ""
}

func checkMailNickname(v any) string {
	s := v.(string)
	switch {
	case s == "":
		return "it cannot be empty"
	case len(s) > 64:
		return "it is longer than the limit of 64 characters"
	case strings.ContainsAny(s, " \t\r\n@()\\[]\";:<>,"):
		return "it cannot contain spaces or any of @ ( ) \\ [ ] \" ; : < > ,"
	}
	return ""
}

func checkMail(v any) string {
	s := v.(string)
	if s == "" {
		return ""
	}
	if hint := checkUPN(s); hint != "" {
		return "it is not an email address"
	}
	return ""
}

func checkUserType(v any) string {
	switch v.(string) {
	case "Member", "Guest":
		return ""
	}
	return "use Member or Guest"
}

func checkPasswordProfile(v any) string {
	m := v.(map[string]any)
	for k, pv := range m {
		if strings.HasPrefix(k, "@") {
			continue
		}
		switch k {
		case "password":
			if _, ok := pv.(string); !ok && pv != nil {
				return "password must be a string"
			}
		case "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa":
			if _, ok := pv.(bool); !ok && pv != nil {
				return k + " must be true or false"
			}
		default:
			return "property '" + k + "' does not exist on type 'microsoft.graph.passwordProfile'"
		}
	}
	return ""
}

// userSpec lists the writable user properties.
var userSpec = newObjectSpec(objectSpec{
	typeName: "microsoft.graph.user",
	resource: "User",
	props: map[string]propSpec{
		"accountEnabled":           {kind: kindBool, required: true},
		"displayName":              {kind: kindString, required: true, check: nonEmpty(256)},
		"mailNickname":             {kind: kindString, required: true, check: checkMailNickname},
		"userPrincipalName":        {kind: kindString, required: true, check: checkUPN},
		"passwordProfile":          {kind: kindObject, transient: true, check: checkPasswordProfile},
		"givenName":                {kind: kindString, check: maxLen(64)},
		"surname":                  {kind: kindString, check: maxLen(64)},
		"mail":                     {kind: kindString, check: checkMail},
		"jobTitle":                 {kind: kindString, check: maxLen(128)},
		"department":               {kind: kindString, check: maxLen(64)},
		"employeeId":               {kind: kindString, check: maxLen(16)},
		"employeeType":             {kind: kindString},
		"companyName":              {kind: kindString, check: maxLen(64)},
		"city":                     {kind: kindString, check: maxLen(128)},
		"state":                    {kind: kindString, check: maxLen(128)},
		"country":                  {kind: kindString, check: maxLen(128)},
		"postalCode":               {kind: kindString, check: maxLen(40)},
		"streetAddress":            {kind: kindString, check: maxLen(1024)},
		"officeLocation":           {kind: kindString, check: maxLen(128)},
		"mobilePhone":              {kind: kindString, check: maxLen(64)},
		"businessPhones":           {kind: kindStrings},
		"preferredLanguage":        {kind: kindString},
		"usageLocation":            {kind: kindString},
		"userType":                 {kind: kindString, check: checkUserType},
		"onPremisesSamAccountName": {kind: kindString},
	},
	readOnly:   []string{"id", "createdDateTime", "deletedDateTime"},
	extensions: true,
})

// userFields are the user properties $select and $filter may name.
var userFields = newFields("microsoft.graph.user", func() map[string]kind {
	m := map[string]kind{"id": kindString, "createdDateTime": kindString}
	for name, p := range userSpec.props {
		if !p.transient {
			m[name] = p.kind
		}
	}
	return m
}(), true)

// userDefaults are Graph's default $select set, present even when unset.
var userDefaults = []string{"displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname"}

// decodeUser validates a user create (create=true) or update body.
func decodeUser(raw []byte, create bool) (decoded, error) {
	d, err := userSpec.decode(raw, create)
	if err != nil {
		return d, err
	}
	delete(d.props, "passwordProfile") // accepted, never stored
	return d, nil
}

// userJSON is the Graph representation of u: id, the default properties
// and every stored property.
func userJSON(u store.User) map[string]any {
	m := map[string]any{"businessPhones": []any{}}
	for _, name := range userDefaults {
		m[name] = nil
	}
	for k, v := range u.Props {
		if k == "passwordProfile" {
			continue
		}
		m[k] = v
	}
	if m["businessPhones"] == nil {
		m["businessPhones"] = []any{}
	}
	m["id"] = u.ID
	m["userPrincipalName"] = u.UserPrincipalName
	m["accountEnabled"] = u.AccountEnabled
	if !u.Created.IsZero() {
		m["createdDateTime"] = graphTime(u.Created)
	}
	return m
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// applyProps merges decoded properties into props; nil clears.
func applyProps(props map[string]any, d decoded, skip ...string) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	for k, v := range d.props {
		if slices.Contains(skip, k) {
			continue
		}
		if v == nil {
			delete(props, k)
			continue
		}
		props[k] = v
	}
	return props
}

var errDuplicateUPN = dirBadRequest("Another object with the same value for property userPrincipalName already exists.")

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		return err
	}
	d, err := decodeUser(raw, true)
	if err != nil {
		return err
	}
	u := store.User{
		ID:                s.newID(),
		UserPrincipalName: d.props["userPrincipalName"].(string),
		AccountEnabled:    d.props["accountEnabled"].(bool),
		Props:             applyProps(nil, d, "userPrincipalName", "accountEnabled"),
		Created:           s.now().UTC().Truncate(time.Second),
	}
	if err := s.store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errDuplicateUPN
		}
		return err
	}
	return writeEntity(w, r, http.StatusCreated, "users", query{}, userJSON(u))
}

// lookupUser resolves an object id or a userPrincipalName; soft-deleted
// users are not found, as in Graph.
func (s *Server) lookupUser(ctx context.Context, key string) (store.User, error) {
	var u store.User
	var err error
	if strings.Contains(key, "@") {
		u, err = s.store.GetUserByUPN(ctx, key)
	} else {
		u, err = s.store.GetUser(ctx, key)
	}
	if err == nil && u.Deleted != nil {
		err = store.ErrNotFound
	}
	return u, storeErr(err, key)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, userFields)
	if err != nil {
		return err
	}
	u, err := s.lookupUser(r.Context(), r.PathValue("userId"))
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, "users", q, userJSON(u))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, userFields)
	if err != nil {
		return err
	}
	p, err := q.List(func(after string, limit int) ([]map[string]any, error) {
		users, err := s.store.ListUsers(r.Context(), store.ListOptions{After: after, Limit: limit})
		out := make([]map[string]any, len(users))
		for i, u := range users {
			out[i] = userJSON(u)
		}
		return out, err
	})
	if err != nil {
		return err
	}
	return writeCollection(w, r, "users", q, p)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.lookupUser(r.Context(), r.PathValue("userId"))
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		return err
	}
	d, err := decodeUser(raw, false)
	if err != nil {
		return err
	}
	if v, ok := d.props["userPrincipalName"].(string); ok {
		u.UserPrincipalName = v
	}
	if v, ok := d.props["accountEnabled"].(bool); ok {
		u.AccountEnabled = v
	}
	u.Props = applyProps(u.Props, d, "userPrincipalName", "accountEnabled")
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errDuplicateUPN
		}
		return storeErr(err, u.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.lookupUser(r.Context(), r.PathValue("userId"))
	if err != nil {
		return err
	}
	now := s.now().UTC()
	u.Deleted = &now
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		return storeErr(err, u.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUserAssignments(w http.ResponseWriter, r *http.Request) error {
	u, err := s.lookupUser(r.Context(), r.PathValue("userId"))
	if err != nil {
		return err
	}
	return s.listAssignmentsOf(w, r, "users('"+u.ID+"')/appRoleAssignments", u.ID)
}

package graphapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/connector"
	"provisiond/directory"
	"provisiond/store"
)

// This file holds the /users routes.

// routesDirectory registers the built-in directory: users, groups and their
// members, application templates, service principals, owners and app role
// assignments.
func (s *Server) routesDirectory(mux *http.ServeMux) {
	users := s.users()
	s.route(mux, "GET /users", auth.UserRead, users.list)
	s.route(mux, "GET /users/$count", auth.UserRead, users.count)
	s.getOnly(mux, "/users/$count")
	s.route(mux, "POST /users", auth.UserWrite, s.createUser)
	s.route(mux, "GET /users/{userId}", auth.UserRead, users.get)
	s.route(mux, "PATCH /users/{userId}", auth.UserWrite, users.update)
	s.route(mux, "DELETE /users/{userId}", auth.UserWrite, users.delete)
	s.route(mux, "GET /users/{userId}/appRoleAssignments", auth.UserRead, assignmentsOf(s, users))
	s.route(mux, "GET /users/{userId}/memberOf", auth.UserRead, memberOf(s, users))
	s.routesGroups(mux)
	s.routesApps(mux)
}

// users is the /users entity set.
func (s *Server) users() resource[store.User] {
	return resource[store.User]{
		set: "users", key: "userId", fields: userFields, view: userJSON,
		find: s.lookupUser, fetch: s.store.ListUsers,
		id:   func(u store.User) string { return u.ID },
		spec: userSpec,
		apply: func(u *store.User, d decoded) error {
			if err := refuseMastered(connector.ClassUser, u.Props, d); err != nil {
				return err
			}
			if v, ok := d.props["userPrincipalName"].(string); ok {
				u.UserPrincipalName = v
			}
			if v, ok := d.props["accountEnabled"].(bool); ok {
				u.AccountEnabled = v
			}
			u.Props = applyProps(u.Props, d, "userPrincipalName", "accountEnabled")
			return nil
		},
		edit:       storeEdit(s.store.EditUser, func(u *store.User) bool { return u.Deleted != nil }, errDuplicateUPN),
		softDelete: func(u *store.User) { u.Deleted = s.deletedNow() },
	}
}

// deletedNow is the deletion time of an object soft-deleted now.
func (s *Server) deletedNow() *time.Time {
	now := s.now().UTC()
	return &now
}

func checkUserType(v any) string {
	switch v.(string) {
	case "Member", "Guest":
		return ""
	}
	return "use Member or Guest"
}

// checkCountryCode takes a two-letter country code (ISO 3166-1 alpha-2),
// as Graph's usageLocation does.
func checkCountryCode(v any) string {
	s := v.(string)
	if len(s) == 2 && isASCIILetter(s[0]) && isASCIILetter(s[1]) {
		return ""
	}
	return "use a two-letter country code (ISO 3166-1 alpha-2), such as US"
}

// languageTag is an ISO 639-1 language code with optional subtags, as
// Graph's preferredLanguage takes: en, en-US, zh-Hant-TW.
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

func checkLanguage(v any) string {
	if languageTag.MatchString(v.(string)) {
		return ""
	}
	return "use an ISO 639-1 language code, such as en-US"
}

// checkBusinessPhones allows one number, as Graph does.
func checkBusinessPhones(v any) string {
	if len(v.([]any)) > 1 {
		return "only one number can be set"
	}
	return ""
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
		"streetAddress":            {kind: kindString, multiline: true, check: maxLen(1024)},
		"officeLocation":           {kind: kindString, check: maxLen(128)},
		"mobilePhone":              {kind: kindString, check: maxLen(64)},
		"businessPhones":           {kind: kindStrings, check: checkBusinessPhones},
		"preferredLanguage":        {kind: kindString, check: checkLanguage},
		"usageLocation":            {kind: kindString, check: checkCountryCode},
		"userType":                 {kind: kindString, check: checkUserType},
		"onPremisesSamAccountName": {kind: kindString},
		// Graph lets a client set it (a federated domain's users need
		// it); cloud sync's users keep theirs (refuseMastered).
		"onPremisesImmutableId": {kind: kindString, check: maxLen(256)},
	},
	readOnly:   append([]string{"id", "createdDateTime", "deletedDateTime"}, onPremisesReadOnly...),
	extensions: true,
})

// onPremisesReadOnly are the properties only cloud sync writes: Graph
// clients read and filter them, and may send them back unchanged.
var onPremisesReadOnly = []string{"onPremisesSyncEnabled", "onPremisesLastSyncDateTime", "onPremisesDistinguishedName",
	"onPremisesImmutableId", "onPremisesUserPrincipalName", "onPremisesSecurityIdentifier", "onPremisesDomainName",
	"proxyAddresses"}

// onPremisesFields are their kinds, for $select and $filter.
var onPremisesFields = map[string]kind{
	"onPremisesSyncEnabled": kindBool, "onPremisesLastSyncDateTime": kindString, "onPremisesDistinguishedName": kindString,
	"onPremisesImmutableId": kindString, "onPremisesUserPrincipalName": kindString, "onPremisesSecurityIdentifier": kindString,
	"onPremisesDomainName": kindString, "onPremisesSamAccountName": kindString, "proxyAddresses": kindStrings,
}

// errMastered is Graph's refusal to change a synced object's on-premises
// properties.
var errMastered = dirBadRequest("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")

// refuseMastered refuses a change of a property cloud sync masters on an
// object it synced; the other properties stay writable.
func refuseMastered(class connector.Class, props map[string]any, d decoded) error {
	if !directory.IsSynced(props) {
		return nil
	}
	for name := range d.props {
		if directory.SyncedProperty(class, name) {
			return errMastered
		}
	}
	return nil
}

// userFields are the user properties $select and $filter may name.
var userFields = newFields("microsoft.graph.user", func() map[string]kind {
	m := map[string]kind{"id": kindString, "createdDateTime": kindString}
	maps.Copy(m, onPremisesFields)
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
	d, err := decodeBody(w, r, userSpec, true)
	if err != nil {
		return err
	}
	if err := userSpec.checkReadOnly(d, nil); err != nil {
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

package graphapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// newUser is a valid create body for upn.
func newUser(upn string) map[string]any {
	nick, _, _ := strings.Cut(upn, "@")
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       "User " + nick,
		"mailNickname":      nick,
		"userPrincipalName": upn,
		"passwordProfile":   map[string]any{"password": "xWwvJ]6NMw+bWH-d", "forceChangePasswordNextSignIn": true},
	}
}

// createUser creates a user and returns its id.
func (a *apiTest) createUser(upn string, extra ...map[string]any) string {
	a.t.Helper()
	body := newUser(upn)
	for _, e := range extra {
		for k, v := range e {
			body[k] = v
		}
	}
	return a.must(http.StatusCreated, "POST", "/v1.0/users", body).object(a.t)["id"].(string)
}

func TestCreateUser(t *testing.T) {
	a := newAPITest(t)
	full := newUser("adele@contoso.com")
	for k, v := range map[string]any{
		"givenName": "Adele", "surname": "Vance", "mail": "adele@contoso.com", "jobTitle": "Retail Manager",
		"department": "Retail", "employeeId": "1001", "companyName": "Contoso", "city": "Paris",
		"state": "IDF", "country": "France", "postalCode": "75001", "streetAddress": "1 rue de Rivoli",
		"officeLocation": "18/2111", "mobilePhone": "+33 6 00 00 00 00", "businessPhones": []string{"+33 1 00 00 00 00"},
		"preferredLanguage": "fr-FR", "usageLocation": "FR", "userType": "Member", "employeeType": "Employee",
		"onPremisesSamAccountName": "adele", "extension_0123456789abcdef0123456789abcdef_costCenter": "CC-42",
		"@odata.type": "#microsoft.graph.user",
	} {
		full[k] = v
	}
	res := a.must(http.StatusCreated, "POST", "/v1.0/users", full)
	got := without(t, res.object(t), "id", "createdDateTime")
	want := map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#users/$entity",
		"accountEnabled": true, "displayName": "User adele", "mailNickname": "adele",
		"userPrincipalName": "adele@contoso.com", "givenName": "Adele", "surname": "Vance",
		"mail": "adele@contoso.com", "jobTitle": "Retail Manager", "department": "Retail", "employeeId": "1001",
		"companyName": "Contoso", "city": "Paris", "state": "IDF", "country": "France", "postalCode": "75001",
		"streetAddress": "1 rue de Rivoli", "officeLocation": "18/2111", "mobilePhone": "+33 6 00 00 00 00",
		"businessPhones": []any{"+33 1 00 00 00 00"}, "preferredLanguage": "fr-FR", "usageLocation": "FR",
		"userType": "Member", "employeeType": "Employee", "onPremisesSamAccountName": "adele",
		"extension_0123456789abcdef0123456789abcdef_costCenter": "CC-42",
	}
	diff(t, "created user", got, want)

	// Minimal: Graph's default properties are present as null, businessPhones as [].
	res = a.must(http.StatusCreated, "POST", "/v1.0/users", gzipBody(t, newUser("min@contoso.com")))
	got = without(t, res.object(t), "id", "createdDateTime", "@odata.context")
	diff(t, "minimal user", got, map[string]any{
		"accountEnabled": true, "displayName": "User min", "mailNickname": "min", "userPrincipalName": "min@contoso.com",
		"businessPhones": []any{}, "givenName": nil, "jobTitle": nil, "mail": nil, "mobilePhone": nil,
		"officeLocation": nil, "preferredLanguage": nil, "surname": nil,
	})

	// The password is never stored.
	u, err := a.store.GetUser(context.Background(), res.object(t)["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Props["passwordProfile"]; ok || strings.Contains(string(res.body), "xWwvJ") {
		t.Errorf("password stored or returned: %v / %s", u.Props, res.body)
	}
}

func TestCreateUserErrors(t *testing.T) {
	a := newAPITest(t)
	a.createUser("taken@contoso.com")
	with := func(k string, v any) map[string]any {
		b := newUser("new@contoso.com")
		b[k] = v
		return b
	}
	drop := func(k string) map[string]any {
		b := newUser("new@contoso.com")
		delete(b, k)
		return b
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"malformed JSON", `{"displayName":`, 400, "BadRequest", []string{"not valid JSON"}},
		{"empty body", "", 400, "BadRequest", []string{"empty"}},
		{"array body", `[1]`, 400, "Request_BadRequest", []string{"JSON object"}},
		{"bad gzip", gzipped{0x1f, 0x8b, 0, 1}, 400, "BadRequest", []string{"gzip"}},
		{"missing accountEnabled", drop("accountEnabled"), 400, "Request_BadRequest", []string{"'accountEnabled' is required"}},
		{"missing displayName", drop("displayName"), 400, "Request_BadRequest", []string{"'displayName' is required"}},
		{"missing mailNickname", drop("mailNickname"), 400, "Request_BadRequest", []string{"'mailNickname' is required"}},
		{"missing userPrincipalName", drop("userPrincipalName"), 400, "Request_BadRequest", []string{"'userPrincipalName' is required"}},
		{"null displayName", with("displayName", nil), 400, "Request_BadRequest", []string{"'displayName'", "cannot be null"}},
		{"unknown property", with("favouriteColour", "blue"), 400, "Request_BadRequest",
			[]string{"Property 'favouriteColour' does not exist on type 'microsoft.graph.user'."}},
		{"physicalDeliveryOfficeName is not Graph", with("physicalDeliveryOfficeName", "x"), 400, "Request_BadRequest", []string{"does not exist"}},
		{"bad extension name", with("extension_abc_costCenter", "x"), 400, "Request_BadRequest", []string{"extension_{appId without dashes}_{name}"}},
		{"extension object", with("extension_0123456789abcdef0123456789abcdef_x", map[string]any{"a": 1}), 400, "Request_BadRequest", []string{"extension property"}},
		{"wrong type bool", with("accountEnabled", "yes"), 400, "Request_BadRequest", []string{"'accountEnabled'", "Edm.Boolean", "string"}},
		{"wrong type string", with("givenName", 42), 400, "Request_BadRequest", []string{"'givenName'", "Edm.String", "number"}},
		{"wrong type list", with("businessPhones", "+1 555"), 400, "Request_BadRequest", []string{"'businessPhones'", "Collection(Edm.String)"}},
		{"wrong list element", with("businessPhones", []any{1}), 400, "Request_BadRequest", []string{"'businessPhones'"}},
		{"bad password profile", with("passwordProfile", map[string]any{"pwd": "x"}), 400, "Request_BadRequest", []string{"passwordProfile"}},
		{"upn without domain", with("userPrincipalName", "nodomain"), 400, "Request_BadRequest", []string{"'userPrincipalName'", "alias@domain"}},
		{"empty displayName", with("displayName", " "), 400, "Request_BadRequest", []string{"'displayName'", "empty"}},
		{"bad mailNickname", with("mailNickname", "a b"), 400, "Request_BadRequest", []string{"'mailNickname'"}},
		{"bad userType", with("userType", "Admin"), 400, "Request_BadRequest", []string{"Member or Guest"}},
		{"three-letter usageLocation", with("usageLocation", "ZZZ"), 400, "Request_BadRequest", []string{"'usageLocation'", "two-letter country code"}},
		{"usageLocation not letters", with("usageLocation", "1\u00e9"), 400, "Request_BadRequest", []string{"'usageLocation'", "two-letter country code"}},
		{"wrong @odata.type", with("@odata.type", "#microsoft.graph.group"), 400, "Request_BadRequest", []string{"@odata.type"}},
		{"duplicate upn", newUser("TAKEN@contoso.com"), 400, "Request_BadRequest",
			[]string{"Another object with the same value for property userPrincipalName already exists."}},
		{"too large", `{"displayName":"` + strings.Repeat("x", maxBody) + `"}`, 413, "RequestEntityTooLarge", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("POST", "/v1.0/users", tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
	// Plain JSON labelled gzip (an SDK retry) is accepted.
	a.must(http.StatusCreated, "POST", "/v1.0/users", newUser("plain@contoso.com"), header("Content-Encoding", "gzip"))
}

func TestGetUser(t *testing.T) {
	a := newAPITest(t)
	id := a.createUser("megan@contoso.com", map[string]any{"jobTitle": "Marketing"})
	paths := []string{
		"/v1.0/users/" + id,
		"/v1.0/users/MEGAN@contoso.com",
		"/v1.0/users('" + id + "')",
		"/v1.0/USERS/" + id + "/",
		"/v1.0/users/" + url.PathEscape("megan@contoso.com"),
	}
	for _, p := range paths {
		res := a.must(http.StatusOK, "GET", p, nil)
		m := res.object(t)
		if m["id"] != id || m["jobTitle"] != "Marketing" || m["@odata.context"] != a.http.URL+"/v1.0/$metadata#users/$entity" {
			t.Errorf("GET %s = %s", p, res.body)
		}
	}
	res := a.must(http.StatusOK, "GET", "/v1.0/users/"+id+"?$select=displayName,jobTitle", nil)
	diff(t, "$select", res.object(t), map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#users(displayName,jobTitle)/$entity",
		"id":             id, "displayName": "User megan", "jobTitle": "Marketing",
	})
	a.call("GET", "/v1.0/users/"+id+"?$select=nope", nil).wantError(t, 400, "Request_BadRequest", "'nope'")
	a.call("GET", "/v1.0/users/"+id+"?$top=1", nil).wantError(t, 400, "BadRequest", "$top")
	a.call("GET", "/v1.0/users/0c4b4b7e-0000-4000-8000-000000000000", nil).wantError(t, 404, "Request_ResourceNotFound",
		"Resource '0c4b4b7e-0000-4000-8000-000000000000' does not exist")
	a.call("GET", "/v1.0/users/nobody@contoso.com", nil).wantError(t, 404, "Request_ResourceNotFound")
}

func TestUpdateUser(t *testing.T) {
	a := newAPITest(t)
	id := a.createUser("lynne@contoso.com", map[string]any{"jobTitle": "Engineer", "city": "Oslo"})
	a.createUser("other@contoso.com")

	res := a.must(http.StatusNoContent, "PATCH", "/v1.0/users/"+id, map[string]any{
		"jobTitle": "Lead", "city": nil, "accountEnabled": false, "businessPhones": []string{"1"},
		"passwordProfile": map[string]any{"password": "secret-Pa55"}, "id": id,
	})
	if len(res.body) != 0 {
		t.Errorf("204 with body %s", res.body)
	}
	got := a.must(http.StatusOK, "GET", "/v1.0/users/"+id, nil).object(t)
	if got["jobTitle"] != "Lead" || got["accountEnabled"] != false || got["displayName"] != "User lynne" {
		t.Errorf("after PATCH: %v", got)
	}
	if _, ok := got["city"]; ok {
		t.Errorf("city not cleared: %v", got)
	}
	diff(t, "businessPhones", got["businessPhones"], []any{"1"})

	// Renaming the UPN through the UPN key.
	a.must(http.StatusNoContent, "PATCH", "/v1.0/users/lynne@contoso.com", map[string]any{"userPrincipalName": "lynne.r@contoso.com"})
	a.must(http.StatusOK, "GET", "/v1.0/users/lynne.r@contoso.com", nil)

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		msg    []string
	}{
		{"duplicate upn", "/v1.0/users/" + id, map[string]any{"userPrincipalName": "OTHER@contoso.com"}, 400, "Request_BadRequest", []string{"userPrincipalName already exists"}},
		{"null required", "/v1.0/users/" + id, map[string]any{"displayName": nil}, 400, "Request_BadRequest", []string{"'displayName'", "null"}},
		{"unknown property", "/v1.0/users/" + id, map[string]any{"shoeSize": 44}, 400, "Request_BadRequest", []string{"'shoeSize'"}},
		{"wrong type", "/v1.0/users/" + id, map[string]any{"accountEnabled": 1}, 400, "Request_BadRequest", []string{"Edm.Boolean"}},
		{"malformed", "/v1.0/users/" + id, `{`, 400, "BadRequest", []string{"JSON"}},
		{"unknown user", "/v1.0/users/11111111-1111-4111-8111-111111111111", map[string]any{"city": "x"}, 404, "Request_ResourceNotFound", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call("PATCH", tt.path, tt.body).wantError(t, tt.status, tt.code, tt.msg...)
		})
	}
}

func TestDeleteUser(t *testing.T) {
	a := newAPITest(t)
	id := a.createUser("gone@contoso.com")
	keep := a.createUser("kept@contoso.com")
	a.must(http.StatusNoContent, "DELETE", "/v1.0/users/"+id, nil)
	a.call("GET", "/v1.0/users/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("GET", "/v1.0/users/gone@contoso.com", nil).wantError(t, 404, "Request_ResourceNotFound")
	a.call("PATCH", "/v1.0/users/"+id, map[string]any{"city": "x"}).wantError(t, 404, "Request_ResourceNotFound")
	a.call("DELETE", "/v1.0/users/"+id, nil).wantError(t, 404, "Request_ResourceNotFound")

	// The provisioning source still sees it, soft-deleted.
	u, err := a.store.GetUser(context.Background(), id)
	if err != nil || u.Deleted == nil {
		t.Errorf("store.GetUser after delete = %+v, %v; want soft-deleted", u, err)
	}
	vals := a.must(http.StatusOK, "GET", "/v1.0/users", nil).values(t)
	if len(vals) != 1 || vals[0]["id"] != keep {
		t.Errorf("list after delete = %v", vals)
	}
}

func TestListUsers(t *testing.T) {
	a := newAPITest(t)
	ids := map[string]string{}
	for _, n := range []string{"alex", "allan", "bianca", "o'neil", "diego"} {
		ids[n] = a.createUser(n+"@contoso.com", map[string]any{"givenName": strings.ToUpper(n[:1]) + n[1:]})
	}
	a.must(http.StatusNoContent, "PATCH", "/v1.0/users/"+ids["diego"], map[string]any{"accountEnabled": false})

	res := a.must(http.StatusOK, "GET", "/v1.0/users", nil)
	body := res.object(t)
	if body["@odata.context"] != a.http.URL+"/v1.0/$metadata#users" || len(res.values(t)) != 5 {
		t.Errorf("list = %s", res.body)
	}
	if _, ok := body["@odata.nextLink"]; ok {
		t.Errorf("nextLink on a single page: %s", res.body)
	}

	upns := func(vals []map[string]any) []string {
		var out []string
		for _, v := range vals {
			out = append(out, v["userPrincipalName"].(string))
		}
		return out
	}
	filters := []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'ALEX@contoso.com'", []string{"alex@contoso.com"}},
		{"displayName eq 'User bianca'", []string{"bianca@contoso.com"}},
		{"accountEnabled eq false", []string{"diego@contoso.com"}},
		{"startswith(displayName,'User al')", []string{"alex@contoso.com", "allan@contoso.com"}},
		{"startswith(givenName,'a') and accountEnabled eq true", []string{"alex@contoso.com", "allan@contoso.com"}},
		{"(givenName eq 'O''neil')", []string{"o'neil@contoso.com"}},
		{"mail eq null and givenName eq 'Bianca'", []string{"bianca@contoso.com"}},
		{"id eq '" + ids["alex"] + "'", []string{"alex@contoso.com"}},
		{"displayName eq 'nobody'", nil},
	}
	for _, f := range filters {
		vals := a.must(http.StatusOK, "GET", "/v1.0/users?$filter="+url.QueryEscape(f.filter), nil).values(t)
		got := upns(vals)
		if strings.Join(got, ",") != strings.Join(sortedCopy(f.want, ids), ",") {
			t.Errorf("$filter=%s: got %v, want %v", f.filter, got, f.want)
		}
	}

	// $select narrows the items and the context URL.
	res = a.must(http.StatusOK, "GET", "/v1.0/users?$select=id,displayName&$filter="+url.QueryEscape("givenName eq 'Alex'"), nil)
	diff(t, "$select", res.object(t), map[string]any{
		"@odata.context": a.http.URL + "/v1.0/$metadata#users(id,displayName)",
		"value":          []any{map[string]any{"id": ids["alex"], "displayName": "User alex"}},
	})

	// Paging: $top=2 walks all five through nextLink, with $count each time.
	var seen []string
	next := "/v1.0/users?$top=2&$count=true&$select=userPrincipalName"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		res := a.must(http.StatusOK, "GET", next, nil, header("ConsistencyLevel", "eventual"))
		body := res.object(t)
		if body["@odata.count"] != float64(5) {
			t.Errorf("@odata.count = %v, want 5", body["@odata.count"])
		}
		vals := res.values(t)
		if len(vals) > 2 {
			t.Errorf("page of %d items with $top=2", len(vals))
		}
		seen = append(seen, upns(vals)...)
		next, _ = body["@odata.nextLink"].(string)
		if next != "" {
			if !strings.HasPrefix(next, a.http.URL+"/v1.0/users?") || !strings.Contains(next, "$skiptoken=") || !strings.Contains(next, "$top=2") {
				t.Fatalf("nextLink %q", next)
			}
			next = strings.TrimPrefix(next, a.http.URL)
		}
	}
	if len(seen) != 5 {
		t.Errorf("paged through %v, want all 5", seen)
	}

	// A filtered, paged listing.
	res = a.must(http.StatusOK, "GET", "/v1.0/users?$top=1&$filter="+url.QueryEscape("accountEnabled eq true"), nil)
	if vals, next := res.values(t), res.object(t)["@odata.nextLink"]; len(vals) != 1 || next == nil {
		t.Errorf("filtered page: %s", res.body)
	}
}

// sortedCopy orders upns by the ids of their users (the listing order).
func sortedCopy(upns []string, ids map[string]string) []string {
	out := append([]string(nil), upns...)
	id := func(upn string) string { n, _, _ := strings.Cut(upn, "@"); return ids[n] }
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if id(out[j]) < id(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestListUsersQueryErrors(t *testing.T) {
	a := newAPITest(t)
	tests := []struct {
		query string
		code  string
		msg   string
	}{
		{"$top=0", "Request_BadRequest", "Invalid page size specified: '0'"},
		{"$top=1000", "Request_BadRequest", "between 1 and 999"},
		{"$top=abc", "Request_BadRequest", "Invalid page size"},
		{"$top=1&$top=2", "BadRequest", "more than once"},
		{"$select=id,,displayName", "BadRequest", "$select"},
		{"$select=passwordProfile", "Request_BadRequest", "'passwordProfile'"},
		{"$filter=" + url.QueryEscape("displayName ne 'x'"), "Request_UnsupportedQuery", "'ne'"},
		{"$filter=" + url.QueryEscape("displayName eq 'x' or displayName eq 'y'"), "Request_UnsupportedQuery", "'or'"},
		{"$filter=" + url.QueryEscape("endswith(mail,'@x.com')"), "Request_UnsupportedQuery", "'endswith'"},
		{"$filter=" + url.QueryEscape("nope eq 'x'"), "Request_BadRequest", "Could not find a property named 'nope'"},
		{"$filter=" + url.QueryEscape("accountEnabled eq 'true'"), "BadRequest", "Edm.Boolean"},
		{"$filter=" + url.QueryEscape("displayName eq true"), "BadRequest", "Edm.String"},
		{"$filter=" + url.QueryEscape("businessPhones eq '1'"), "Request_UnsupportedQuery", "businessPhones"},
		{"$filter=" + url.QueryEscape("displayName eq 'unterminated"), "Request_UnsupportedQuery", "closing quote"},
		{"$filter=" + url.QueryEscape("displayName eq 3"), "Request_UnsupportedQuery", "'3'"},
		{"$filter=", "BadRequest", "empty"},
		{"$count=maybe", "BadRequest", "$count"},
		{"$skiptoken=garbage!", "BadRequest", "$skiptoken"},
		{"$orderby=displayName", "BadRequest", "'$orderby' is not supported"},
		{"$foo=1", "BadRequest", "'$foo' is not supported"},
		{"$filter=%zz", "BadRequest", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			a.call("GET", "/v1.0/users?"+tt.query, nil).wantError(t, 400, tt.code, tt.msg)
		})
	}
	// Options without '$' are not OData options and are ignored.
	a.must(http.StatusOK, "GET", "/v1.0/users?foo=bar", nil)
}

func TestRouting(t *testing.T) {
	a := newAPITest(t)
	a.call("GET", "/v1.0/nothingHere", nil).wantError(t, 404, "Request_ResourceNotFound", "nothingHere")
	a.call("GET", "/v1.0/users/x/nothingHere", nil).wantError(t, 404, "Request_ResourceNotFound", "nothingHere")
	res := a.call("GET", "/v1.0/users", nil, as("stranger"))
	res.wantError(t, 401, "InvalidAuthenticationToken")
	if res.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
}

func TestWrongMethod(t *testing.T) {
	a := newAPITest(t)
	a.call("PUT", "/v1.0/users", nil).wantError(t, 405, "Request_BadRequest", "PUT")
	a.call("POST", "/v1.0/users/x", nil).wantError(t, 405, "", "POST")
	a.call("PUT", "/v1.0/servicePrincipals/x/owners", nil).wantError(t, 405, "", "PUT")
}

func FuzzDecodeUser(f *testing.F) {
	f.Add([]byte(`{"accountEnabled":true,"displayName":"A","mailNickname":"a","userPrincipalName":"a@b.c"}`), true)
	f.Add([]byte(`{"passwordProfile":{"password":null},"businessPhones":["1"],"extension_0123456789abcdef0123456789abcdef_x":[1,true]}`), false)
	f.Add([]byte(`{"@odata.type":"#microsoft.graph.user","members@odata.bind":[1]}`), true)
	f.Add([]byte(`{"userPrincipalName":"@","mail":"x","userType":1}`), false)
	f.Add([]byte(`[]`), true)
	f.Add([]byte(`null`), false)
	f.Fuzz(func(t *testing.T, raw []byte, create bool) {
		d, err := userSpec.decode(raw, create)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("userSpec.decode error %T %v is not an *Error", err, err)
			}
			return
		}
		if _, ok := d.props["passwordProfile"]; ok {
			t.Fatal("passwordProfile kept")
		}
		if name, _, dup := findDuplicateKey(raw); dup {
			t.Fatalf("accepted a body naming %q twice", name)
		}
		for name, v := range d.props {
			multiline := userSpec.props[name].multiline
			if hint := controlProblem(v, multiline); hint != "" {
				t.Fatalf("accepted %s = %q: %s", name, v, hint)
			}
		}
		if upn, ok := d.props["userPrincipalName"].(string); ok && !upnByReference(upn) {
			t.Fatalf("accepted userPrincipalName %q", upn)
		}
		if create {
			for _, req := range []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"} {
				if d.props[req] == nil {
					t.Fatalf("create accepted without %s", req)
				}
			}
		}
	})
}

// Read-only properties pass as GET returns them and are a 400 when they
// would change (they were dropped); onPremisesImmutableId is writable, as
// in Graph.
func TestReadOnlyPropertiesAreNotDropped(t *testing.T) {
	a := newAPITest(t)
	with := func(body map[string]any, k string, v any) map[string]any { body[k] = v; return body }
	a.call("POST", "/v1.0/users", with(newUser("p@contoso.test"), "proxyAddresses", []any{"SMTP:p@contoso.test"})).
		wantError(t, 400, "Request_BadRequest", "Property 'proxyAddresses' is read-only (the service or cloud sync sets it).")
	a.call("POST", "/v1.0/groups", with(newGroup("synced"), "onPremisesSyncEnabled", true)).
		wantError(t, 400, "Request_BadRequest", "Property 'onPremisesSyncEnabled' is read-only")
	if got := a.must(http.StatusOK, "GET", "/v1.0/users", nil).values(t); len(got) != 0 {
		t.Fatalf("a refused create made %d users", len(got))
	}

	// The service sets id and createdDateTime whatever is sent; the
	// immutable id is the client's.
	id := a.createUser("fed@contoso.test", map[string]any{"id": "mine", "createdDateTime": "2001-01-01T00:00:00Z",
		"onPremisesImmutableId": "aW1tdXRhYmxl", "proxyAddresses": []any{}, "onPremisesSyncEnabled": nil})
	path := "/v1.0/users/" + id
	u := a.must(http.StatusOK, "GET", path+"?$select=id,onPremisesImmutableId,proxyAddresses,onPremisesSyncEnabled", nil).object(t)
	if id == "mine" || u["onPremisesImmutableId"] != "aW1tdXRhYmxl" {
		t.Errorf("created user: %v", u)
	}
	a.must(http.StatusNoContent, "PATCH", path, map[string]any{"onPremisesImmutableId": "bmV3"})
	// A GET's object goes back unchanged.
	u = a.must(http.StatusOK, "GET", path+"?$select=id,onPremisesImmutableId,proxyAddresses,onPremisesSyncEnabled,createdDateTime", nil).object(t)
	a.must(http.StatusNoContent, "PATCH", path, without(t, u, "@odata.context"))
	for _, c := range []struct {
		name string
		v    any
	}{{"proxyAddresses", []any{"smtp:x@contoso.test"}}, {"onPremisesSyncEnabled", true}, {"onPremisesDistinguishedName", "CN=x"}} {
		a.call("PATCH", path, map[string]any{c.name: c.v, "jobTitle": "Changed"}).
			wantError(t, 400, "Request_BadRequest", "Property '"+c.name+"' is read-only")
	}
	got := a.must(http.StatusOK, "GET", path+"?$select=onPremisesImmutableId,jobTitle,proxyAddresses", nil).object(t)
	if got["onPremisesImmutableId"] != "bmV3" || got["jobTitle"] != nil || got["proxyAddresses"] != nil {
		t.Errorf("after refused PATCHes: %v", got)
	}
}

// businessPhones holds one number and preferredLanguage a language code,
// as in Graph.
func TestUserValueRules(t *testing.T) {
	a := newAPITest(t)
	id := a.createUser("rules@contoso.test", map[string]any{"businessPhones": []string{"+1 555 0100"}, "preferredLanguage": "zh-Hant-TW"})
	for _, c := range []struct {
		prop string
		v    any
		hint string
	}{
		{"businessPhones", []string{"+1 555 0100", "+1 555 0101"}, "Only one number can be set."},
		{"preferredLanguage", "not a language!!", "ISO 639-1"},
		{"preferredLanguage", "english", "ISO 639-1"},
	} {
		a.call("PATCH", "/v1.0/users/"+id, map[string]any{c.prop: c.v}).
			wantError(t, 400, "Request_BadRequest", "Invalid value specified for property '"+c.prop+"'", c.hint)
	}
	a.must(http.StatusNoContent, "PATCH", "/v1.0/users/"+id, map[string]any{"preferredLanguage": "en", "businessPhones": []string{}})
}

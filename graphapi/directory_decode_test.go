package graphapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// TestDirectoryTextInput pins what the directory refuses in string
// properties: bytes that are not UTF-8, unpaired surrogates, NUL and other
// control characters, with Graph's message naming the property.
func TestDirectoryTextInput(t *testing.T) {
	a := newAPITest(t)
	uid := a.createUser("text@contoso.com")
	gid := a.must(http.StatusCreated, "POST", "/v1.0/groups", map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}).object(t)["id"].(string)
	// user builds a create body with one property given as raw JSON.
	user := func(prop, rawValue string) string {
		body := map[string]string{"accountEnabled": "true", "displayName": `"Text"`, "mailNickname": `"nick"`, "userPrincipalName": `"nick@contoso.com"`}
		body[prop] = rawValue
		var parts []string
		for k, v := range body {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	refused := []struct {
		name, method, path, body, prop, resource, hint string
	}{
		{"NUL in displayName", "POST", "/v1.0/users", user("displayName", `"a\u0000b"`), "displayName", "User", "U+0000"},
		{"bell in userPrincipalName", "POST", "/v1.0/users", user("userPrincipalName", `"a\u0007@contoso.com"`), "userPrincipalName", "User", "U+0007"},
		{"C1 in mailNickname", "POST", "/v1.0/users", user("mailNickname", `"a\u0085"`), "mailNickname", "User", "U+0085"},
		{"DEL in givenName", "POST", "/v1.0/users", user("givenName", `"a\u007f"`), "givenName", "User", "U+007F"},
		{"tab in surname", "POST", "/v1.0/users", user("surname", `"a\tb"`), "surname", "User", "U+0009"},
		{"newline in jobTitle", "POST", "/v1.0/users", user("jobTitle", `"a\nb"`), "jobTitle", "User", "U+000A"},
		{"invalid UTF-8 in displayName", "POST", "/v1.0/users", user("displayName", "\"a\xffb\""), "displayName", "User", "not valid UTF-8"},
		{"overlong UTF-8 in city", "POST", "/v1.0/users", user("city", "\"\xc0\xaf\""), "city", "User", "not valid UTF-8"},
		{"lone high surrogate", "POST", "/v1.0/users", user("displayName", `"a\ud800b"`), "displayName", "User", `unpaired UTF-16 surrogate (\ud800)`},
		{"lone low surrogate", "POST", "/v1.0/users", user("department", `"\uDC00"`), "department", "User", `(\uDC00)`},
		{"reversed pair", "POST", "/v1.0/users", user("department", `"\ude00\ud83d"`), "department", "User", "unpaired"},
		{"NUL in a list", "POST", "/v1.0/users", user("businessPhones", `["1","2\u0000"]`), "businessPhones", "User", "U+0000"},
		{"NUL in an extension", "POST", "/v1.0/users", user("extension_0123456789abcdef0123456789abcdef_x", `["\u0000"]`), "extension_0123456789abcdef0123456789abcdef_x", "User", "U+0000"},
		{"NUL in the password", "POST", "/v1.0/users", user("passwordProfile", `{"password":"a\u0000"}`), "passwordProfile", "User", "U+0000"},
		{"invalid UTF-8 in the password", "POST", "/v1.0/users", user("passwordProfile", "{\"password\":\"\xfe\"}"), "passwordProfile", "User", "UTF-8"},
		{"case-insensitive name", "PATCH", "/v1.0/users/" + uid, `{"DISPLAYNAME":"\u0001"}`, "displayName", "User", "U+0001"},
		{"PATCH user", "PATCH", "/v1.0/users/" + uid, `{"officeLocation":"18\u0000"}`, "officeLocation", "User", "U+0000"},
		{"PATCH user invalid UTF-8", "PATCH", "/v1.0/users/" + uid, "{\"displayName\":\"\xed\xa0\x80\"}", "displayName", "User", "UTF-8"},
		{"group displayName", "POST", "/v1.0/groups", `{"displayName":"G\u0000","mailEnabled":false,"mailNickname":"g2","securityEnabled":true}`, "displayName", "Group", "U+0000"},
		{"group mailNickname", "POST", "/v1.0/groups", `{"displayName":"G","mailEnabled":false,"mailNickname":"g\u001b","securityEnabled":true}`, "mailNickname", "Group", "U+001B"},
		{"group description", "PATCH", "/v1.0/groups/" + gid, `{"description":"a\u0000"}`, "description", "Group", "U+0000"},
		{"group description surrogate", "PATCH", "/v1.0/groups/" + gid, `{"description":"\ud800\ud800"}`, "description", "Group", "unpaired"},
		{"group types", "PATCH", "/v1.0/groups/" + gid, "{\"groupTypes\":[\"Unified\xff\"]}", "groupTypes", "Group", "UTF-8"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			a.call(tt.method, tt.path, tt.body).wantError(t, 400, "Request_BadRequest",
				"Invalid value specified for property '"+tt.prop+"' of resource '"+tt.resource+"'.", tt.hint)
		})
	}
	if vals := a.must(http.StatusOK, "GET", "/v1.0/users", nil).values(t); len(vals) != 1 {
		t.Errorf("refused creates wrote users: %v", vals)
	}

	// A number past what JSON numbers hold here is named, without Go's types.
	res := a.call("POST", "/v1.0/users", user("extension_0123456789abcdef0123456789abcdef_n", "1e400"))
	res.wantError(t, 400, "Request_BadRequest", "Invalid value for property 'extension_0123456789abcdef0123456789abcdef_n': the number 1e400 is out of range.")
	if _, msg := res.graphError(t); strings.Contains(msg, "float64") {
		t.Errorf("message shows a Go type: %s", msg)
	}

	// Multi-line text where Graph has it; a surrogate pair and non-ASCII
	// letters are text, not errors.
	a.must(http.StatusNoContent, "PATCH", "/v1.0/users/"+uid, `{"streetAddress":"1 Main St\r\nFloor 2\tEast","displayName":"Zoë \ud83d\ude00 \u00e9"}`)
	got := a.must(http.StatusOK, "GET", "/v1.0/users/"+uid, nil).object(t)
	if got["streetAddress"] != "1 Main St\r\nFloor 2\tEast" || got["displayName"] != "Zoë 😀 é" {
		t.Errorf("stored %q / %q", got["streetAddress"], got["displayName"])
	}
	a.must(http.StatusNoContent, "PATCH", "/v1.0/groups/"+gid, `{"description":"line 1\nline 2"}`)

	// Limits count characters, not bytes.
	a.must(http.StatusNoContent, "PATCH", "/v1.0/users/"+uid, map[string]any{"displayName": strings.Repeat("é", 256)})
	a.call("PATCH", "/v1.0/users/"+uid, map[string]any{"displayName": strings.Repeat("é", 257)}).
		wantError(t, 400, "Request_BadRequest", "'displayName'", "256 characters")

	// instantiate's displayName parameter.
	a.call("POST", instantiatePath, `{"displayName":"app\u0000"}`).wantError(t, 400, "RequestParameterInvalid", "'displayName'", "U+0000")
	a.call("POST", instantiatePath, "{\"displayName\":\"app\xff\"}").wantError(t, 400, "RequestParameterInvalid", "'displayName'", "UTF-8")
	a.call("POST", instantiatePath, map[string]any{"displayName": strings.Repeat("é", 257)}).wantError(t, 400, "RequestParameterInvalid", "256")
	a.must(http.StatusCreated, "POST", instantiatePath, map[string]any{"displayName": strings.Repeat("é", 256)})
}

// TestDirectoryNameRules pins Graph's rules for userPrincipalName,
// mailNickname and mail, through the API.
func TestDirectoryNameRules(t *testing.T) {
	a := newAPITest(t)
	local64 := strings.Repeat("a", 64)
	tests := []struct {
		prop, value string
		hint        string // "" when the value is valid
	}{
		{"userPrincipalName", "o'neil@contoso.com", ""},
		{"userPrincipalName", "A.b-c_d!e#f^g~h@sub.contoso.com", ""},
		{"userPrincipalName", "x@xn--bcher-kva.example", ""},
		{"userPrincipalName", local64 + "@" + strings.Repeat("d", 44) + ".com", ""}, // 113 in all
		{"userPrincipalName", local64 + "@" + strings.Repeat("d", 45) + ".com", "113 in all"},
		{"userPrincipalName", local64 + "a@contoso.com", "64 characters before the @"},
		{"userPrincipalName", "nodomain", "alias@domain"},
		{"userPrincipalName", "@contoso.com", "alias@domain"},
		{"userPrincipalName", "a@", "alias@domain"},
		{"userPrincipalName", "a@b@contoso.com", "more than one @"},
		{"userPrincipalName", "a..b@contoso.com", "two dots in a row"},
		{"userPrincipalName", ".a@contoso.com", "start or end with a dot"},
		{"userPrincipalName", "a.@contoso.com", "start or end with a dot"},
		{"userPrincipalName", "a+b@contoso.com", "The character '+' is not allowed"},
		{"userPrincipalName", "a b@contoso.com", "' ' (space)"},
		{"userPrincipalName", "zoë@contoso.com", "U+00EB"},
		{"userPrincipalName", "a\"b@contoso.com", `'"'`},
		{"userPrincipalName", "a@contoso", "not a valid domain name"},
		{"userPrincipalName", "a@-contoso.com", "not a valid domain name"},
		{"userPrincipalName", "a@contoso-.com", "not a valid domain name"},
		{"userPrincipalName", "a@contoso..com", "not a valid domain name"},
		{"userPrincipalName", "a@contoso.com.", "not a valid domain name"},
		{"userPrincipalName", "a@cont_oso.com", "not a valid domain name"},
		{"userPrincipalName", "a@1.2.3.4", "not a valid domain name"},
		{"userPrincipalName", "a@[1.2.3.4]", "not a valid domain name"},
		{"userPrincipalName", "a@" + strings.Repeat("d", 64) + ".com", "not a valid domain name"},
		{"mailNickname", "o'neil.b-c_d", ""},
		{"mailNickname", local64, ""},
		{"mailNickname", local64 + "a", "64 characters"},
		{"mailNickname", "a b", "' ' (space)"},
		{"mailNickname", "a@b", "'@'"},
		{"mailNickname", "a(b", "'('"},
		{"mailNickname", `a\b`, `'\'`},
		{"mailNickname", "a,b", "','"},
		{"mailNickname", "zoë", "U+00EB"},
		{"mailNickname", "", "cannot be empty"},
		{"mail", "adele+news@contoso.com", ""},
		{"mail", "", ""},
		{"mail", "a b@contoso.com", "' ' (space)"},
		{"mail", "adele@contoso", "not a valid domain name"},
		{"mail", "adele", "not an email address"},
	}
	for i, tt := range tests {
		t.Run(tt.prop+" "+tt.value, func(t *testing.T) {
			body := newUser(fmt.Sprintf("rule%d@contoso.com", i))
			body[tt.prop] = tt.value
			if tt.hint == "" {
				a.must(http.StatusCreated, "POST", "/v1.0/users", body)
				return
			}
			a.call("POST", "/v1.0/users", body).wantError(t, 400, "Request_BadRequest",
				"Invalid value specified for property '"+tt.prop+"' of resource 'User'.", tt.hint)
		})
	}
	// The same rules hold for a group's mailNickname and on PATCH.
	gid := a.must(http.StatusCreated, "POST", "/v1.0/groups", map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}).object(t)["id"].(string)
	a.call("PATCH", "/v1.0/groups/"+gid, map[string]any{"mailNickname": "a:b"}).wantError(t, 400, "Request_BadRequest",
		"Invalid value specified for property 'mailNickname' of resource 'Group'.", "':'")
	uid := a.createUser("patch@contoso.com")
	a.call("PATCH", "/v1.0/users/"+uid, map[string]any{"userPrincipalName": "patch..me@contoso.com"}).wantError(t, 400, "Request_BadRequest",
		"'userPrincipalName'", "two dots")
}

// Reference forms of the rules, written independently of the checks.
var (
	upnLabel  = `[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
	upnRef    = regexp.MustCompile(`^[A-Za-z0-9'_!#^~-]+(\.[A-Za-z0-9'_!#^~-]+)*@(` + upnLabel + `\.)+` + upnLabel + `$`)
	nickRef   = regexp.MustCompile(`^[!#-'*+\-./0-9=?A-Z^-~]{1,64}$`)
	controlRe = regexp.MustCompile(`[\x00-\x1f\x7f-\x9f]`)
)

func upnByReference(s string) bool {
	local, domain, _ := strings.Cut(s, "@")
	labels := strings.Split(domain, ".")
	tld := labels[len(labels)-1]
	return upnRef.MatchString(s) && len(local) <= 64 && len(s) <= 113 && len(domain) <= 253 &&
		strings.Trim(tld, "0123456789") != ""
}

// FuzzDirectoryValues checks the value checks against the reference forms.
func FuzzDirectoryValues(f *testing.F) {
	for _, s := range []string{"adele@contoso.com", "a..b@c.d", "o'neil", "a@1.2", "a b", "zoë@x.io", "a\x00", "\u0085", "x@-a.b", "~@a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 300 {
			return // every rule has decided by then; long inputs only slow minimizing
		}
		if got, want := checkUPN(s) == "", upnByReference(s); got != want {
			t.Fatalf("checkUPN(%q) = %q; reference says valid=%v", s, checkUPN(s), want)
		}
		if got, want := checkMailNickname(s) == "", nickRef.MatchString(s); got != want {
			t.Fatalf("checkMailNickname(%q) = %q; reference says valid=%v", s, checkMailNickname(s), want)
		}
		if utf8.ValidString(s) {
			if got, want := controlProblem(s, false) == "", !controlRe.MatchString(s); got != want {
				t.Fatalf("controlProblem(%q) = %q; reference says clean=%v", s, controlProblem(s, false), want)
			}
		}
		if hint := checkMail(s); hint == "" && s != "" && !strings.Contains(s, "@") {
			t.Fatalf("checkMail(%q) accepted an address without @", s)
		}
	})
}

// FuzzRawText checks rawTextProblem on JSON strings of \u escapes against
// unicode/utf16: a sequence of code units is well formed iff decoding and
// re-encoding it gives it back. Arbitrary bytes must be UTF-8 to pass.
func FuzzRawText(f *testing.F) {
	f.Add([]byte{0xd8, 0x3d, 0xde, 0x00}, false)
	f.Add([]byte{0xd8, 0x00, 0x00, 0x41}, true)
	f.Add([]byte{0xdc, 0x00}, false)
	f.Add([]byte("\"\xff\""), true)
	f.Fuzz(func(t *testing.T, b []byte, raw bool) {
		if raw {
			if rawTextProblem(b) == "" && !utf8.Valid(b) {
				t.Fatalf("rawTextProblem(%q) passed bytes that are not UTF-8", b)
			}
			return
		}
		units := make([]uint16, len(b)/2)
		var lit strings.Builder
		lit.WriteString(`"\\`) // an escaped backslash first: not an escape of what follows
		for i := range units {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			format := `\u%04x`
			if units[i]&1 == 1 {
				format = `\u%04X`
			}
			fmt.Fprintf(&lit, format, units[i])
		}
		lit.WriteString(`u0000"`)
		raw16 := []byte(lit.String())
		if !json.Valid(raw16) {
			t.Fatalf("test built invalid JSON %s", raw16)
		}
		wellFormed := slicesEqual(utf16.Encode(utf16.Decode(units)), units)
		if got := rawTextProblem(raw16) == ""; got != wellFormed {
			t.Fatalf("rawTextProblem(%s) = %q; well formed = %v", raw16, rawTextProblem(raw16), wellFormed)
		}
	})
}

func slicesEqual(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package graphapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the body decoder shared by the directory's writable
// resources (users, groups, app role assignments) and the checks of their
// property values.

// propSpec describes one writable property of a directory object.
type propSpec struct {
	kind     kind
	required bool // on create; never null on update
	// transient properties are accepted but never stored nor returned.
	transient bool
	// multiline text may hold tabs and line breaks; no property may hold
	// other control characters.
	multiline bool
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
	readOnly   []string // accepted as they are (clients round-trip objects); see checkReadOnly
	extensions bool     // extension_<appid>_<name> properties are writable
	binds      []string // navigation properties settable with name@odata.bind
}

func newObjectSpec(o objectSpec) objectSpec {
	// A property both listed read-only and writable is writable (a shared
	// list, such as onPremisesReadOnly, may name one a type lets be set).
	o.readOnly = slices.DeleteFunc(slices.Clone(o.readOnly), func(n string) bool { _, w := o.props[n]; return w })
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
	props    map[string]any
	binds    map[string][]string // navigation property → @odata.id URLs
	readOnly map[string]any      // read-only properties sent, by canonical name
}

// decodeObject reads a directory request body that must be one JSON object
// naming each property once; shape completes the message saying what to
// send instead.
func decodeObject(raw []byte, shape string) (map[string]json.RawMessage, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, dirBadRequest("The request body must be a JSON object%s.", shape)
	}
	if name, where, dup := findDuplicateKey(raw); dup {
		return nil, dirBadRequest("%s", duplicateKeyMessage(name, where))
	}
	return body, nil
}

// decode validates a JSON body against the spec. On create every required
// property must be present and non-null. Transient properties are
// validated, then dropped.
func (o objectSpec) decode(raw []byte, create bool) (decoded, error) {
	d := decoded{props: map[string]any{}, binds: map[string][]string{}, readOnly: map[string]any{}}
	body, err := decodeObject(raw, " with the properties of "+o.typeName)
	if err != nil {
		return d, err
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
	for name, spec := range o.props {
		if spec.transient {
			delete(d.props, name)
		}
	}
	return d, nil
}

func (o objectSpec) decodeProp(d *decoded, key string, rawVal json.RawMessage) error {
	name, known := o.lower[strings.ToLower(key)]
	if !known {
		name = key
	}
	spec := o.props[name]
	// encoding/json would silently turn these into U+FFFD.
	if hint := rawTextProblem(rawVal); hint != "" {
		return o.invalid(name, hint)
	}
	var v any
	if err := json.Unmarshal(rawVal, &v); err != nil {
		// The raw value parsed; what fails is a number past float64.
		return dirBadRequest("Invalid value for property '%s': the number %s is out of range.", key, strings.TrimSpace(string(rawVal)))
	}
	if hint := controlProblem(v, spec.multiline); hint != "" {
		return o.invalid(name, hint)
	}
	if name, ann, ok := strings.Cut(key, "@"); ok {
		return o.decodeAnnotation(d, name, ann, v)
	}
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
	if _, writable := o.props[name]; !writable {
		d.readOnly[name] = v
		return nil
	}
	if v == nil {
		if spec.required {
			return o.invalid(name, "it cannot be null")
		}
		d.props[name] = nil
		return nil
	}
	if err := o.checkValue(name, spec, v); err != nil {
		return err
	}
	if spec.kind == kindStrings {
		v = stringList(v)
	}
	d.props[name] = v
	return nil
}

// serverSet are the read-only properties the service sets whatever a
// body says: a client may send them with any value, as Graph lets it.
var serverSet = []string{"id", "createdDateTime", "deletedDateTime"}

// checkReadOnly refuses a read-only property sent with another value than
// the object has (current: its JSON view; nil on create): one a client
// round-trips passes, a change would be dropped without a word. An empty
// list is no value, as null is.
func (o objectSpec) checkReadOnly(d decoded, current map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(d.readOnly)) {
		if slices.Contains(serverSet, name) || sameJSON(d.readOnly[name], current[name]) {
			continue
		}
		return dirBadRequest("Property '%s' is read-only (the service or cloud sync sets it). Leave it out, or send it as GET returns it.", name)
	}
	return nil
}

// sameJSON reports whether a and b are equal as JSON values, null and an
// empty list alike.
func sameJSON(a, b any) bool {
	norm := func(v any) string {
		raw, _ := json.Marshal(v)
		if string(raw) == "[]" {
			return "null"
		}
		var back any
		_ = json.Unmarshal(raw, &back)
		raw, _ = json.Marshal(back)
		return string(raw)
	}
	return norm(a) == norm(b)
}

// checkValue is what a non-null value of a writable property must pass:
// its kind, then the property's own check.
func (o objectSpec) checkValue(name string, spec propSpec, v any) error {
	if !kindAccepts(spec.kind, v) {
		return dirBadRequest("Invalid value for property '%s': expected %s, got a JSON %s.", name, spec.kind.EDM(), jsonType(v))
	}
	if spec.check != nil {
		if hint := spec.check(v); hint != "" {
			return o.invalid(name, hint)
		}
	}
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

// invalid is Graph's message for a bad value, followed by what is wrong
// with it.
func (o objectSpec) invalid(name, hint string) *Error {
	return dirBadRequest("Invalid value specified for property '%s' of resource '%s'. %s.", name, o.resource, capitalize(hint))
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
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

// Text checks. Each returns "" when the value is fine, else a hint.

// rawTextProblem finds what decoding would hide in a raw JSON value: bytes
// that are not UTF-8, and \u escapes of unpaired UTF-16 surrogates.
func rawTextProblem(raw []byte) string {
	hint, _ := scanText(raw)
	return hint
}

// scanText is rawTextProblem that also reports, when raw is fine, whether
// one of its \u escapes is NUL.
func scanText(raw []byte) (hint string, nul bool) {
	if !utf8.Valid(raw) {
		return "it is not valid UTF-8", false
	}
	s := string(raw)
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++ // the escaped character; raw parsed, so it exists
		if i >= len(s) || s[i] != 'u' {
			continue
		}
		r := escapedRune(s[i+1:])
		switch {
		case r == 0:
			nul = true
		case utf16High(r):
			if next := s[i+5:]; strings.HasPrefix(next, `\u`) && utf16Low(escapedRune(next[2:])) {
				i += 6
			} else {
				return "it holds an unpaired UTF-16 surrogate (\\u" + s[i+1:i+5] + ")", nul
			}
		case utf16Low(r):
			return "it holds an unpaired UTF-16 surrogate (\\u" + s[i+1:i+5] + ")", nul
		}
		i += 4
	}
	return "", nul
}

// escapedRune reads the four hex digits of a \u escape, or -1.
func escapedRune(s string) rune {
	if len(s) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(s[:4], 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

func utf16High(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16Low(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

// controlProblem finds a control character (C0, DEL, C1) in a string of v:
// v itself, list elements, or the names and values of an object. Tabs and
// line breaks pass where multiline allows them.
func controlProblem(v any, multiline bool) string {
	switch t := v.(type) {
	case string:
		for _, r := range t {
			if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
				return "it contains the control character " + runeName(r) + "; remove it"
			}
		}
	case []any:
		for _, e := range t {
			if hint := controlProblem(e, multiline); hint != "" {
				return hint
			}
		}
	case map[string]any:
		for k, e := range t {
			if hint := controlProblem(k, false); hint != "" {
				return hint
			}
			if hint := controlProblem(e, multiline); hint != "" {
				return hint
			}
		}
	}
	return ""
}

// runeName is U+XXXX.
func runeName(r rune) string {
	s := strings.ToUpper(strconv.FormatInt(int64(r), 16))
	return "U+" + strings.Repeat("0", max(0, 4-len(s))) + s
}

// Value checks. Each returns "" when the value is fine, else a hint.
// Lengths count characters, as Graph's limits do.

func nonEmpty(max int) func(any) string {
	return func(v any) string {
		s := v.(string)
		switch {
		case strings.TrimSpace(s) == "":
			return "it cannot be empty"
		case utf8.RuneCountInString(s) > max:
			return "it is longer than the limit of " + strconv.Itoa(max) + " characters"
		}
		return ""
	}
}

func maxLen(max int) func(any) string {
	return func(v any) string {
		if utf8.RuneCountInString(v.(string)) > max {
			return "it is longer than the limit of " + strconv.Itoa(max) + " characters"
		}
		return ""
	}
}

// upnLocalSpecials are the characters besides ASCII letters and digits
// Graph allows before the @ of a user principal name.
const upnLocalSpecials = "'.-_!#^~"

// mailLocalSpecials are those of an email address (RFC 5322 dot-atom).
const mailLocalSpecials = "!#$%&'*+-/=?^_`{|}~."

// checkUPN enforces Graph's userPrincipalName rules: alias@domain, the
// alias of ASCII letters, digits and ' . - _ ! # ^ ~ (no leading, trailing
// or double dot), at most 64 characters before the @ and 113 in all, and
// a valid domain name.
func checkUPN(v any) string {
	s := v.(string)
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok || local == "" || domain == "":
		return "use the form alias@domain, e.g. adele@contoso.com"
	case strings.Contains(domain, "@"):
		return "it holds more than one @; use the form alias@domain, e.g. adele@contoso.com"
	}
	if hint := checkLocalPart(local, upnLocalSpecials); hint != "" {
		return hint
	}
	if len(local) > 64 || utf8.RuneCountInString(s) > 113 {
		return "it is too long (at most 64 characters before the @ and 113 in all)"
	}
	return checkDomain(domain)
}

// checkMail accepts "" or an email address (a dot-atom local part, at most
// 64 characters, and a valid domain name; at most 254 in all).
func checkMail(v any) string {
	s := v.(string)
	if s == "" {
		return ""
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "it is not an email address; use the form alias@domain, e.g. adele@contoso.com"
	}
	if hint := checkLocalPart(local, mailLocalSpecials); hint != "" {
		return hint
	}
	if len(local) > 64 || len(s) > 254 {
		return "it is too long (at most 64 characters before the @ and 254 in all)"
	}
	return checkDomain(domain)
}

// checkLocalPart checks the part before the @: ASCII letters, digits and
// specials, dots only between other characters.
func checkLocalPart(local, specials string) string {
	for _, r := range local {
		if r < utf8.RuneSelf && (isASCIILetterOrDigit(byte(r)) || strings.ContainsRune(specials, r)) {
			continue
		}
		return "the character " + quoteChar(r) + " is not allowed before the @; use letters A-Z, digits and " + spaced(specials)
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "the part before the @ cannot start or end with a dot, nor hold two dots in a row"
	}
	return ""
}

// checkDomain accepts a DNS name of at least two labels, each 1-63
// letters, digits or hyphens, not starting or ending with a hyphen, and a
// top-level label that is not all digits.
func checkDomain(domain string) string {
	bad := "'" + domain + "' after the @ is not a valid domain name, e.g. contoso.com"
	labels := strings.Split(domain, ".")
	if len(domain) > 253 || len(labels) < 2 {
		return bad
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad
		}
		for i := 0; i < len(l); i++ {
			if !isASCIILetterOrDigit(l[i]) && l[i] != '-' {
				return bad
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad
	}
	return ""
}

// mailNicknameForbidden are the printable ASCII characters Graph refuses
// in a mail alias.
const mailNicknameForbidden = `@()\[]";:<>,`

// checkMailNickname enforces Graph's mailNickname rules: 1 to 64
// printable ASCII characters other than space and @ ( ) \ [ ] " ; : < > ,.
func checkMailNickname(v any) string {
	s := v.(string)
	switch {
	case s == "":
		return "it cannot be empty"
	case len(s) > 64:
		return "it is longer than the limit of 64 characters"
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(mailNicknameForbidden, r) {
			return "the character " + quoteChar(r) + " is not allowed; use printable ASCII characters other than space and " + spaced(mailNicknameForbidden)
		}
	}
	return ""
}

func isASCIILetterOrDigit(c byte) bool { return isASCIILetter(c) || '0' <= c && c <= '9' }

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// quoteChar shows r readably: 'x', or U+XXXX for a space, a non-ASCII or
// an invisible character.
func quoteChar(r rune) string {
	if r > ' ' && r < 0x7f {
		return "'" + string(r) + "'"
	}
	if r == ' ' {
		return "' ' (space)"
	}
	return runeName(r)
}

// spaced lists the characters of s separated by spaces.
func spaced(s string) string {
	return strings.Join(strings.Split(s, ""), " ")
}

// CheckDirectoryValue checks a value cloud sync is about to write to a
// directory user ("User") or group ("Group") property, named as Graph
// names it, as POST /users and /groups check theirs: a value they refuse
// is refused, with the same message, whoever writes it. Properties the API
// does not take (on-premises ones) are only checked for control
// characters.
func CheckDirectoryValue(objectType, name string, v any) error {
	o := &userSpec
	if strings.EqualFold(objectType, "Group") {
		o = &groupSpec
	}
	if canonical, ok := o.lower[strings.ToLower(name)]; ok {
		name = canonical
	}
	spec, writable := o.props[name]
	if name == "mailNickname" {
		// Cloud sync maps it from sAMAccountName when mailNickname is
		// unset, and Active Directory allows spaces and accents there
		// ("Domain Users", "josé"): only control characters are refused.
		writable = false
	}
	if !writable {
		spec.multiline = true
	}
	if hint := controlProblem(v, spec.multiline); hint != "" {
		return o.invalid(name, hint)
	}
	if !writable || v == nil {
		return nil
	}
	return o.checkValue(name, spec, v)
}

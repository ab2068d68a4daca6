package scim

import (
	"fmt"
	"strings"

	"provisiond/connector/scim/scimjson"
)

// EnterpriseUserSchema is the URN of the SCIM enterprise user extension
// (RFC 7643 §4.3).
const EnterpriseUserSchema = scimjson.EnterpriseUserSchema

// Path is a SCIM attribute path in the form Entra's attribute mappings name
// target attributes:
//
//	[schemaURN ":"] attr ["[" filterAttr " eq " "\"" filterValue "\"" "]"] ["." sub]
//
// for example `userName`, `name.givenName`, `emails[type eq "work"].value` or
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
// Names keep the case they were written in; compare them with EqualFold.
type Path struct {
	// Schema is the extension schema URN, "" for core attributes.
	Schema string
	// Attr is the top-level attribute name.
	Attr string
	// FilterAttr and FilterValue hold the value filter of a multi-valued
	// complex attribute ("type", "work"); FilterAttr is "" without a filter.
	FilterAttr  string
	FilterValue string
	// Sub is the sub-attribute name, "" if none.
	Sub string
}

// Filtered reports whether p selects elements of a multi-valued attribute.
func (p Path) Filtered() bool { return p.FilterAttr != "" }

// String returns p in canonical source form; ParsePath(p.String()) == p.
func (p Path) String() string {
	var b strings.Builder
	if p.Schema != "" {
		b.WriteString(p.Schema)
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if p.FilterAttr != "" {
		b.WriteByte('[')
		b.WriteString(p.FilterAttr)
		b.WriteString(` eq `)
		b.WriteString(Quote(p.FilterValue))
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Quote returns s as a SCIM filter string literal: in double quotes, with `"`
// and `\` escaped by a backslash.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParsePath parses a flat target attribute name into a Path. The filter may
// use a quoted or (Entra-legacy) unquoted value and only the eq operator.
func ParsePath(s string) (Path, error) {
	var p Path
	rest := s
	if hasPrefixFold(s, "urn:") {
		head := s
		if i := strings.IndexByte(s, '['); i >= 0 {
			head = s[:i]
		}
		i := strings.LastIndexByte(head, ':')
		p.Schema, rest = s[:i], s[i+1:]
		if len(p.Schema) <= len("urn:") {
			return Path{}, pathError(s, "empty schema URN")
		}
	}
	name, rest := scanName(rest)
	if name == "" {
		return Path{}, pathError(s, "missing attribute name")
	}
	p.Attr = name
	if strings.HasPrefix(rest, "[") {
		end := closingBracket(rest)
		if end < 0 {
			return Path{}, pathError(s, "unterminated filter")
		}
		fa, fv, err := parseEqFilter(rest[1:end])
		if err != nil {
			return Path{}, pathError(s, err.Error())
		}
		p.FilterAttr, p.FilterValue = fa, fv
		rest = rest[end+1:]
	}
	if strings.HasPrefix(rest, ".") {
		p.Sub, rest = scanName(rest[1:])
		if p.Sub == "" {
			return Path{}, pathError(s, "missing sub-attribute name")
		}
	}
	if rest != "" {
		return Path{}, pathError(s, fmt.Sprintf("unexpected %q", rest))
	}
	return p, nil
}

func pathError(s, msg string) error {
	return fmt.Errorf("scim: invalid attribute path %q: %s", s, msg)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// scanName reads an ATTRNAME (RFC 7644 §3.10: ALPHA *(nameChar)), also
// allowing "$ref".
func scanName(s string) (name, rest string) {
	i := 0
	for i < len(s) {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		ok := letter || i == 0 && c == '$' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_')
		if !ok {
			break
		}
		i++
	}
	if i == 1 && s[0] == '$' {
		return "", s
	}
	return s[:i], s[i:]
}

// closingBracket returns the index of the ']' closing the filter that s
// opens, skipping quoted strings, or -1.
func closingBracket(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ']':
			return i
		}
	}
	return -1
}

// parseEqFilter parses `attr eq "value"` (or an unquoted value).
func parseEqFilter(s string) (attr, value string, err error) {
	s = strings.TrimSpace(s)
	attr, s = scanName(s)
	if attr == "" {
		return "", "", fmt.Errorf("missing filter attribute")
	}
	t := strings.TrimLeft(s, " ")
	if len(t) == len(s) || len(t) < 3 || !strings.EqualFold(t[:2], "eq") || t[2] != ' ' {
		return "", "", fmt.Errorf("filter must be `attr eq \"value\"`")
	}
	t = strings.TrimLeft(t[3:], " ")
	if strings.HasPrefix(t, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(t) && t[i] != '"'; i++ {
			if t[i] == '\\' && i+1 < len(t) {
				i++
			}
			b.WriteByte(t[i])
		}
		if i >= len(t) {
			return "", "", fmt.Errorf("unterminated string")
		}
		if strings.TrimSpace(t[i+1:]) != "" {
			return "", "", fmt.Errorf("unexpected %q after value", t[i+1:])
		}
		return attr, b.String(), nil
	}
	value = strings.TrimRight(t, " ")
	if value == "" || strings.ContainsAny(value, ` "\[]`) {
		return "", "", fmt.Errorf("invalid unquoted value %q", value)
	}
	return attr, value, nil
}

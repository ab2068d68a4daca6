package ldapsource

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"provisiond/connector"
)

// Discover implements connector.Discoverer: the attribute types the
// server's subschema allows on the object type's structural class (and
// its superclasses), with their synchronization types.
func (s *Source) Discover(ctx context.Context, objectType string) ([]connector.AttributeInfo, error) {
	k, f, err := s.kindOf(ctx, objectType)
	if err != nil {
		return nil, err
	}
	var sub *ldap.Entry
	err = s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"subschemaSubentry"}, nil))
		if err != nil {
			return err
		}
		dn := "cn=Subschema"
		if len(res.Entries) > 0 && res.Entries[0].GetAttributeValue("subschemaSubentry") != "" {
			dn = res.Entries[0].GetAttributeValue("subschemaSubentry")
		}
		res, err = c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"attributeTypes", "objectClasses"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return fmt.Errorf("the subschema entry %q is empty", dn)
		}
		sub = res.Entries[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	types := map[string]Definition{}
	for _, v := range sub.GetEqualFoldAttributeValues("attributeTypes") {
		if d, err := ParseDefinition(v); err == nil {
			for _, n := range d.Names {
				types[strings.ToLower(n)] = d
			}
		}
	}
	classes := map[string]Definition{}
	for _, v := range sub.GetEqualFoldAttributeValues("objectClasses") {
		if d, err := ParseDefinition(v); err == nil {
			for _, n := range d.Names {
				classes[strings.ToLower(n)] = d
			}
		}
	}
	root := map[[2]bool]string{{true, true}: "user", {true, false}: "inetOrgPerson", {false, true}: "group", {false, false}: "groupOfNames"}[[2]bool{k.name == TypeUser, f == FlavorAD}]
	var (
		out  []connector.AttributeInfo
		seen = map[string]bool{}
	)
	for _, cl := range classChain(classes, root) {
		for _, a := range append(slices.Clone(cl.Must), cl.May...) {
			d, ok := types[strings.ToLower(a)]
			if !ok || seen[strings.ToLower(a)] {
				continue
			}
			seen[strings.ToLower(a)] = true
			out = append(out, connector.AttributeInfo{Name: a, Type: syntaxType(d.Syntax, types, d), Multivalued: !d.SingleValue})
		}
	}
	if len(out) == 0 {
		return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
			Message: fmt.Sprintf("the schema of %s defines no attributes of %s", s.Name(), root)}
	}
	return out, nil
}

// classChain is the class and its superclasses (AD's auxiliary classes
// included), most specific first.
func classChain(classes map[string]Definition, name string) []Definition {
	var out []Definition
	seen := map[string]bool{}
	queue := []string{name}
	for len(queue) > 0 {
		n := strings.ToLower(queue[0])
		queue = queue[1:]
		d, ok := classes[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, d)
		queue = append(queue, d.Sup...)
		queue = append(queue, d.Aux...)
	}
	return out
}

// syntaxType maps an LDAP syntax OID to a synchronization attribute type,
// following SUP when the type has no syntax of its own.
func syntaxType(syntax string, types map[string]Definition, d Definition) string {
	for i := 0; syntax == "" && len(d.Sup) > 0 && i < 10; i++ {
		d = types[strings.ToLower(d.Sup[0])]
		syntax = d.Syntax
	}
	switch syntax {
	case "1.3.6.1.4.1.1466.115.121.1.27", "1.2.840.113556.1.4.906": // INTEGER, Large Integer
		return "Integer"
	case "1.3.6.1.4.1.1466.115.121.1.7":
		return "Boolean"
	case "1.3.6.1.4.1.1466.115.121.1.24", "1.3.6.1.4.1.1466.115.121.1.53":
		return "DateTime"
	case "1.3.6.1.4.1.1466.115.121.1.12", "1.2.840.113556.1.4.903", "1.3.6.1.4.1.1466.115.121.1.34":
		return "Reference"
	case "1.3.6.1.4.1.1466.115.121.1.40", "1.3.6.1.4.1.1466.115.121.1.5", "1.3.6.1.4.1.1466.115.121.1.28",
		"1.3.6.1.4.1.1466.115.121.1.8", "1.2.840.113556.1.4.907":
		return "Binary"
	}
	return "String"
}

// Definition is the part of an RFC 4512 attribute type or object class
// description the source reads.
type Definition struct {
	OID         string
	Names       []string
	Sup         []string
	Aux         []string // AD's AUX classes
	Must, May   []string
	Syntax      string // without its {length}
	SingleValue bool
}

// ParseDefinition parses "( OID NAME ( 'a' 'b' ) SUP x MUST ( a $ b ) ... )".
func ParseDefinition(s string) (Definition, error) {
	var d Definition
	toks, err := tokens(s)
	if err != nil {
		return d, err
	}
	if len(toks) < 3 || toks[0] != "(" || toks[len(toks)-1] != ")" {
		return d, fmt.Errorf("a definition is ( OID ... ): %q", s)
	}
	toks = toks[1 : len(toks)-1]
	d.OID, toks = toks[0], toks[1:]
	// list reads one value or a parenthesised list of them.
	list := func() []string {
		if len(toks) == 0 {
			return nil
		}
		if toks[0] != "(" {
			v := toks[0]
			toks = toks[1:]
			return []string{v}
		}
		var out []string
		toks = toks[1:]
		for len(toks) > 0 && toks[0] != ")" {
			if toks[0] != "$" {
				out = append(out, toks[0])
			}
			toks = toks[1:]
		}
		if len(toks) > 0 {
			toks = toks[1:]
		}
		return out
	}
	for len(toks) > 0 {
		kw := toks[0]
		toks = toks[1:]
		switch kw {
		case "NAME":
			d.Names = list()
		case "SUP":
			d.Sup = list()
		case "AUX":
			d.Aux = list()
		case "MUST":
			d.Must = list()
		case "MAY":
			d.May = list()
		case "SYNTAX":
			if v := list(); len(v) > 0 {
				d.Syntax, _, _ = strings.Cut(v[0], "{")
			}
		case "SINGLE-VALUE":
			d.SingleValue = true
		case "DESC", "EQUALITY", "ORDERING", "SUBSTR", "USAGE", "X-ORDERED", "X-ORIGIN", "X-SCHEMA-FILE":
			list()
		default:
			if len(toks) > 0 && !isKeyword(toks[0]) {
				list() // an unknown keyword's value
			}
		}
	}
	if len(d.Names) == 0 {
		return d, fmt.Errorf("the definition %s has no NAME", d.OID)
	}
	return d, nil
}

func isKeyword(t string) bool {
	return t != "" && t != "(" && t != ")" && strings.ToUpper(t) == t && strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") == ""
}

// tokens splits a description into "(", ")", "$", quoted strings (without
// their quotes) and bare words.
func tokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '$':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("an unterminated quote in %q", s)
			}
			out = append(out, s[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()$'", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

// Package odatatest checks, for tests, that the @odata.context URLs a
// service returns point at a $metadata document it serves, and that the
// document declares what the context names.
package odatatest

import (
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// Checker fetches each $metadata document once and checks contexts
// against it. The zero value uses http.DefaultClient.
type Checker struct {
	Client *http.Client

	mu   sync.Mutex
	docs map[string]*Metadata // metadata URL → document
}

// Metadata is what a context URL may name: the entity sets and singletons
// of the entity container and the qualified names of the types.
type Metadata struct {
	Containers map[string]string // entity sets and singletons → their type
	Types      map[string]bool   // "microsoft.graph.user", ...

	props map[string]map[string]string // type → its own properties → their type
	base  map[string]string            // type → base type
}

// Properties lists the structural and navigation properties of a type,
// inherited ones included.
func (md *Metadata) Properties(typeName string) []string {
	var out []string
	for t := typeName; t != ""; t = md.base[t] {
		for p := range md.props[t] {
			out = append(out, p)
		}
	}
	return out
}

// property returns the type of a type's property, looking in base types.
func (md *Metadata) property(typeName, prop string) (string, bool) {
	for t := typeName; t != ""; t = md.base[t] {
		if pt, ok := md.props[t][prop]; ok {
			return strings.TrimSuffix(strings.TrimPrefix(pt, "Collection("), ")"), true
		}
	}
	return "", false
}

// Check fetches (once) the metadata document contextURL points at, which
// must be served with 200 and application/xml, and checks that the
// fragment after '#' starts with an entity set or singleton it declares
// (users, servicePrincipals('x')/...) or names a declared type
// (microsoft.graph.x, Collection(microsoft.graph.x)).
func (c *Checker) Check(contextURL string) error {
	base, fragment, ok := strings.Cut(contextURL, "#")
	if !ok || !strings.HasSuffix(base, "/$metadata") {
		return fmt.Errorf("@odata.context %q is not <service>/$metadata#<fragment>", contextURL)
	}
	md, err := c.metadata(base)
	if err != nil {
		return fmt.Errorf("@odata.context %q: %w", contextURL, err)
	}
	if err := md.Resolve(fragment); err != nil {
		return fmt.Errorf("@odata.context %q: %w", contextURL, err)
	}
	return nil
}

func (c *Checker) metadata(url string) (*Metadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if md, ok := c.docs[url]; ok {
		return md, nil
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "application/xml" {
		return nil, fmt.Errorf("GET %s: status %d, Content-Type %q; want 200 application/xml", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	md, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if c.docs == nil {
		c.docs = map[string]*Metadata{}
	}
	c.docs[url] = md
	return md, nil
}

// Resolve checks that fragment names something md declares: a type,
// Collection(type), or a path from an entity set or singleton through
// navigation properties, with keys ('x'), $select lists (a,b) and a final
// /$entity allowed.
func (md *Metadata) Resolve(fragment string) error {
	name := fragment
	if inner, ok := strings.CutPrefix(name, "Collection("); ok {
		name = strings.TrimSuffix(inner, ")")
	}
	if md.Types[name] {
		return nil
	}
	segs := strings.Split(fragment, "/")
	if segs[len(segs)-1] == "$entity" {
		segs = segs[:len(segs)-1]
	}
	var typ string
	for i, seg := range segs {
		if j := strings.IndexByte(seg, '('); j >= 0 {
			seg = seg[:j] // a key, users('x'), or a $select list, users(id,displayName)
		}
		var ok bool
		if i == 0 {
			typ, ok = md.Containers[seg]
		} else {
			typ, ok = md.property(typ, seg)
		}
		if !ok {
			return fmt.Errorf("in the fragment %q, %q is neither an entity set, a singleton, a type nor a property the metadata declares", fragment, seg)
		}
	}
	return nil
}

// Parse reads a CSDL XML document. It checks that every type a property,
// parameter, entity set or base type refers to is declared or primitive.
func Parse(doc []byte) (*Metadata, error) {
	var edmx struct {
		XMLName xml.Name `xml:"http://docs.oasis-open.org/odata/ns/edmx Edmx"`
		Version string   `xml:"Version,attr"`
		Schemas []schema `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal(doc, &edmx); err != nil {
		return nil, fmt.Errorf("not a CSDL document: %w", err)
	}
	if edmx.Version != "4.0" && edmx.Version != "4.01" {
		return nil, fmt.Errorf("edmx:Edmx Version %q, want 4.0", edmx.Version)
	}
	md := &Metadata{Containers: map[string]string{}, Types: map[string]bool{}, props: map[string]map[string]string{}, base: map[string]string{}}
	var refs []string
	aliases := map[string]string{}
	for _, s := range edmx.Schemas {
		if s.Alias != "" {
			aliases[s.Alias] = s.Namespace
		}
		for _, t := range append(s.EntityTypes, s.ComplexTypes...) {
			name := s.Namespace + "." + t.Name
			md.Types[name] = true
			if t.BaseType != "" {
				refs = append(refs, t.BaseType)
				md.base[name] = t.BaseType
			}
			md.props[name] = map[string]string{}
			for _, p := range t.Properties {
				if p.XMLName.Local == "Property" || p.XMLName.Local == "NavigationProperty" {
					refs = append(refs, p.Type)
					md.props[name][p.Name] = p.Type
				}
			}
		}
		for _, e := range s.EnumTypes {
			md.Types[s.Namespace+"."+e.Name] = true
		}
		for _, op := range append(s.Actions, s.Functions...) {
			for _, p := range op.Parameters {
				refs = append(refs, p.Type)
			}
			if op.Return.Type != "" {
				refs = append(refs, op.Return.Type)
			}
		}
		for _, c := range s.Containers {
			for _, es := range c.EntitySets {
				md.Containers[es.Name] = es.EntityType
				refs = append(refs, es.EntityType)
			}
			for _, sg := range c.Singletons {
				md.Containers[sg.Name] = sg.Type
				refs = append(refs, sg.Type)
			}
		}
	}
	unalias := func(name string) string {
		if alias, rest, ok := strings.Cut(name, "."); ok && aliases[alias] != "" {
			return aliases[alias] + "." + rest
		}
		return name
	}
	for t, b := range md.base {
		md.base[t] = unalias(b)
	}
	for c, t := range md.Containers {
		md.Containers[c] = unalias(t)
	}
	for _, props := range md.props {
		for p, t := range props {
			if inner, ok := strings.CutPrefix(t, "Collection("); ok {
				props[p] = "Collection(" + unalias(strings.TrimSuffix(inner, ")")) + ")"
			} else {
				props[p] = unalias(t)
			}
		}
	}
	for _, ref := range refs {
		name := strings.TrimSuffix(strings.TrimPrefix(ref, "Collection("), ")")
		if strings.HasPrefix(name, "Edm.") {
			continue
		}
		if !md.Types[unalias(name)] {
			return nil, fmt.Errorf("type %q is used but not declared", ref)
		}
	}
	return md, nil
}

type schema struct {
	Namespace    string      `xml:"Namespace,attr"`
	Alias        string      `xml:"Alias,attr"`
	EntityTypes  []typeDecl  `xml:"EntityType"`
	ComplexTypes []typeDecl  `xml:"ComplexType"`
	EnumTypes    []typeDecl  `xml:"EnumType"`
	Actions      []operation `xml:"Action"`
	Functions    []operation `xml:"Function"`
	Containers   []struct {
		EntitySets []struct {
			Name       string `xml:"Name,attr"`
			EntityType string `xml:"EntityType,attr"`
		} `xml:"EntitySet"`
		Singletons []struct {
			Name string `xml:"Name,attr"`
			Type string `xml:"Type,attr"`
		} `xml:"Singleton"`
	} `xml:"EntityContainer"`
}

type typeDecl struct {
	Name       string `xml:"Name,attr"`
	BaseType   string `xml:"BaseType,attr"`
	Properties []struct {
		XMLName xml.Name
		Name    string `xml:"Name,attr"`
		Type    string `xml:"Type,attr"`
	} `xml:",any"` // Property and NavigationProperty alike; Key is skipped
}

type operation struct {
	Parameters []struct {
		Type string `xml:"Type,attr"`
	} `xml:"Parameter"`
	Return struct {
		Type string `xml:"Type,attr"`
	} `xml:"ReturnType"`
}

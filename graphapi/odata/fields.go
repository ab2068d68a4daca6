package odata

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Kind is the EDM type of a property, for decoding and $filter.
type Kind int

// The kinds of property values.
const (
	KindString   Kind = iota // Edm.String
	KindBool                 // Edm.Boolean
	KindStrings              // Collection(Edm.String)
	KindObject               // complex, or a collection of complex values
	KindAny                  // directory extension: any scalar or collection of scalars
	KindDateTime             // Edm.DateTimeOffset (WithFilter grammar only)
)

// EDM names the kind as Graph's metadata does, for messages.
func (k Kind) EDM() string {
	switch k {
	case KindString:
		return "Edm.String"
	case KindBool:
		return "Edm.Boolean"
	case KindStrings:
		return "Collection(Edm.String)"
	case KindDateTime:
		return "Edm.DateTimeOffset"
	}
	return "a complex type"
}

// ExtensionName matches directory extension properties:
// extension_{appId without dashes}_{name}.
var ExtensionName = regexp.MustCompile(`^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$`)

// Fields lists the properties of one entity type that $select and $filter
// may name. Names are matched case-insensitively, as Graph does.
type Fields struct {
	typeName   string // e.g. "microsoft.graph.user", for messages
	kinds      map[string]Kind
	lower      map[string]string
	extensions bool // extension_<appid>_<name> properties are allowed
	// filter, when set, is what $filter may name, in the comparison
	// grammar (parsed into Query.Where); see WithFilter.
	filter *Fields
	// orderBy lists the properties $orderby may name.
	orderBy []string
}

// WithFilter returns f whose $filter is parsed in the comparison grammar
// (eq, ne, gt, ge, lt, le, startswith, contains, and, or) into
// Query.Where, against the properties of filter, which may be paths such as
// sourceIdentity/id. Query.Filter is then not set.
func (f Fields) WithFilter(filter Fields) Fields {
	f.filter = &filter
	return f
}

// WithOrderBy returns f that accepts $orderby on one of the properties
// given, asc or desc.
func (f Fields) WithOrderBy(props ...string) Fields {
	f.orderBy = props
	return f
}

// NewFields describes the entity type typeName (e.g. microsoft.graph.user)
// with the given properties; extensions allows directory extension
// properties too.
func NewFields(typeName string, kinds map[string]Kind, extensions bool) Fields {
	f := Fields{typeName: typeName, kinds: kinds, lower: map[string]string{}, extensions: extensions}
	for name := range kinds {
		f.lower[strings.ToLower(name)] = name
	}
	return f
}

// Union merges the properties of several types (a members or owners
// collection holds users, groups and service principals). A name with
// different kinds in different types becomes KindObject.
func Union(typeName string, fs ...Fields) Fields {
	kinds := map[string]Kind{}
	ext := false
	for _, f := range fs {
		for n, k := range f.kinds {
			if old, ok := kinds[n]; ok && old != k {
				k = KindObject
			}
			kinds[n] = k
		}
		ext = ext || f.extensions
	}
	return NewFields(typeName, kinds, ext)
}

// Lookup returns the canonical spelling and kind of a property name.
func (f Fields) Lookup(name string) (string, Kind, bool) {
	if c, ok := f.lower[strings.ToLower(name)]; ok {
		return c, f.kinds[c], true
	}
	if f.extensions && ExtensionName.MatchString(name) {
		return name, KindAny, true
	}
	return "", 0, false
}

// Names lists the declared properties, sorted.
func (f Fields) Names() []string { return slices.Sorted(maps.Keys(f.kinds)) }

func (f Fields) noSuchProperty(name string) *Error {
	return errorf("Request_BadRequest", "Could not find a property named '%s' on type '%s'.", name, f.typeName)
}

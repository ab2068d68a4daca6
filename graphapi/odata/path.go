package odata

import (
	"regexp"
	"strings"
)

// Paths rewrites OData resource paths into the plain form a router
// matches, as forgiving as Graph's URLs are.
type Paths struct {
	canonical map[string]string // lower-cased segment → registered spelling
}

// NewPaths returns a Paths that case-folds the given segment names to the
// spelling they are routed with (serviceprincipals → servicePrincipals).
func NewPaths(segments ...string) Paths {
	m := make(map[string]string, len(segments))
	for _, s := range segments {
		m[strings.ToLower(s)] = s
	}
	return Paths{canonical: m}
}

// keySegment matches OData key syntax in one segment: name('key'),
// name(alt='key') and the empty call of a bound function: name().
var keySegment = regexp.MustCompile(`^([A-Za-z$][A-Za-z0-9]*)\((?:([A-Za-z]+)=)?(?:'((?:[^']|'')*)')?\)$`)

// Normalize rewrites p: seg('k') and seg(id='k') → seg/k, seg(alt='k') →
// seg/alt=k, seg() → seg; known segment and key names case-folded;
// trailing slash dropped.
func (ps Paths) Normalize(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "/"
	}
	parts := strings.Split(p, "/")
	out := make([]string, 0, len(parts)+2)
	for _, seg := range parts {
		if m := keySegment.FindStringSubmatch(seg); m != nil {
			out = append(out, ps.fold(m[1]))
			key := strings.ReplaceAll(m[3], "''", "'")
			switch alt := ps.fold(m[2]); {
			case strings.EqualFold(alt, "id"): // the key by name: seg(id='k')
				out = append(out, GUID(key))
			case alt != "":
				out = append(out, alt+"="+GUID(key))
			case strings.Contains(seg, "'"):
				out = append(out, GUID(key))
			}
			continue
		}
		out = append(out, GUID(ps.fold(seg)))
	}
	if joined := strings.TrimRight(strings.Join(out, "/"), "/"); joined != "" {
		return joined
	}
	return "/"
}

// guid is a GUID, in any case, braced or not.
var guid = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// GUID returns s in lower case when it is a GUID (braces, if any, kept), as
// provisiond makes them (Graph matches GUIDs whatever their case), else s
// as it is.
func GUID(s string) string {
	if len(s) < 36 || len(s) > 38 || !guid.MatchString(s) || (s[0] == '{') != (s[len(s)-1] == '}') {
		return s
	}
	return strings.ToLower(s)
}

func (ps Paths) fold(seg string) string {
	if c, ok := ps.canonical[strings.ToLower(seg)]; ok {
		return c
	}
	return seg
}

// CheckPath refuses what a router would otherwise redirect or resolve
// outside the API: a path not starting with '/', a '.' or '..' segment
// (also when percent-encoded: p is the decoded path), an empty segment
// ('//') before the last, and a key quoted empty, which Normalize would
// make the collection.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return badRequest("The request path '%s' is not a resource path; it must start with '/'.", p)
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return badRequest("The request path must not contain '.' or '..' segments; send the resource path itself, such as /v1.0/users/{id}.")
		case seg == "" && i < len(segs)-1:
			return badRequest("The request path has an empty segment ('//'); remove the extra '/'.")
		}
		if m := keySegment.FindStringSubmatch(seg); m != nil && m[3] == "" && strings.Contains(seg, "'") {
			return badRequest("The key in '%s' is empty; put the object's id between the quotes.", seg)
		}
	}
	return nil
}

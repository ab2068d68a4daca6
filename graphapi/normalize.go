package graphapi

import (
	"net/http"
	"regexp"
	"strings"
)

// canonicalSegments maps lower-cased path segments to the spelling the
// routes are registered with, so that /v1.0/serviceprincipals works like
// Graph's case-insensitive URLs.
var canonicalSegments = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"v1.0", "users", "groups", "members", "$ref", "servicePrincipals", "applications",
		"applicationTemplates", "instantiate", "owners", "appRoleAssignedTo", "appRoleAssignments",
		"synchronization", "jobs", "templates", "schema", "secrets", "provisionOnDemand",
		"validateCredentials", "start", "pause", "restart", "filterOperators", "functions",
		"parseExpression", "directories", "discover", "bulkUpload", "acquireAccessToken",
		"auditLogs", "provisioning", "$metadata", "$count", "memberOf",
	} {
		m[strings.ToLower(s)] = s
	}
	return m
}()

// keySegment matches OData key syntax in one segment: name('key'),
// name(alt='key') and the empty call of a bound function: name().
var keySegment = regexp.MustCompile(`^([A-Za-z$][A-Za-z0-9]*)\((?:([A-Za-z]+)=)?(?:'((?:[^']|'')*)')?\)$`)

// normalizePath rewrites an OData path into the plain form the mux routes:
// seg('k') → seg/k, seg(alt='k') → seg/alt=k, seg() → seg; known segment
// names case-folded; trailing slash dropped.
func normalizePath(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "/"
	}
	parts := strings.Split(p, "/")
	out := make([]string, 0, len(parts)+2)
	for _, seg := range parts {
		if m := keySegment.FindStringSubmatch(seg); m != nil {
			out = append(out, canonical(m[1]))
			key := strings.ReplaceAll(m[3], "''", "'")
			switch {
			case m[2] != "":
				out = append(out, m[2]+"="+key)
			case strings.Contains(seg, "'"):
				out = append(out, key)
			}
			continue
		}
		out = append(out, canonical(seg))
	}
	if joined := strings.TrimRight(strings.Join(out, "/"), "/"); joined != "" {
		return joined
	}
	return "/"
}

func canonical(seg string) string {
	if c, ok := canonicalSegments[strings.ToLower(seg)]; ok {
		return c
	}
	return seg
}

// normalize applies normalizePath before routing.
func normalize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if np := normalizePath(r.URL.Path); np != r.URL.Path {
			r2 := r.Clone(r.Context())
			r2.URL.Path = np
			r2.URL.RawPath = ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

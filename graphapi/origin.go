package graphapi

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
)

// The origin is the scheme://host[/prefix] that @odata.context and
// @odata.nextLink are built on. It is never taken from the Host header,
// which any client sets (a link-poisoning Host-header injection):
//
//   - Config.PublicURL, when set, is the origin;
//   - otherwise the address the connection was accepted on (the listen
//     address), https when the connection is TLS;
//   - with Config.TrustProxy, X-Forwarded-Proto, -Host and -Prefix from
//     the reverse proxy in front replace those parts of the latter.

type originKey struct{}

// withOrigin records the origin of each request for contextURL and
// nextLink.
func (s *Server) withOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), originKey{}, s.originOf(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// origin returns the origin recorded for r; a request that did not pass
// through the Server (a unit test calling a handler) gets the listen
// address or http://localhost.
func origin(r *http.Request) string {
	if o, ok := r.Context().Value(originKey{}).(string); ok {
		return o
	}
	return (&Server{}).originOf(r)
}

func (s *Server) originOf(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme, host, prefix := "http", "localhost", ""
	if r.TLS != nil {
		scheme = "https"
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host = a.String()
	}
	if s.trustProxy {
		if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); forwardedHost.MatchString(h) {
			host = h
		}
		if p := strings.TrimRight(firstValue(r.Header.Get("X-Forwarded-Prefix")), "/"); forwardedPrefix.MatchString(p) && !hasDotSegment(p) {
			prefix = p
		}
	}
	return scheme + "://" + host + prefix
}

// firstValue is the first of a comma-separated header list: the proxy
// nearest the client when proxies are chained.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// forwardedHost is a host name or IP literal with an optional port;
// anything else (paths, user info, spaces) is ignored.
var forwardedHost = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// forwardedPrefix is a path of plain segments, such as /graph.
var forwardedPrefix = regexp.MustCompile(`^(?:/[A-Za-z0-9._~-]+)+$`)

func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

package graphapi

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/graphapi/odata"
	"provisiond/ids"
	"provisiond/schema"
	"provisiond/store"
)

// Config wires a Server. Store and Auth are required; the rest default.
type Config struct {
	Store store.Store
	Auth  auth.Authenticator
	// Sync serves the synchronization API; nil leaves those routes out.
	Sync *Sync
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now and NewID are injected so tests are reproducible.
	Now   func() time.Time
	NewID func() string
	// Extra is mounted outside /v1.0 without authentication (the demo SCIM
	// app, the web pages); nil for none.
	Extra map[string]http.Handler
	// PublicURL is the origin clients reach the service at, such as
	// https://graph.example.com or https://example.com/graph: the base of
	// @odata.context and @odata.nextLink. Empty means the address each
	// connection was accepted on.
	PublicURL string
	// TrustProxy honours X-Forwarded-Proto, -Host and -Prefix when
	// PublicURL is empty; set it only behind a proxy that sets them.
	TrustProxy bool
}

// Server serves the Graph-compatible API.
type Server struct {
	store store.Store
	auth  auth.Authenticator
	sync  *Sync
	log   *slog.Logger
	now   func() time.Time
	newID func() string
	h     http.Handler

	publicURL  string
	trustProxy bool
}

// New builds a Server from cfg.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, auth: cfg.Auth, sync: cfg.Sync, log: cfg.Logger, now: cfg.Now, newID: cfg.NewID,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), trustProxy: cfg.TrustProxy}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = ids.NewUUID
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/$metadata", serveMetadata)
	s.routesDirectory(mux)
	if s.sync != nil {
		s.sync.srv = s
		s.sync.routes(mux)
	}
	for prefix, h := range cfg.Extra {
		mux.Handle(prefix, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, notFound("Resource not found for the segment '%s'.", lastSegment(r.URL.Path)))
	})
	// checkRequest looks at the path as sent and as normalized: an empty
	// key vanishes in normalizing (users('') is users), and key syntax can
	// spell a dot segment (users('..') is users/..).
	s.h = s.requestIDs(s.logRequests(s.checkRequest(normalize(s.checkRequest(s.withOrigin(graphErrors(s, mux)))))))
	return s
}

// maxURLBytes caps the request target (path and query); longer ones get
// 414. Request line and headers together are capped by
// Limits.MaxHeaderBytes, whose 431 net/http writes (see httpserver.go).
const maxURLBytes = 16 << 10

// checkRequest refuses, with a Graph error, request targets the router
// must not see: over maxURLBytes, not a path, or with dot or empty
// segments (which http.ServeMux would answer with a redirect).
func (s *Server) checkRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > maxURLBytes {
			s.writeError(w, r, errorf(http.StatusRequestURITooLong, "RequestUriTooLong",
				"The request URL is %d bytes long; the limit is %d. Page with $top and @odata.nextLink, or filter on fewer values.", len(r.RequestURI), maxURLBytes))
			return
		}
		if err := odata.CheckPath(r.URL.Path); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// paths are the segment names routes are registered with; requests may
// spell them in any case, as Graph's URLs allow.
var paths = odata.NewPaths(
	"v1.0", "users", "groups", "members", "$ref", "servicePrincipals", "applications",
	"applicationTemplates", "instantiate", "owners", "appRoleAssignedTo", "appRoleAssignments",
	"synchronization", "jobs", "templates", "schema", "secrets", "provisionOnDemand",
	"validateCredentials", "start", "pause", "restart", "filterOperators", "functions",
	"parseExpression", "directories", "discover", "bulkUpload", "acquireAccessToken",
	"auditLogs", "provisioning", "$metadata", "$count", "memberOf",
	"appId", // the alternate key: servicePrincipals(appId='…')
)

// normalizePath rewrites an OData path into the plain form the mux routes
// (odata.Paths.Normalize).
func normalizePath(p string) string { return paths.Normalize(p) }

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

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// graphErrors answers a known path with a wrong method with Graph's 405
// (the catch-all route would otherwise make it a 404).
func graphErrors(s *Server, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "/" {
			if allowed := allowedMethods(mux, r); len(allowed) > 0 {
				w.Header().Set("Allow", strings.Join(allowed, ", "))
				s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "Request_BadRequest",
					"The HTTP method '%s' is not allowed for '%s'; use %s.", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// getOnly answers the other methods on path, served by GET alone, with
// 405: without, {id} routes would take them ($count as a user's id).
func (s *Server) getOnly(mux *http.ServeMux, path string) {
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		mux.HandleFunc(m+" /v1.0"+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", "GET")
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "Request_BadRequest",
				"The HTTP method '%s' is not allowed for '%s'; use GET.", r.Method, r.URL.Path))
		})
	}
}

// allowedMethods lists the methods some route serves for r's path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := mux.Handler(r2); pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

type principalKey struct{}

// principal returns the authenticated caller of r.
func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(auth.Principal)
	return p
}

// route registers an authenticated, authorized /v1.0 route. op says which
// permission it needs; ownership of the {spId} service principal counts for
// Application.ReadWrite.OwnedBy.
func (s *Server) route(mux *http.ServeMux, pattern string, op auth.Op, h handler) {
	method, path, _ := strings.Cut(pattern, " ")
	mux.HandleFunc(method+" /v1.0"+path, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authorize(r, op)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := checkBodyHeaders(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkBodyHeaders refuses a write whose body is not declared JSON, as
// Graph does, and one compressed otherwise than with gzip, which would
// read as JSON that is not valid.
func checkBodyHeaders(r *http.Request) error {
	if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "gzip") && !strings.EqualFold(enc, "identity") {
		return errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			"Content-Encoding '%s' is not supported; send the body uncompressed or with gzip.", enc)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength > 0 {
			return badRequest("Write requests (excluding DELETE) must contain the Content-Type header declaration: send Content-Type: application/json.")
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			"Content-Type '%s' is not supported; send the body as JSON with Content-Type: application/json.", ct)
	}
	return nil
}

// authorize authenticates r and checks the caller may perform op.
func (s *Server) authorize(r *http.Request, op auth.Op) (auth.Principal, error) {
	p, err := s.auth.Authenticate(r)
	if err != nil {
		return p, err
	}
	if isSyncOp(op) {
		if err := auth.RejectPersonal(p); err != nil {
			return p, err
		}
	}
	// A cloud-sync job writes the directory itself: delegated callers need
	// the Hybrid Identity Administrator role rather than an application
	// administrator's.
	if op == auth.SyncWrite && schema.IsCloudSync(r.PathValue("jobId")) {
		op = auth.SyncWriteCloudSync
	}
	// Instantiating an application creates something the caller will own.
	owns := op == auth.AppWrite && r.PathValue("spId") == ""
	if auth.Authorize(p, op, owns) == nil {
		return p, nil // granted without ownership: no need to look owners up
	}
	if spID := r.PathValue("spId"); spID != "" {
		if sp, err := s.lookupServicePrincipal(r.Context(), spID); err == nil {
			owners, err := s.store.ListOwners(r.Context(), sp.ID)
			if err != nil {
				return p, err
			}
			owns = slices.Contains(owners, p.ObjectID)
		}
	}
	return p, auth.Authorize(p, op, owns)
}

func isSyncOp(op auth.Op) bool {
	return op == auth.SyncRead || op == auth.SyncWrite || op == auth.SyncWriteCloudSync
}

// lookupServicePrincipal resolves an id or the alternate key appId=... .
func (s *Server) lookupServicePrincipal(ctx context.Context, key string) (store.ServicePrincipal, error) {
	if appID, ok := strings.CutPrefix(key, "appId="); ok {
		sp, err := s.store.GetServicePrincipalByAppID(ctx, appID)
		return sp, storeErr(err, key)
	}
	sp, err := s.store.GetServicePrincipal(ctx, key)
	return sp, storeErr(err, key)
}

package scimserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"provisiond/connector/scim/scimjson"
)

const (
	maxBodyBytes = 10 << 20
	defaultCount = 100
	maxCount     = 1000
)

// Options configures a Server.
type Options struct {
	// Token is the bearer token every request must carry; "" accepts any
	// request.
	Token string
	// Logger receives one debug record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock for meta timestamps; nil means time.Now.
	Now func() time.Time

	// The switches below make the server behave like stricter real-world
	// SCIM services (see scim-targets.md). All off is the permissive
	// default.

	// NoPatch answers PATCH with 405; /ServiceProviderConfig says
	// patch.supported is false (PUT-only servers).
	NoPatch bool
	// NoFilter answers any ?filter= with 400 invalidFilter;
	// /ServiceProviderConfig says filter.supported is false.
	NoFilter bool
	// HideMembers leaves members out of group reads unless ?attributes=
	// names them (RFC 7643 returned "request"), and gives users a computed
	// read-only groups attribute ([{"value": groupId, "display": name}]),
	// which can be filtered: groups.value eq "<groupId>".
	HideMembers bool
	// StrictFilter accepts only a single eq on id, externalId, userName,
	// emails.value or displayName; any other filter is 400 invalidFilter.
	StrictFilter bool
	// RequireEmail refuses (400) to create a user without an email when
	// its userName is not an email address.
	RequireEmail bool
	// PatchReturnsResource answers a group PATCH with 200 and the group
	// instead of 204.
	PatchReturnsResource bool
	// CaseSensitiveRoutes serves /Users but not /users (404).
	CaseSensitiveRoutes bool
	// RejectUnknownMembers refuses a whole group change (400) that adds a
	// member id that is no user or group.
	RejectUnknownMembers bool
	// NoUniqueness stores users and groups whose userName or displayName
	// is taken (some servers do not enforce uniqueness, for groups above
	// all) instead of answering 409.
	NoUniqueness bool
}

// Server is an in-memory SCIM 2.0 service provider: /Users, /Groups,
// /ServiceProviderConfig, /Schemas and /ResourceTypes relative to where it
// is mounted (use http.StripPrefix to mount it below a path). Routes and
// attribute names are case-insensitive. It is safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	users   collection
	groups  collection
	version int64
	// members indexes the member keys of groups PATCHed with members
	// added (see keyIndex), by group id.
	members map[string]*keyIndex
}

// collection holds resources of one type in creation order.
type collection struct {
	byID  map[string]map[string]any
	order []string
	// byKey indexes the unique attribute (userName, displayName), lower
	// case, so a create checks uniqueness without a scan.
	byKey map[string]map[string]bool
	key   map[string]string // id → its indexed value
}

// put stores r under id, indexing its value of the unique attribute key.
func (c *collection) put(id string, r map[string]any, key string) {
	if c.byID == nil {
		c.byID, c.byKey, c.key = map[string]map[string]any{}, map[string]map[string]bool{}, map[string]string{}
	}
	if _, ok := c.byID[id]; !ok {
		c.order = append(c.order, id)
	}
	c.byID[id] = r
	c.unindex(id)
	v, _ := scimjson.Lookup(r, key)
	if str, ok := v.(string); ok {
		k := strings.ToLower(str)
		if c.byKey[k] == nil {
			c.byKey[k] = map[string]bool{}
		}
		c.byKey[k][id] = true
		c.key[id] = k
	}
}

func (c *collection) unindex(id string) {
	if k, ok := c.key[id]; ok {
		delete(c.byKey[k], id)
		if len(c.byKey[k]) == 0 {
			delete(c.byKey, k)
		}
		delete(c.key, id)
	}
}

// holding returns the ids whose unique attribute equals value, ignoring case.
func (c *collection) holding(value string) map[string]bool {
	return c.byKey[strings.ToLower(value)]
}

func (c *collection) remove(id string) {
	delete(c.byID, id)
	c.unindex(id)
	for i, x := range c.order {
		if x == id {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			break
		}
	}
}

func (c *collection) list() []map[string]any {
	out := make([]map[string]any, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.byID[id])
	}
	return out
}

// New returns an empty server.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	return s
}

// Users returns copies of the stored users in creation order.
func (s *Server) Users() []map[string]any { return s.snapshot(&s.users) }

// Groups returns copies of the stored groups in creation order.
func (s *Server) Groups() []map[string]any { return s.snapshot(&s.groups) }

func (s *Server) snapshot(c *collection) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, r := range c.list() {
		out = append(out, deepCopy(r).(map[string]any))
	}
	return out
}

// Reset drops every user and group.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users, s.groups, s.members = collection{}, collection{}, nil
}

// Error is a SCIM error (RFC 7644 §3.12); handlers return it and ServeHTTP
// writes it as the error body.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

// Error returns the status, SCIM error type and detail.
func (e *Error) Error() string {
	return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
}

func badRequest(scimType, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func notFound(id string) *Error {
	return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("Resource %s not found", id)}
}

// reply is what a handler answers on success.
type reply struct {
	status   int
	body     any // nil for no body
	location string
}

// call is one request being served.
type call struct {
	r    *http.Request
	body []byte
	base string // absolute URL of the mount point, for meta.location
}

// ServeHTTP serves the SCIM endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	status := s.respond(w, r, body, err)
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "scim server request", slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", status), slog.Duration("duration", time.Since(start)))
}

// respond serves a request whose body was read (or failed to be: readErr)
// and returns the status written.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, body []byte, readErr error) int {
	c := &call{r: r, body: body, base: mountBase(r)}
	var (
		rep reply
		err error
	)
	switch {
	case readErr != nil:
		err = badRequest("invalidSyntax", "cannot read the body: %v", readErr)
	case len(body) > maxBodyBytes:
		err = &Error{Status: http.StatusRequestEntityTooLarge, ScimType: "tooLarge", Detail: "request body too large"}
	default:
		rep, err = s.serve(c)
	}
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			e = &Error{Status: http.StatusInternalServerError, Detail: err.Error()}
		}
		writeError(w, e)
		return e.Status
	}
	if rep.location != "" {
		w.Header().Set("Location", rep.location)
	}
	if rep.body != nil {
		writeJSON(w, rep.status, rep.body)
	} else {
		w.WriteHeader(rep.status)
	}
	return rep.status
}

func writeError(w http.ResponseWriter, e *Error) { WriteError(w, e.Status, e.ScimType, e.Detail) }

// WriteError answers with a SCIM error body (RFC 7644 §3.12); a 401 also
// gets the WWW-Authenticate challenge.
func WriteError(w http.ResponseWriter, status int, scimType, detail string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	writeJSON(w, status, scimjson.NewError(status, scimType, detail))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"schemas":["` + scimjson.ErrorSchema + `"],"status":"500"}`)
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// mountBase is the absolute URL the server is mounted at: the original
// request path minus the path the server sees.
func mountBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	orig := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		orig = u.Path
	}
	prefix := strings.TrimSuffix(orig, r.URL.Path)
	return scheme + "://" + r.Host + strings.TrimRight(prefix, "/")
}

func (s *Server) serve(c *call) (reply, error) {
	r := c.r
	if s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		return reply{}, &Error{Status: http.StatusUnauthorized, Detail: "Authorization failure. The authorization header is invalid or missing."}
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 2 || segs[0] == "" {
		return reply{}, &Error{Status: http.StatusNotFound, Detail: "Endpoint not found: " + r.URL.Path}
	}
	id := ""
	if len(segs) == 2 {
		id = segs[1]
	}
	var (
		body any
		err  error
	)
	switch s.route(segs[0]) {
	case "Users":
		return s.resources(c, "User", id)
	case "Groups":
		return s.resources(c, "Group", id)
	case "ServiceProviderConfig":
		if id != "" {
			return reply{}, &Error{Status: http.StatusNotFound, Detail: "Endpoint not found: " + r.URL.Path}
		}
		body, err = s.serviceProviderConfig(c.base)
	case "Schemas":
		body, err = schemasResponse(id, c.base)
	case "ResourceTypes":
		body, err = resourceTypesResponse(id, c.base)
	default:
		return reply{}, &Error{Status: http.StatusNotFound, Detail: "Endpoint not found: " + r.URL.Path}
	}
	return discovery(r, body, err)
}

func discovery(r *http.Request, body any, err error) (reply, error) {
	if r.Method != http.MethodGet {
		return reply{}, &Error{Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not supported here"}
	}
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: body}, nil
}

func (s *Server) resources(c *call, typ, id string) (reply, error) {
	m := c.r.Method
	switch {
	case id == "" && m == http.MethodGet:
		return s.list(c, typ)
	case id == "" && m == http.MethodPost:
		return s.create(c, typ)
	case id != "" && m == http.MethodGet:
		return s.get(c, typ, id)
	case id != "" && m == http.MethodPut:
		return s.replace(c, typ, id)
	case id != "" && m == http.MethodPatch && s.opts.NoPatch:
		return reply{}, &Error{Status: http.StatusMethodNotAllowed, Detail: "PATCH is not supported; use PUT"}
	case id != "" && m == http.MethodPatch:
		return s.patch(c, typ, id)
	case id != "" && m == http.MethodDelete:
		return s.delete(typ, id)
	}
	return reply{}, &Error{Status: http.StatusMethodNotAllowed, Detail: m + " is not supported on " + c.r.URL.Path}
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

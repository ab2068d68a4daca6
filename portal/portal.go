package portal

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/secrets"
	"provisiond/store"
)

//go:embed assets
var assets embed.FS

// Config is what the pages need.
type Config struct {
	// Auth authenticates bearer tokens: the one the API uses.
	Auth auth.Authenticator
	// Box seals session cookies and sign-in codes: the data directory's
	// secrets key.
	Box *secrets.Box
	// Store records used sign-in codes.
	Store store.Store
	// PublicURL, when https, makes the cookie Secure even behind a proxy
	// that terminates TLS; its path is the prefix the pages are reached
	// under (https://example.com/graph → /graph/portal/).
	PublicURL string
	// TrustProxy takes the prefix from X-Forwarded-Prefix when PublicURL
	// is empty, as the API's links do.
	TrustProxy bool
	Now        func() time.Time
	Logger     *slog.Logger
}

// Portal serves the admin pages and their sessions.
type Portal struct {
	auth   auth.Authenticator
	box    *secrets.Box
	store  store.Store
	https  bool
	prefix string // of PublicURL's path; "" at the root
	proxy  bool
	now    func() time.Time
	log    *slog.Logger
	static http.Handler
}

// New builds the pages.
func New(c Config) *Portal {
	p := &Portal{auth: c.Auth, box: c.Box, store: c.Store, now: c.Now, log: c.Logger,
		https: strings.HasPrefix(strings.ToLower(c.PublicURL), "https:"), proxy: c.TrustProxy && c.PublicURL == ""}
	if u, err := url.Parse(c.PublicURL); err == nil && c.PublicURL != "" {
		p.prefix = cleanPrefix(u.Path)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	sub, _ := fs.Sub(assets, "assets")
	p.static = http.StripPrefix("/portal/assets/", http.FileServerFS(sub))
	return p
}

// Authenticator is Auth extended with the session cookie: a request with
// an Authorization header, or without the cookie, is Auth's to answer; a
// request with the cookie is authenticated with the token sealed in it,
// and needs the X-CSRF-Token header unless it is a GET or HEAD.
func (p *Portal) Authenticator() auth.Authenticator { return sessionAuth{p} }

// Routes are the patterns to mount beside /v1.0 (graphapi.Config.Extra):
// the pages under /portal/, and / sending browsers there.
func (p *Portal) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /{$}":               http.HandlerFunc(p.home),
		"GET /portal":            http.HandlerFunc(p.page), // the API's router drops trailing slashes
		"GET /portal/":           http.HandlerFunc(p.page),
		"GET /portal/assets/":    http.HandlerFunc(p.asset),
		"GET /portal/session":    http.HandlerFunc(p.getSession),
		"POST /portal/session":   http.HandlerFunc(p.signIn),
		"DELETE /portal/session": http.HandlerFunc(p.signOut),
	}
}

// securityHeaders keeps the pages to their own origin: no script, style,
// image or connection elsewhere, no framing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// home sends browsers from / to the pages.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, p.base(r)+"/portal/", http.StatusFound)
}

// page serves the single page for every path under /portal/; the script
// routes by path, relative to the page's base, which holds the prefix
// provisiond is reached under.
func (p *Portal) page(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	b = bytes.Replace(b, []byte(`<base href="/portal/">`), []byte(`<base href="`+p.base(r)+`/portal/">`), 1)
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

// base is the path prefix browsers reach provisiond under: PublicURL's
// path, or with TrustProxy the X-Forwarded-Prefix header; "" at the root.
func (p *Portal) base(r *http.Request) string {
	if p.proxy {
		v, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Prefix"), ",")
		return cleanPrefix(strings.TrimSpace(v))
	}
	return p.prefix
}

// plainPrefix is a path of plain segments, such as /graph: safe in HTML
// and in a Location header.
var plainPrefix = regexp.MustCompile(`^(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$`)

// cleanPrefix is p without its trailing slash when it is a plain path, and
// "" otherwise.
func cleanPrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if !plainPrefix.MatchString(p) { // no segment starts with a dot: no dot segments
		return ""
	}
	return p
}

func (p *Portal) asset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/portal/assets/")
	if fi, err := fs.Stat(assets, path.Join("assets", name)); err != nil || fi.IsDir() {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "No portal asset named '"+name+"'.")
		return
	}
	securityHeaders(w.Header())
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		w.Header().Set("Content-Type", t)
	}
	p.static.ServeHTTP(w, r)
}

// maxCookie is the largest cookie value browsers are sure to keep (4096
// bytes for name, value and attributes).
const maxCookie = 3900

// sessionInfo is what GET and POST /portal/session answer: who is signed
// in, and the CSRF token the page sends with every write.
type sessionInfo struct {
	CSRFToken      string    `json:"csrfToken"`
	Name           string    `json:"name"`
	Delegated      bool      `json:"delegated"`
	Permissions    []string  `json:"permissions"`
	DirectoryRoles []string  `json:"directoryRoles"`
	Expires        time.Time `json:"expiresDateTime,omitzero"`
}

func info(pr auth.Principal, s session) sessionInfo {
	perms := pr.Roles
	if pr.Delegated {
		perms = pr.Scopes
	}
	return sessionInfo{CSRFToken: s.CSRF, Name: pr.Name, Delegated: pr.Delegated, Permissions: nonNil(perms),
		DirectoryRoles: nonNil(pr.DirectoryRoles), Expires: s.Expires}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (p *Portal) getSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		writeError(w, http.StatusUnauthorized, auth.CodeInvalidToken, "Not signed in: POST /portal/session with a token or a sign-in code.")
		return
	}
	s, err := p.openSession(r.Context(), c.Value)
	if err != nil && !errors.Is(err, errNoSession) {
		p.fail(w, r, err)
		return
	}
	if err != nil {
		p.clearCookie(w, r)
		writeError(w, http.StatusUnauthorized, auth.CodeInvalidToken, "The portal session has expired or is not valid; sign in again.")
		return
	}
	pr, err := p.authenticateToken(r, s.Token)
	if err != nil {
		p.clearCookie(w, r)
		p.authError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info(pr, s))
}

// signIn starts a session from {"token": "..."} (a pasted bearer token)
// or {"code": "..."} (a one-time code of `provisiond token --web`).
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	// A JSON body cannot come from a cross-site form without a CORS
	// preflight, which provisiond never grants: no login CSRF.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "BadRequest", `Send Content-Type: application/json with {"token":"..."} or {"code":"..."}.`)
		return
	}
	var body struct {
		Token string `json:"token"`
		Code  string `json:"code"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(&body)
	if _, more := dec.Token(); err == nil && more != io.EOF {
		err = errors.New("it holds more than the one JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", `The body must be {"token":"<bearer token>"} or {"code":"<sign-in code>"}: `+bodyProblem(err))
		return
	}
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(body.Token), "Bearer "))
	switch {
	case (tok == "") == (body.Code == ""):
		writeError(w, http.StatusBadRequest, "BadRequest", `Give exactly one of "token" (a bearer token) or "code" (from provisiond token --web).`)
		return
	case body.Code != "":
		var err error
		if tok, err = p.useCode(r.Context(), body.Code); err != nil {
			if errors.Is(err, errCodeRefused) {
				writeError(w, http.StatusUnauthorized, auth.CodeInvalidToken, "This sign-in code is not valid, has expired or was used already; run `provisiond token ... --web` again for a new link.")
				return
			}
			p.fail(w, r, err)
			return
		}
	}
	pr, err := p.authenticateToken(r, tok)
	if err != nil {
		p.authError(w, r, err)
		return
	}
	s := session{Token: tok, CSRF: randomToken(), Expires: tokenExpiry(tok)}
	v, err := seal(p.box, purposeSession, s)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if len(v) > maxCookie {
		writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("This token is too large for a session cookie (%d bytes sealed; browsers keep at most %d): sign in with a token carrying fewer claims, or call the API with it directly.", len(v), maxCookie))
		return
	}
	ck := p.cookie(r, v)
	if !s.Expires.IsZero() {
		ck.Expires = s.Expires
	}
	http.SetCookie(w, ck)
	writeJSON(w, http.StatusOK, info(pr, s))
}

// signOut ends the session: its end is recorded in the store, so a copy
// of the cookie is refused too, and the cookie is cleared. As every write,
// it needs the CSRF header of a valid session.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if s, err := p.openSession(r.Context(), c.Value); err == nil {
			if !csrfMatches(r, s) {
				writeError(w, http.StatusForbidden, auth.CodeDenied, msgNoCSRF)
				return
			}
			until := s.Expires
			if until.IsZero() {
				until = p.now().Add(signedOutKeep)
			}
			if err := p.store.UseOnce(r.Context(), signedOutKey(s), until, p.now()); err != nil && !errors.Is(err, store.ErrConflict) {
				p.fail(w, r, err)
				return
			}
		}
	}
	p.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (p *Portal) cookie(r *http.Request, v string) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: p.https || r.TLS != nil}
}

func (p *Portal) clearCookie(w http.ResponseWriter, r *http.Request) {
	c := p.cookie(r, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// authError answers an authentication failure with its own status.
func (p *Portal) authError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *auth.Error
	if errors.As(err, &ae) {
		writeError(w, ae.Status, ae.Code, ae.Message)
		return
	}
	p.fail(w, r, err)
}

func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "portal request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "UnknownError", "An internal error occurred; the request id identifies it in the service log.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Graph's error envelope, with the request ids the API's
// middleware set on w.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        h.Get("request-id"),
			"client-request-id": h.Get("client-request-id"),
		},
	}})
}

// bodyProblem says what is wrong with a sign-in body in the caller's
// terms: encoding/json's type errors name Go types.
func bodyProblem(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%q is a JSON %s, not a string.", te.Field, te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("it is a JSON %s, not an object.", te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ") + "."
}

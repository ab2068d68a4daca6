package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
	"provisiond/keylock"
	"provisiond/netguard"
)

// Defaults for Config fields left zero.
const (
	DefaultName         = "customappsso"
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetryWait = 5 * time.Second
	DefaultMaxAttempts  = 4
	DefaultMaxScan      = 10000
	maxResponseBytes    = 32 << 20
)

// Config configures a Client.
type Config struct {
	// BaseAddress is the SCIM base URL (Entra's "Tenant URL"), with or
	// without a trailing slash, e.g. "https://api.contoso.com/scim/v2".
	BaseAddress string
	// SecretToken is the bearer token sent on every request ("" sends
	// none). It is never logged.
	SecretToken string
	// HTTPClient sends the requests; nil uses a client of its own (Guard's
	// Client when Guard is set).
	HTTPClient *http.Client
	// Guard, when set, refuses a BaseAddress whose literal IP address it
	// forbids, in New. A name is checked once resolved: for that the
	// HTTPClient must dial through the guard (Guard.Client). A request the
	// guard refuses fails with KindInvalid, CodeAddressRefused.
	Guard *netguard.Guard
	// Timeout bounds each HTTP attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one debug record per request; nil discards.
	Logger *slog.Logger
	// Name is the system name shown in provisioning logs; "" means
	// DefaultName.
	Name string
	// Profile says how the target differs from the RFC (see ParseProfile
	// for the job settings that fill it); the zero value is the default.
	Profile Profile
	// MaxAttempts bounds the attempts of one request, the first included;
	// 0 means DefaultMaxAttempts and 1 disables retries. See Client for
	// what is retried.
	MaxAttempts int
	// MaxRetryWait is the longest wait before a retry: a Retry-After
	// beyond it is not waited for (the error carries it to the engine) and
	// backoff delays are capped at it. 0 means DefaultMaxRetryWait; a
	// negative value disables retries.
	MaxRetryWait time.Duration
	// Sleep waits d or until ctx is done (then returning ctx.Err()); nil
	// uses a timer. Tests inject one so retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxScan bounds how many resources Find lists when it must match on
	// the client because the server has no usable filter; 0 means
	// DefaultMaxScan.
	MaxScan int
}

// LogValue logs the configuration with the token redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseAddress", c.BaseAddress),
		slog.Any("secretToken", secret(c.SecretToken)),
		slog.Duration("timeout", c.Timeout),
		slog.String("name", c.Name),
		slog.Any("profile", c.Profile),
	)
}

// secret holds a credential; it prints and logs as REDACTED.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }
func (secret) String() string       { return "REDACTED" }

// Client is a SCIM 2.0 (RFC 7644) client implementing connector.Target.
// It is safe for concurrent use; changes to one object (PATCHes to a group
// above all) are serialised.
//
// Transient failures (network errors, timeouts, 408, 429, 5xx) are retried
// with exponential backoff and jitter, up to Config.MaxAttempts attempts
// and never past the context's deadline: GET, PUT, PATCH and DELETE always,
// POST only when it failed before it was sent. A 429 or 503 with Retry-After waits that long. Create retries a
// POST that may have reached the server only after searching for the object
// by userName, displayName or externalId, so a create that timed out but
// succeeded returns the object instead of making a duplicate. A 404 on
// Get, Update, Delete or a membership change is confirmed by a second GET
// before it is reported as KindNotFound.
type Client struct {
	base         string // without trailing slash
	origin       string // scheme://host of base, for messages
	token        secret
	tokenForms   []string // token.forms(), what responses have redacted
	http         *http.Client
	timeout      time.Duration
	maxRetryWait time.Duration
	maxAttempts  int
	sleep        func(context.Context, time.Duration) error
	maxScan      int
	log          *slog.Logger
	name         string
	profile      Profile
	locks        keylock.Locks // per object: "Group/<id>", "User/<id>"

	disco         discovery
	noPatchUsers  atomic.Bool // a user PATCH answered 405/501: use PUT
	noPatchGroups atomic.Bool // a group PATCH answered 405/501: use PUT
	noUserFilter  atomic.Bool // GET /Users?filter=groups.value eq … was refused
}

var _ connector.Target = (*Client)(nil)

// New returns a client for the SCIM service at cfg.BaseAddress. It sends no
// request; call Test to check the connection.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseAddress))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("scim: base address %q must be an absolute http(s) URL", cfg.BaseAddress)
	}
	u.RawQuery, u.Fragment = "", ""
	if cfg.Guard != nil {
		if err := cfg.Guard.CheckURL(u); err != nil {
			return nil, fmt.Errorf("scim: base address %q: %w", cfg.BaseAddress, refused(err))
		}
	}
	if err := cfg.Profile.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		base:         strings.TrimRight(u.String(), "/"),
		origin:       u.Scheme + "://" + u.Host,
		token:        secret(cfg.SecretToken),
		tokenForms:   secret(cfg.SecretToken).forms(),
		http:         cfg.HTTPClient,
		timeout:      cfg.Timeout,
		maxRetryWait: cfg.MaxRetryWait,
		maxAttempts:  cfg.MaxAttempts,
		sleep:        cfg.Sleep,
		maxScan:      cfg.MaxScan,
		log:          cfg.Logger,
		name:         cfg.Name,
		profile:      cfg.Profile.normalize(),
	}
	if c.http == nil && cfg.Guard != nil {
		c.http = cfg.Guard.Client()
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxRetryWait == 0 {
		c.maxRetryWait = DefaultMaxRetryWait
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxRetryWait < 0 {
		c.maxAttempts = 1
	}
	if c.sleep == nil {
		c.sleep = sleepTimer
	}
	if c.maxScan <= 0 {
		c.maxScan = DefaultMaxScan
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.name == "" {
		c.name = DefaultName
	}
	return c, nil
}

// Name returns the system name shown in provisioning logs.
func (c *Client) Name() string { return c.name }

// lock serialises changes to one object; it gives up when ctx ends.
func (c *Client) lock(ctx context.Context, typ, id string) (unlock func(), err error) {
	unlock, err = c.locks.Lock(ctx, typ+"/"+id)
	if err != nil {
		return nil, &connector.Error{Kind: connector.KindTransient, Code: CodeTimeout,
			Message: fmt.Sprintf("Gave up waiting for another change to %s %s to finish: %v", typ, id, err), Err: err}
	}
	return unlock, nil
}

// resourceType maps an object type to its SCIM endpoint and canonical name.
func resourceType(objectType string) (endpoint, typ string, err error) {
	switch {
	case strings.EqualFold(objectType, connector.TypeUser):
		return "/Users", connector.TypeUser, nil
	case strings.EqualFold(objectType, connector.TypeGroup):
		return "/Groups", connector.TypeGroup, nil
	}
	return "", "", &connector.Error{
		Kind:    connector.KindInvalid,
		Code:    "ObjectTypeNotSupported",
		Message: fmt.Sprintf("The SCIM connector does not support object type %q (only User and Group).", objectType),
	}
}

func resourcePath(endpoint, id string) (string, error) {
	if id == "" {
		return "", &connector.Error{Kind: connector.KindInvalid, Code: "InvalidAnchor", Message: "empty SCIM resource id"}
	}
	return endpoint + "/" + url.PathEscape(id), nil
}

// response is a 2xx answer.
type response struct {
	status      int
	contentType string
	body        []byte
}

// decodeResource parses a resource and checks that it has an id.
func decodeResource(method, path string, resp *response) (map[string]any, string, error) {
	m, err := scimjson.DecodeObject(resp.body)
	if err != nil {
		return nil, "", incompatible(method, path, resp, "not a JSON object: "+err.Error())
	}
	id, _ := scalarString(m["id"])
	if id == "" {
		return nil, "", incompatible(method, path, resp, "the resource has no id")
	}
	return m, id, nil
}

// createdID reads the id of the resource a POST answered with, and
// checks the answer is one JSON object, without decoding the rest: a
// cycle creates thousands of objects and needs only their ids. It reads
// as encoding/json would: the name "id" in any case (the last one wins),
// duplicate names and invalid UTF-8 allowed.
func createdID(method, path string, resp *response) (string, error) {
	id, err := scanID(resp.body)
	if err != nil {
		return "", incompatible(method, path, resp, "not a JSON object: "+err.Error())
	}
	if id == "" {
		return "", incompatible(method, path, resp, "the resource has no id")
	}
	return id, nil
}

// idDecoders are scanID's decoders, reused: a new one allocates its
// buffers again. One that read a body past pooledBody is dropped, so the
// pool does not keep big buffers.
var idDecoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

const pooledBody = 64 << 10

// scanID returns the string or number at the top-level name "id" of the
// JSON object body ("" when there is none or it is of another kind).
func scanID(body []byte) (string, error) {
	dec := idDecoders.Get().(*jsontext.Decoder)
	if len(body) <= pooledBody {
		defer idDecoders.Put(dec)
	}
	dec.Reset(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if dec.PeekKind() != '{' {
		if _, err := dec.ReadToken(); err != nil {
			return "", err
		}
		return "", errors.New("the answer is not an object")
	}
	if _, err := dec.ReadToken(); err != nil {
		return "", err
	}
	var id string
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(name.String(), "id") {
			if err := dec.SkipValue(); err != nil {
				return "", err
			}
			continue
		}
		if k := dec.PeekKind(); k != '"' && k != '0' { // '0': a number, as the server wrote it
			id = ""
			if err := dec.SkipValue(); err != nil {
				return "", err
			}
			continue
		}
		v, err := dec.ReadToken()
		if err != nil {
			return "", err
		}
		id = v.String()
	}
	if _, err := dec.ReadToken(); err != nil { // the object's end
		return "", err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return "", err
	}
	return id, nil
}

// listResponse is a parsed RFC 7644 §3.4.2 ListResponse.
type listResponse struct {
	total     int
	resources []map[string]any
	// startIndex is the index of the first resource as the server says it,
	// 0 when it does not.
	startIndex int
}

func decodeList(method, path string, resp *response) (listResponse, error) {
	m, err := scimjson.DecodeObject(resp.body)
	if err != nil {
		return listResponse{}, incompatible(method, path, resp, "not a JSON object: "+err.Error())
	}
	var lr listResponse
	raw, _ := scimjson.Lookup(m, "Resources")
	items, ok := raw.([]any)
	if raw != nil && !ok {
		return listResponse{}, incompatible(method, path, resp, "Resources is not an array")
	}
	for _, it := range items {
		r, ok := it.(map[string]any)
		if !ok {
			return listResponse{}, incompatible(method, path, resp, "a Resources element is not an object")
		}
		lr.resources = append(lr.resources, r)
	}
	tr, present := scimjson.Lookup(m, "totalResults")
	n, isNum := tr.(json.Number)
	switch {
	case !present:
		if raw == nil {
			return listResponse{}, incompatible(method, path, resp, "not a ListResponse (no totalResults)")
		}
		lr.total = len(lr.resources)
	case !isNum:
		return listResponse{}, incompatible(method, path, resp, "totalResults is not a number")
	default:
		v, err := n.Int64()
		if err != nil || v < 0 {
			return listResponse{}, incompatible(method, path, resp, "totalResults is not a count")
		}
		lr.total = int(v)
	}
	if n, ok := scimjson.Lookup(m, "startIndex"); ok {
		if num, ok := n.(json.Number); ok {
			if v, err := num.Int64(); err == nil && v > 0 && v < 1<<31 {
				lr.startIndex = int(v)
			}
		}
	}
	return lr, nil
}

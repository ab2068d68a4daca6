package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"provisiond/connector"
)

// Defaults for Config fields left zero.
const (
	DefaultName         = "customappsso"
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetryWait = 5 * time.Second
	maxResponseBytes    = 32 << 20
	maxFindPages        = 100
)

// Config configures a Client.
type Config struct {
	// BaseAddress is the SCIM base URL (Entra's "Tenant URL"), with or
	// without a trailing slash, e.g. "https://api.contoso.com/scim/v2".
	BaseAddress string
	// SecretToken is the bearer token sent on every request ("" sends
	// none). It is never logged.
	SecretToken string
	// HTTPClient sends the requests; nil uses a client of its own.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one debug record per request; nil discards.
	Logger *slog.Logger
	// Name is the system name shown in provisioning logs; "" means
	// DefaultName.
	Name string
	// MaxRetryWait is the longest Retry-After the client waits for before
	// its single retry of a 429 or 503; 0 means DefaultMaxRetryWait and a
	// negative value disables the retry.
	MaxRetryWait time.Duration
}

// LogValue logs the configuration with the token redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseAddress", c.BaseAddress),
		slog.Any("secretToken", secret(c.SecretToken)),
		slog.Duration("timeout", c.Timeout),
		slog.String("name", c.Name),
	)
}

// secret holds a credential; it prints and logs as REDACTED.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }
func (secret) String() string       { return "REDACTED" }

// Client is a SCIM 2.0 (RFC 7644) client implementing connector.Target.
// It is safe for concurrent use; PATCHes to one group are serialised.
type Client struct {
	base         string // without trailing slash
	token        secret
	http         *http.Client
	timeout      time.Duration
	maxRetryWait time.Duration
	log          *slog.Logger
	name         string
	groups       keyedMutex
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
	c := &Client{
		base:         strings.TrimRight(u.String(), "/"),
		token:        secret(cfg.SecretToken),
		http:         cfg.HTTPClient,
		timeout:      cfg.Timeout,
		maxRetryWait: cfg.MaxRetryWait,
		log:          cfg.Logger,
		name:         cfg.Name,
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
	status int
	body   []byte
}

// do sends one request and returns a 2xx response or a *connector.Error.
// A 429 or 503 whose Retry-After is at most maxRetryWait is retried once.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeInvalidValue, Message: "cannot encode request: " + err.Error(), Err: err}
		}
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, method, path, query, payload)
		var ce *connector.Error
		if err == nil || attempt > 0 || c.maxRetryWait < 0 || !errors.As(err, &ce) ||
			(ce.Status != http.StatusTooManyRequests && ce.Status != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait := time.Duration(ce.RetryAfter * float64(time.Second))
		if ce.RetryAfter <= 0 || wait > c.maxRetryWait {
			return resp, err
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim retry", slog.String("method", method),
			slog.String("path", path), slog.Int("status", ce.Status), slog.Duration("wait", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, transportError(method, path, ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, payload []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, transportError(method, path, err)
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim request", slog.String("method", method),
			slog.String("path", path), slog.String("error", err.Error()))
		return nil, transportError(method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, transportError(method, path, err)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "scim request", slog.String("method", method),
		slog.String("path", path), slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, responseError(method, path, resp, body)
	}
	return &response{status: resp.StatusCode, body: body}, nil
}

// decodeObject parses a JSON object, keeping numbers as json.Number.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null instead of a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

// decodeResource parses a resource and checks that it has an id.
func decodeResource(method, path string, resp *response) (map[string]any, string, error) {
	m, err := decodeObject(resp.body)
	if err != nil {
		return nil, "", incompatible(method, path, resp.status, resp.body, "not a JSON object: "+err.Error())
	}
	id, _ := scalarString(m["id"])
	if id == "" {
		return nil, "", incompatible(method, path, resp.status, resp.body, "the resource has no id")
	}
	return m, id, nil
}

// listResponse is a parsed RFC 7644 §3.4.2 ListResponse.
type listResponse struct {
	total     int
	resources []map[string]any
}

func decodeList(method, path string, resp *response) (listResponse, error) {
	m, err := decodeObject(resp.body)
	if err != nil {
		return listResponse{}, incompatible(method, path, resp.status, resp.body, "not a JSON object: "+err.Error())
	}
	var lr listResponse
	raw, _ := lookupFold(m, "Resources")
	items, ok := raw.([]any)
	if raw != nil && !ok {
		return listResponse{}, incompatible(method, path, resp.status, resp.body, "Resources is not an array")
	}
	for _, it := range items {
		r, ok := it.(map[string]any)
		if !ok {
			return listResponse{}, incompatible(method, path, resp.status, resp.body, "a Resources element is not an object")
		}
		lr.resources = append(lr.resources, r)
	}
	tr, present := lookupFold(m, "totalResults")
	n, isNum := tr.(json.Number)
	switch {
	case !present:
		if raw == nil {
			return listResponse{}, incompatible(method, path, resp.status, resp.body, "not a ListResponse (no totalResults)")
		}
		lr.total = len(lr.resources)
	case !isNum:
		return listResponse{}, incompatible(method, path, resp.status, resp.body, "totalResults is not a number")
	default:
		v, err := n.Int64()
		if err != nil || v < 0 {
			return listResponse{}, incompatible(method, path, resp.status, resp.body, "totalResults is not a count")
		}
		lr.total = int(v)
	}
	return lr, nil
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// keyedMutex serialises work per key (a group id) without keeping a mutex
// per key forever.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns the unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

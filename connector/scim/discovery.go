package scim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// capabilities are the service provider features the client relies on.
type capabilities struct {
	patch      bool // PATCH works
	filter     bool // ?filter= works
	maxResults int  // filter.maxResults; 0 when not said
}

// defaultCapabilities is what the client assumes without discovery, or
// when /ServiceProviderConfig cannot be read.
var defaultCapabilities = capabilities{patch: true, filter: true}

// discovery caches a client's reading of /ServiceProviderConfig.
type discovery struct {
	mu   sync.Mutex
	done bool
	caps capabilities
}

// capabilities returns what /ServiceProviderConfig says, read once per
// client (profile ScimDiscovery=off: the defaults). A failure to read it
// means the defaults, and is not asked again; only a caller that gave up
// (ctx done) leaves the question open for the next one, and gets the
// error, since nothing else can be sent for it either.
func (c *Client) capabilities(ctx context.Context) (capabilities, error) {
	if c.profile.NoDiscovery {
		return defaultCapabilities, nil
	}
	c.disco.mu.Lock()
	defer c.disco.mu.Unlock()
	if c.disco.done {
		return c.disco.caps, nil
	}
	caps, err := c.discover(ctx)
	if err != nil {
		if ctx.Err() != nil || expired(ctx) {
			return defaultCapabilities, err
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "scim discovery failed; assuming PATCH and filters work", slog.String("error", err.Error()))
	}
	c.disco.done, c.disco.caps = true, caps
	return caps, nil
}

func (c *Client) discover(ctx context.Context) (capabilities, error) {
	const path = "/ServiceProviderConfig"
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return defaultCapabilities, err
	}
	m, err := scimjson.DecodeObject(resp.body)
	if err != nil {
		return defaultCapabilities, incompatible(http.MethodGet, path, resp, "not a JSON object: "+err.Error())
	}
	caps := capabilities{patch: supported(m, "patch"), filter: supported(m, "filter")}
	if f, ok := scimjson.Lookup(m, "filter"); ok {
		if fm, ok := f.(map[string]any); ok {
			if n, ok := scimjson.Lookup(fm, "maxResults"); ok {
				if num, ok := n.(json.Number); ok {
					if v, err := num.Int64(); err == nil && v > 0 && v < 1<<31 {
						caps.maxResults = int(v)
					}
				}
			}
		}
	}
	return caps, nil
}

// supported reads feature.supported; anything but an explicit false (or
// "false") counts as supported, so a sparse document changes nothing.
func supported(m map[string]any, feature string) bool {
	v, _ := scimjson.Lookup(m, feature)
	obj, ok := v.(map[string]any)
	if !ok {
		return true
	}
	s, _ := scimjson.Lookup(obj, "supported")
	switch x := s.(type) {
	case bool:
		return x
	case string:
		if b, ok := parseBool(x); ok {
			return b
		}
	}
	return true
}

// usePut reports whether updates of the object type go by PUT: the profile
// says so for users, /ServiceProviderConfig says PATCH is unsupported, or
// the server refused a PATCH of that type before.
func (c *Client) usePut(ctx context.Context, typ string) (bool, error) {
	if typ == connector.TypeUser && (c.profile.UserUpdate == UserUpdatePut || c.noPatchUsers.Load()) {
		return true, nil
	}
	if typ == connector.TypeGroup && c.noPatchGroups.Load() {
		return true, nil
	}
	caps, err := c.capabilities(ctx)
	return !caps.patch, err
}

// patchOrPut changes an object of the type with patch, or with put when
// PATCH is not to be used (usePut) or the server refuses it.
func (c *Client) patchOrPut(ctx context.Context, typ string, patch, put func() error) error {
	usePut, err := c.usePut(ctx, typ)
	if err != nil {
		return err
	}
	if !usePut {
		err := patch()
		if !c.patchRefused(typ, err) {
			return err
		}
	}
	return put()
}

// patchRefused reports whether err says the server has no PATCH for the
// type (405 or 501) and remembers it, so later updates use PUT.
func (c *Client) patchRefused(typ string, err error) bool {
	if s := statusOf(err); s != http.StatusMethodNotAllowed && s != http.StatusNotImplemented {
		return false
	}
	if typ == connector.TypeGroup {
		c.noPatchGroups.Store(true)
	} else {
		c.noPatchUsers.Store(true)
	}
	c.log.Debug("scim PATCH refused; using PUT from now on", slog.String("type", typ))
	return true
}

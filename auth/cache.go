package auth

import (
	"crypto"
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers tokens whose signature and claims were checked, so a
// client that sends the same token on every call pays for one signature
// verification, not one per request. An entry lives until the token
// expires or for cacheFor, whichever comes first, so a key the issuer
// withdraws stops being honoured: a hit is honoured only while the issuer's
// key set still holds the same key under the token's kid (a map lookup).
// Keys are SHA-256 digests: no token is kept.
type verified struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedEntry
}

type verifiedEntry struct {
	p       Principal
	header  map[string]any // the token's kid and alg, to look the key up again
	key     any            // the key that verified the signature
	expires time.Time      // token expiry (leeway included)
	until   time.Time      // end of the cache lifetime
}

const (
	cacheFor     = 5 * time.Minute
	cacheEntries = 4096
)

// get returns the principal of a verified token whose key keyOf still
// returns.
func (c *verified) get(raw string, now time.Time, keyOf func(header map[string]any) (any, error)) (Principal, bool) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		return Principal{}, false
	}
	if !now.Before(e.expires) || !now.Before(e.until) || !sameKey(keyOf, e) {
		c.mu.Lock()
		delete(c.m, k)
		c.mu.Unlock()
		return Principal{}, false
	}
	return e.p, true
}

func sameKey(keyOf func(map[string]any) (any, error), e verifiedEntry) bool {
	key, err := keyOf(e.header)
	if err != nil {
		return false
	}
	pk, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pk.Equal(e.key)
}

func (c *verified) put(raw string, e verifiedEntry, now time.Time) {
	k := sha256.Sum256([]byte(raw))
	e.until = now.Add(cacheFor)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheEntries {
		c.m = make(map[[32]byte]verifiedEntry) // simple and bounded: start over
	}
	c.m[k] = e
}

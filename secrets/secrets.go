package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Value is a secret string. It prints and logs as REDACTED.
type Value string

// String implements fmt.Stringer.
func (Value) String() string { return "REDACTED" }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// GoString implements fmt.GoStringer so %#v hides it too.
func (Value) GoString() string { return `"REDACTED"` }

// MarshalJSON hides the value from any JSON output, API responses included.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }

// Reveal returns the secret itself, for the one place that sends it.
func (v Value) Reveal() string { return string(v) }

// KeyFile is the name of the sealing key inside the data directory.
const KeyFile = "secrets.key"

// Box seals and opens secrets.
type Box struct {
	aead cipher.AEAD
	fp   string
}

// LoadOrCreate reads the key in dir, creating it (mode 0600) on first use.
func LoadOrCreate(dir string) (*Box, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, key, 0o600); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key %s: want 32 bytes, have %d", path, len(key))
	}
	return NewBox(key)
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("provisiond secrets key fingerprint"))
	return &Box{aead: aead, fp: hex.EncodeToString(mac.Sum(nil)[:16])}, nil
}

// Fingerprint identifies the key without revealing it (an HMAC of a fixed
// text under it): two Boxes open each other's secrets exactly when their
// fingerprints are equal.
func (b *Box) Fingerprint() string { return b.fp }

// Seal encrypts plaintext; the nonce is prepended.
func (b *Box) Seal(plaintext []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secrets: too short")
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errors.New("sealed secrets: cannot decrypt (wrong key or corrupted data)")
	}
	return out, nil
}

// Pair is one synchronization secret, as PUT .../secrets sends it.
type Pair struct {
	Key   string `json:"key"`
	Value Value  `json:"value"`
}

// plainPair is a Pair with its value in the clear: only ever sealed.
type plainPair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SealPairs seals a secrets list.
func (b *Box) SealPairs(pairs []Pair) ([]byte, error) {
	plain := make([]plainPair, len(pairs))
	for i, p := range pairs {
		plain[i] = plainPair{p.Key, p.Value.Reveal()}
	}
	raw, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	return b.Seal(raw), nil
}

// OpenPairs opens what SealPairs produced; nil sealed means no secrets.
func (b *Box) OpenPairs(sealed []byte) ([]Pair, error) {
	if sealed == nil {
		return nil, nil
	}
	raw, err := b.Open(sealed)
	if err != nil {
		return nil, err
	}
	var plain []plainPair
	if err := json.Unmarshal(raw, &plain); err != nil {
		return nil, fmt.Errorf("sealed secrets: %w", err)
	}
	pairs := make([]Pair, len(plain))
	for i, p := range plain {
		pairs[i] = Pair{p.Key, Value(p.Value)}
	}
	return pairs, nil
}

// Lookup returns the value of key in pairs.
func Lookup(pairs []Pair, key string) (Value, bool) {
	for _, p := range pairs {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

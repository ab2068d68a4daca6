package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files the embedded issuer keeps in the data directory.
const (
	signingKeyFile = "signing-key.pem"
	tenantIDFile   = "tenant-id"
)

// loadOrCreateFile returns the contents of dir/name, first creating it with
// the output of create if it does not exist. Creation is atomic and never
// replaces a file another process created meanwhile: the data is written to a
// temporary file in dir, synced, and then linked into place (falling back to
// rename on file systems without hard links); whoever loses the race reads
// the winner's file.
func loadOrCreateFile(dir, name string, perm fs.FileMode, create func() ([]byte, error)) ([]byte, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	data, err := create()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	switch err := os.Link(tmp, path); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return os.ReadFile(path)
	default: // no hard links here: rename, unless someone was faster
		if _, err := os.Lstat(path); err == nil {
			return os.ReadFile(path)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, err
		}
	}
	syncDir(dir)
	return data, nil
}

// syncDir makes a new directory entry durable; failures (some platforms
// cannot sync directories) only weaken durability, so they are ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// newSigningKeyPEM generates an ECDSA P-256 key as a PKCS #8 PEM block.
func newSigningKeyPEM() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseSigningKey reads an ECDSA P-256 private key from PEM (PKCS #8 or SEC 1).
func parseSigningKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ec, nil
}

// ecJWK is the public JWK of a P-256 key, members in RFC 7638 order.
type ecJWK struct {
	Crv string `json:"crv"`
	Kty string `json:"kty"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func publicJWK(pub *ecdsa.PublicKey) ecJWK {
	b, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each
	if err != nil {
		panic("auth: invalid P-256 public key: " + err.Error())
	}
	enc := base64.RawURLEncoding
	return ecJWK{Crv: "P-256", Kty: "EC", X: enc.EncodeToString(b[1:33]), Y: enc.EncodeToString(b[33:])}
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of pub.
func thumbprint(pub *ecdsa.PublicKey) string {
	b, _ := json.Marshal(publicJWK(pub)) // members are sorted, no spaces
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// nameGUID returns the name-based (version 5, SHA-1) GUID of name in the
// namespace ns, as RFC 9562 defines it.
func nameGUID(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatGUID(u)
}

func formatGUID(u [16]byte) string {
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// parseGUID parses the 8-4-4-4-12 hex form.
func parseGUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return u, false
	}
	copy(u[:], b)
	return u, true
}

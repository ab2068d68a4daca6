package secrets

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBoxRoundTripAndKeyFile(t *testing.T) {
	dir := t.TempDir()
	b1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %o, want 600", got)
	}
	pairs := []Pair{{Key: "BaseAddress", Value: "https://scim.example/v2"}, {Key: "SecretToken", Value: "s3cr3t-token"}}
	sealed, err := b1.SealPairs(pairs)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cr3t-token")) {
		t.Fatal("sealed data contains the plaintext token")
	}
	b2, err := LoadOrCreate(dir) // reopened: same key
	if err != nil {
		t.Fatal(err)
	}
	got, err := b2.OpenPairs(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Lookup(got, "SecretToken"); v.Reveal() != "s3cr3t-token" {
		t.Errorf("SecretToken = %q", v.Reveal())
	}
	other, _ := LoadOrCreate(t.TempDir())
	if _, err := other.OpenPairs(sealed); err == nil {
		t.Error("a different key opened the secrets")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b2.OpenPairs(sealed); err == nil {
		t.Error("tampered ciphertext opened")
	}
}

func TestValueNeverShows(t *testing.T) {
	v := Value("hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", v, "pair", Pair{Key: "SecretToken", Value: v})
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %s %#v", v, v, v), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret leaked: %s", s)
		}
	}
}

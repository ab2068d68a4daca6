package portal

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"provisiond/secrets"
)

func testBox(t testing.TB) *secrets.Box {
	b, err := secrets.NewBox(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSealPurposes: a sealed value opens only for the purpose it was
// sealed for, so a sign-in code is never a session cookie or vice versa.
func TestSealPurposes(t *testing.T) {
	box := testBox(t)
	v, err := seal(box, purposeCode, signInCode{Token: "tok", ID: "id", Expires: time.Unix(100, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var c signInCode
	if err := unseal(box, purposeCode, v, &c); err != nil || c.Token != "tok" || c.ID != "id" {
		t.Errorf("unseal a code = %+v, %v", c, err)
	}
	var s session
	if err := unseal(box, purposeSession, v, &s); err == nil {
		t.Errorf("a sign-in code opened as a session: %+v", s)
	}
	// Job secrets are sealed with the same key, without a purpose.
	raw, _ := box.SealPairs([]secrets.Pair{{Key: "SecretToken", Value: "x"}})
	if err := unseal(box, purposeSession, base64.RawURLEncoding.EncodeToString(raw), &s); err == nil {
		t.Error("sealed job secrets opened as a session")
	}
}

func TestTokenExpiry(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, tt := range []struct {
		tok  string
		want time.Time
	}{
		{"h." + enc([]byte(`{"exp":1700000000}`)) + ".s", time.Unix(1700000000, 0)},
		{"h." + enc([]byte(`{"sub":"x"}`)) + ".s", time.Time{}},
		{"h." + enc([]byte(`{"exp":"soon"}`)) + ".s", time.Time{}},
		{"not a jwt", time.Time{}},
		{"h.!!!.s", time.Time{}},
	} {
		if got := tokenExpiry(tt.tok); !got.Equal(tt.want) {
			t.Errorf("tokenExpiry(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
}

// FuzzUnseal: whatever a browser sends as a cookie or a code, opening it
// is an error or a value, never a panic, and only sealed values open.
func FuzzUnseal(f *testing.F) {
	box := testBox(f)
	good, _ := seal(box, purposeSession, session{Token: "t", CSRF: "c"})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add("")
	f.Add("%%%")
	f.Add(base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0}, 40)))
	f.Fuzz(func(t *testing.T, s string) {
		var v session
		// The only session ever sealed with this key is {t, c} (in this
		// process or the one that made the seeds: nonces differ).
		if err := unseal(box, purposeSession, s, &v); err == nil && (v.Token != "t" || v.CSRF != "c") {
			t.Errorf("unseal(%q) opened a value nobody sealed: %+v", s, v)
		}
	})
}

// TestCleanPrefix: only plain paths become the pages' base, since the
// prefix goes into HTML and a Location header.
func TestCleanPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "/": "", "/graph": "/graph", "/graph/": "/graph", "/a/b.c": "/a/b.c",
		`/x"><script>`: "", "/..": "", "/a/../b": "", "//evil.example": "", "graph": "", "/a b": "",
	} {
		if got := cleanPrefix(in); got != want {
			t.Errorf("cleanPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

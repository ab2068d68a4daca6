package scim

import (
	"slices"
	"testing"
)

// TestTokenForms: each spelling of the token once, the header's first; a
// token of letters and digits has no other; a short one only the header's.
func TestTokenForms(t *testing.T) {
	for tok, want := range map[string][]string{
		"":              nil,
		"short":         {"Bearer short"},
		"abcDEF0123456": {"Bearer abcDEF0123456", "abcDEF0123456"},
		"ab/cd+ef<gh":   {"Bearer ab/cd+ef<gh", "ab/cd+ef<gh", `ab/cd+ef\u003cgh`, `ab\/cd+ef<gh`, `ab\u002fcd\u002bef\u003cgh`, `ab\u002Fcd\u002Bef\u003Cgh`},
	} {
		if got := secret(tok).forms(); !slices.Equal(got, want) {
			t.Errorf("forms(%q) = %q, want %q", tok, got, want)
		}
	}
}

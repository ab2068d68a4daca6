package ldapsource_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"provisiond/connector/ldapsource"
)

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// forgeMark builds a watermark holding cookie, as the source encodes one.
func forgeMark(t *testing.T, _ *ldapsource.Source, cookie string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"f": "OpenLDAP", "c": [][]byte{[]byte(cookie)}})
	if err != nil {
		t.Fatal(err)
	}
	return "ldap1." + base64.RawURLEncoding.EncodeToString(b)
}

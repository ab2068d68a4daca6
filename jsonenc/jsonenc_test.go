package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// same fails unless AppendValue writes v as json.Marshal does.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := AppendValue([]byte("prefix"), v)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("AppendValue(%#v) error %v, json.Marshal error %v", v, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendValue(%#v)\n got %s\nwant prefix%s", v, got, want)
	}
}

func TestAppendValue(t *testing.T) {
	for _, v := range []any{
		nil, "", "plain", `quote " backslash \ slash /`, "<b>&amp;</b>", "\u2028\u2029", "\x00\x01\x1f\x7f",
		"\b\f\n\r\t", "bad \xff utf-8 \xe2\x82", "é 日本 🎉", true, false,
		map[string]any{}, map[string]any(nil), []any{}, []any(nil),
		map[string]any{"userName": "ada@example.com", "active": true, "name": map[string]any{"givenName": "Ada"},
			"emails":  []any{map[string]any{"primary": true, "type": "work", "value": "ada@example.com"}},
			"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "meta": map[string]any{"resourceType": "User"},
			"B": 1, "a": nil, "\u00e9": "x", "<": []any{nil, 2.5, json.Number("7")}},
		[]any{map[string]any{"z": "1", "y": []any{"2"}}, "3", false},
		json.Number("12"), 3.25, 7, []string{"typed", "slice"},
	} {
		same(t, v)
	}
	if _, err := AppendValue(nil, map[string]any{"x": func() {}}); err == nil {
		t.Error("a value json.Marshal refuses was encoded")
	}
}

// FuzzAppendValue builds trees of maps, lists, strings and booleans from
// the input and compares AppendValue with json.Marshal.
func FuzzAppendValue(f *testing.F) {
	f.Add([]byte("mkey\x00sval\x00t"), "\xff<&>")
	f.Add([]byte("lsaslm"), "\u2028 \"q\" \\")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, shape []byte, text string) {
		i := 0
		var build func(depth int) any
		build = func(depth int) any {
			if i >= len(shape) || depth > 8 {
				return text
			}
			c := shape[i]
			i++
			switch c % 6 {
			case 0:
				m := map[string]any{}
				for n := 0; n < 3 && i < len(shape); n++ {
					m[string(shape[i:min(i+2, len(shape))])+text[:min(len(text), n)]] = build(depth + 1)
				}
				return m
			case 1:
				var l []any
				for n := 0; n < 3 && i < len(shape); n++ {
					l = append(l, build(depth+1))
				}
				return l
			case 2:
				return c%2 == 0
			case 3:
				return nil
			case 4:
				return text[min(len(text), int(c)%5):]
			}
			return string(shape[i-1:])
		}
		same(t, build(0))
	})
}

// BenchmarkAppendValue: a SCIM user as Create posts it, by AppendValue and
// by json.Marshal.
func BenchmarkAppendValue(b *testing.B) {
	user := map[string]any{"userName": "ada@example.com", "active": true, "externalId": "ada", "displayName": "Ada Lovelace",
		"name":   map[string]any{"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": "ada@example.com"}},
		"title":  "Analyst", "schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Finance"},
		"meta": map[string]any{"resourceType": "User"}}
	b.Run("AppendValue", func(b *testing.B) {
		for b.Loop() {
			if _, err := AppendValue(make([]byte, 0, 512), user); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(user); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"provisiond/connector"
)

// redact replaces the token (its forms) in a response body, as sent and as
// JSON may escape it ("\/", "\u002b"): a server quoting the request's
// Authorization header in an error would otherwise put it in the error
// message, and so in the provisioning logs. A token shorter than 8 characters is redacted
// only after "Bearer ": alone, it would garble every message that happens
// to contain it.
func redact(body []byte, forms []string) []byte {
	for _, form := range forms {
		if bytes.Contains(body, []byte(form)) {
			body = bytes.ReplaceAll(body, []byte(form), []byte(redactedForm(form)))
		}
	}
	return body
}

// forms are the spellings of the token redact and scrub replace, the
// Authorization header's first; none for no token.
func (s secret) forms() []string {
	tok := string(s)
	if tok == "" {
		return nil
	}
	out := []string{"Bearer " + tok}
	if len(tok) < 8 {
		return out
	}
	add := func(form string) { // once: each response is searched for each
		if !slices.Contains(out, form) {
			out = append(out, form)
		}
	}
	add(tok)
	if q, err := json.Marshal(tok); err == nil {
		add(string(q[1 : len(q)-1]))
	}
	add(strings.ReplaceAll(tok, "/", `\/`))
	for _, hex := range []string{`\u%04x`, `\u%04X`} { // every other ASCII byte as \u00XX
		var u strings.Builder
		for _, r := range tok {
			if r < 0x80 && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				fmt.Fprintf(&u, hex, r)
			} else {
				u.WriteRune(r)
			}
		}
		add(u.String())
	}
	return out
}

func redactedForm(form string) string {
	if strings.HasPrefix(form, "Bearer ") {
		return "Bearer [redacted]"
	}
	return "[redacted]"
}

// scrub redacts the token (forms) from an error built from a response, whose
// message and SCIM detail hold text JSON decoding may have unescaped.
func scrub(e *connector.Error, forms []string) *connector.Error {
	if len(forms) == 0 || e == nil {
		return e
	}
	clean := func(v string) string {
		for _, form := range forms[:min(2, len(forms))] { // as sent: JSON decoding unescaped the rest
			v = strings.ReplaceAll(v, form, redactedForm(form))
		}
		return v
	}
	e.Message = clean(e.Message)
	var re *ResponseError
	if errors.As(e.Err, &re) {
		re.Detail, re.ScimType = clean(re.Detail), clean(re.ScimType)
	}
	return e
}

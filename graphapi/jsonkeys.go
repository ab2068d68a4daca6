package graphapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// maxKeyDepth bounds the nesting findDuplicateKey follows; encoding/json
// refuses deeper documents anyway, so nothing valid is missed.
const maxKeyDepth = 10000

// findDuplicateKey reports the first property name that appears twice in
// one JSON object of raw, and where that object is ("" for the top level,
// else a path such as "parameters[0].subjects[1]"). Names that differ only
// in case count as the same: every decoder of the API matches property
// names case-insensitively, so either spelling would silently win. Syntax
// errors are not its concern (it stops at the first one): call it on a
// body that has parsed.
func findDuplicateKey(raw []byte) (name, where string, found bool) {
	type frame struct {
		object bool
		keys   map[string]bool // lower-cased names seen; objects only
		inKey  bool            // an object expecting a name next
		key    string          // the member being read (objects)
		values int             // the values begun so far (arrays)
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			if !f.object {
				b.WriteString("[" + strconv.Itoa(f.values-1) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		top := last(stack)
		switch d, _ := tok.(json.Delim); {
		case d == '}' || d == ']': // the decoder checks the nesting
			stack = stack[:len(stack)-1]
		case top != nil && top.inKey:
			k, _ := tok.(string)
			if top.keys[strings.ToLower(k)] {
				return k, path(), true
			}
			top.keys[strings.ToLower(k)] = true
			top.key, top.inKey = k, false
			continue
		case d == '{' || d == '[':
			if top != nil {
				top.values++
			}
			if len(stack) >= maxKeyDepth {
				return "", "", false
			}
			stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, inKey: d == '{'})
			continue
		default: // a scalar
			if top != nil {
				top.values++
			}
		}
		// A value is complete: an enclosing object expects a name next.
		switch top := last(stack); {
		case top == nil:
			return "", "", false
		case top.object:
			top.inKey = true
		}
	}
}

func last[E any](s []*E) *E {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

// duplicateKeyMessage says which property to send once.
func duplicateKeyMessage(name, where string) string {
	at := ""
	if where != "" {
		at = " in '" + where + "'"
	}
	return "Multiple properties with the name '" + name + "' were found" + at +
		" in the request body; duplicate property names (also ones differing only in case) are not allowed: send each property once."
}

// checkDuplicateKeys is the 400 for a JSON body in which one object names
// a property twice, or nil. Call it on every JSON body the API decodes,
// after the body has parsed.
func checkDuplicateKeys(raw []byte) error {
	if name, where, ok := findDuplicateKey(raw); ok {
		return badRequest("%s", duplicateKeyMessage(name, where))
	}
	return nil
}

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
		key    string          // the member being read (objects) or
		index  int             // the element count (arrays)
		inKey  bool            // an object expecting a name next
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index-1) + "]")
			}
		}
		return b.String()
	}
	// valueDone moves the enclosing frame past one complete value.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if top := stack[n-1]; top.object {
				top.inKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.object && top.inKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone()
				if len(stack) == 0 {
					return "", "", false
				}
				continue
			}
			k, _ := tok.(string)
			lk := strings.ToLower(k)
			if top.keys[lk] {
				return k, path(), true
			}
			top.keys[lk] = true
			top.key, top.inKey = k, false
			continue
		}
		if top != nil && !top.object {
			if d, ok := tok.(json.Delim); ok && d == ']' {
				stack = stack[:len(stack)-1]
				valueDone()
				if len(stack) == 0 {
					return "", "", false
				}
				continue
			}
			top.index++
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= maxKeyDepth {
				return "", "", false
			}
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, inKey: true})
		case json.Delim('['):
			if len(stack) >= maxKeyDepth {
				return "", "", false
			}
			stack = append(stack, &frame{})
		default: // a scalar value
			valueDone()
			if len(stack) == 0 {
				return "", "", false
			}
		}
	}
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

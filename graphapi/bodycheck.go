package graphapi

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"provisiond/schema"
	"provisiond/secrets"
)

// This file holds the checks a request body gets before it is decoded
// into Go values, for what encoding/json would let pass in silence: text
// it would alter and properties it would drop.

// maxCheckDepth bounds how deep the checks below descend to name the
// place of a problem: each level re-reads its part of the body.
const maxCheckDepth = 32

// textProblem finds text in JSON document raw that decoding would alter
// or a store could not keep: bytes that are not UTF-8 and unpaired UTF-16
// surrogates (both would become U+FFFD), and NUL characters (PostgreSQL's
// text cannot hold them). where is the path of the value or object that
// holds it ("" for the whole body), hint what is wrong.
func textProblem(raw json.RawMessage) (where, hint string) {
	return textProblemAt(raw, "", 0)
}

func textProblemAt(raw json.RawMessage, path string, depth int) (where, hint string) {
	hint, nul := scanText(raw)
	if hint == "" && nul {
		hint = "it holds a NUL character (\\u0000)"
	}
	if hint == "" || depth >= maxCheckDepth {
		return path, hint
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil && obj != nil {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if w, h := textProblemAt(obj[k], joinPath(path, k), depth+1); h != "" {
				return w, h
			}
		}
		return path, hint + " in a property name"
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		for i, e := range arr {
			if w, h := textProblemAt(e, path+"["+strconv.Itoa(i)+"]", depth+1); h != "" {
				return w, h
			}
		}
	}
	return path, hint
}

// textError is the 400 for what textProblem found.
func textError(where, hint string) *Error {
	if where == "" {
		return badRequest("The request body cannot be read as text: %s. Send UTF-8 JSON without NUL characters.", hint)
	}
	return badRequest("Invalid value for property '%s': %s. Send UTF-8 text without NUL characters.", where, hint)
}

// unknownProperty finds a property of JSON document raw that the Go type
// t it decodes into has no field for, which encoding/json would drop: a
// misspelt name would do nothing and answer success. Names match as
// encoding/json matches them (case folded); annotations ("@odata.type")
// are not properties. Types that decode themselves, open types and
// interfaces take anything; a map any names, and its values are checked.
// Syntax and type errors are the decoder's to report.
func unknownProperty(raw json.RawMessage, t reflect.Type) *Error {
	return unknownPropertyAt(raw, t, "", 0)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func unknownPropertyAt(raw json.RawMessage, t reflect.Type, path string, depth int) *Error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth >= maxCheckDepth || reflect.PointerTo(t).Implements(unmarshalerType) || openTypes[t] {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		for i, e := range arr {
			if err := unknownPropertyAt(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := unknownPropertyAt(obj[k], t.Elem(), joinPath(path, k), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if strings.Contains(k, "@") {
				continue
			}
			i := slices.IndexFunc(fields, func(f jsonField) bool { return strings.EqualFold(f.name, k) })
			if i < 0 {
				return unknownPropertyError(k, path, t, fields)
			}
			if err := unknownPropertyAt(obj[k], fields[i].typ, joinPath(path, k), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the fields encoding/json decodes into struct type t,
// those of embedded structs included.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonFields(f.Type)...)
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out = append(out, jsonField{name, f.Type})
	}
	return out
}

// openTypes are the request types of Graph's open types, which take
// properties they do not declare.
var openTypes = map[reflect.Type]bool{
	reflect.TypeFor[objectValuePair](): true,
}

// graphTypes names the Graph type of the request types that have one, for
// the messages of unknownProperty.
var graphTypes = map[reflect.Type]string{
	reflect.TypeFor[schema.Schema]():              "synchronizationSchema",
	reflect.TypeFor[schema.Rule]():                "synchronizationRule",
	reflect.TypeFor[schema.ContainerFilter]():     "containerFilter",
	reflect.TypeFor[schema.GroupFilter]():         "groupFilter",
	reflect.TypeFor[schema.StringKV]():            "stringKeyStringValuePair",
	reflect.TypeFor[schema.ObjectMapping]():       "objectMapping",
	reflect.TypeFor[schema.AttributeMapping]():    "attributeMapping",
	reflect.TypeFor[schema.MappingSource]():       "attributeMappingSource",
	reflect.TypeFor[schema.SourceParam]():         "stringKeyAttributeMappingSourceValuePair",
	reflect.TypeFor[schema.Filter]():              "filter",
	reflect.TypeFor[schema.FilterGroup]():         "filterGroup",
	reflect.TypeFor[schema.FilterClause]():        "filterClause",
	reflect.TypeFor[schema.FilterOperand]():       "filterOperand",
	reflect.TypeFor[schema.DirectoryDefinition](): "directoryDefinition",
	reflect.TypeFor[schema.ObjectDefinition]():    "objectDefinition",
	reflect.TypeFor[schema.AttributeDefinition](): "attributeDefinition",
	reflect.TypeFor[schema.ReferencedObject]():    "referencedObject",
	reflect.TypeFor[secrets.Pair]():               "synchronizationSecretKeyStringValuePair",
	reflect.TypeFor[keyValuePair]():               "keyValuePair",
	reflect.TypeFor[schedulePatch]():              "synchronizationSchedule",
	reflect.TypeFor[onDemandSubject]():            "synchronizationJobSubject",
	reflect.TypeFor[restartParameters]():          "synchronizationJobRestartParameters",
	reflect.TypeFor[restartCriteria]():            "synchronizationJobRestartCriteria",
}

func unknownPropertyError(name, path string, t reflect.Type, fields []jsonField) *Error {
	var on string
	switch typ, ok := graphTypes[t]; {
	case ok && path == "":
		on = "on type 'microsoft.graph." + typ + "'"
	case ok:
		on = "on type 'microsoft.graph." + typ + "' (in '" + path + "')"
	case path == "":
		on = "in the request body"
	default:
		on = "in '" + path + "'"
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	if len(names) == 0 {
		return invalidParam("Property '%s' does not exist %s, which takes no properties.", name, on)
	}
	return invalidParam("Property '%s' does not exist %s; it takes %s. Check the name's spelling.", name, on, strings.Join(names, ", "))
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

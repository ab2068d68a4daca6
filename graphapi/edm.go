package graphapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"provisiond/schema"
	"provisiond/secrets"
)

// This file names the Go types request bodies decode into as Graph's
// metadata names them, so that a body of the wrong shape is answered with
// "expected Collection(microsoft.graph.synchronizationRule)", never with
// the Go type ([]schema.Rule) encoding/json reports.

// edmTypes are the named Go types of request bodies.
var edmTypes = map[reflect.Type]string{
	reflect.TypeFor[time.Time]():                  "Edm.DateTimeOffset",
	reflect.TypeFor[json.RawMessage]():            "a JSON value",
	reflect.TypeFor[schema.Schema]():              "microsoft.graph.synchronizationSchema",
	reflect.TypeFor[schema.Rule]():                "microsoft.graph.synchronizationRule",
	reflect.TypeFor[schema.ContainerFilter]():     "microsoft.graph.containerFilter",
	reflect.TypeFor[schema.GroupFilter]():         "microsoft.graph.groupFilter",
	reflect.TypeFor[schema.StringKV]():            "microsoft.graph.stringKeyStringValuePair",
	reflect.TypeFor[schema.ObjectMapping]():       "microsoft.graph.objectMapping",
	reflect.TypeFor[schema.AttributeMapping]():    "microsoft.graph.attributeMapping",
	reflect.TypeFor[schema.MappingSource]():       "microsoft.graph.attributeMappingSource",
	reflect.TypeFor[schema.SourceParam]():         "microsoft.graph.stringKeyAttributeMappingSourceValuePair",
	reflect.TypeFor[schema.Filter]():              "microsoft.graph.filter",
	reflect.TypeFor[schema.FilterGroup]():         "microsoft.graph.filterGroup",
	reflect.TypeFor[schema.FilterClause]():        "microsoft.graph.filterClause",
	reflect.TypeFor[schema.FilterOperand]():       "microsoft.graph.filterOperand",
	reflect.TypeFor[schema.DirectoryDefinition](): "microsoft.graph.directoryDefinition",
	reflect.TypeFor[schema.ObjectDefinition]():    "microsoft.graph.objectDefinition",
	reflect.TypeFor[schema.AttributeDefinition](): "microsoft.graph.attributeDefinition",
	reflect.TypeFor[schema.ReferencedObject]():    "microsoft.graph.referencedObject",
	reflect.TypeFor[secrets.Pair]():               "microsoft.graph.synchronizationSecretKeyStringValuePair",
	reflect.TypeFor[durationText]():               "Edm.Duration",
	reflect.TypeFor[schedulePatch]():              "microsoft.graph.synchronizationSchedule",
}

// edmProperties name the complex type of a property by its JSON name, for
// the anonymous structs of handler bodies.
var edmProperties = map[string]string{
	"parameters":                 "microsoft.graph.synchronizationJobApplicationParameters",
	"subjects":                   "microsoft.graph.synchronizationJobSubject",
	"members":                    "microsoft.graph.synchronizationJobSubject",
	"links":                      "microsoft.graph.synchronizationLinkedObjects",
	"testInputObject":            "microsoft.graph.expressionInputObject",
	"properties":                 "microsoft.graph.stringKeyObjectValuePair",
	"synchronizationJobSettings": "microsoft.graph.keyValuePair",
	"criteria":                   "microsoft.graph.synchronizationJobRestartCriteria",
}

// anObject is the name of a complex type edmName does not know.
const anObject = "a JSON object"

// edmName names t, the Go type the JSON property at path (dotted JSON
// names, as json.UnmarshalTypeError.Field has it) decodes into.
func edmName(t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := edmTypes[t]; ok {
		return n
	}
	switch t.Kind() {
	case reflect.String:
		return "Edm.String"
	case reflect.Bool:
		return "Edm.Boolean"
	case reflect.Int8:
		return "Edm.SByte"
	case reflect.Uint8:
		return "Edm.Byte"
	case reflect.Int16:
		return "Edm.Int16"
	case reflect.Int32, reflect.Uint16:
		return "Edm.Int32"
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "Edm.Int64"
	case reflect.Float32:
		return "Edm.Single"
	case reflect.Float64:
		return "Edm.Double"
	case reflect.Slice, reflect.Array:
		if elem := edmName(t.Elem(), path); elem != anObject {
			return "Collection(" + elem + ")"
		}
		return "a JSON array of objects"
	case reflect.Struct:
		name := path[strings.LastIndexByte(path, '.')+1:]
		if n, ok := edmProperties[name]; ok {
			return n
		}
	case reflect.Interface:
		return "a JSON value"
	}
	return anObject
}

// jsonKind describes the JSON value encoding/json found
// (json.UnmarshalTypeError.Value: "string", "bool", "number 1.5", ...).
func jsonKind(v string) string {
	switch {
	case v == "bool":
		return "a JSON boolean"
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return "a JSON " + v
}

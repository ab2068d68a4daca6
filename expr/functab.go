package expr

import (
	"slices"
	"strconv"
	"strings"
)

// FunctionSchema describes one function, in the shape of Graph's
// attributeMappingFunctionSchema (GET .../schema/functions).
type FunctionSchema struct {
	Name   string
	Params []ParamSchema
}

// ParamSchema describes one parameter, in the shape of Graph's
// attributeMappingParameterSchema. Type is a Graph attributeType: String,
// Integer, Boolean, DateTime, Binary or Reference.
type ParamSchema struct {
	Name                     string
	Type                     string
	Required                 bool
	AllowMultipleOccurrences bool
}

// Functions returns the schema of every function the evaluator implements,
// sorted by name. The result is a fresh copy.
func Functions() []FunctionSchema {
	out := make([]FunctionSchema, 0, len(funcTable))
	for _, f := range funcTable {
		out = append(out, FunctionSchema{Name: f.name, Params: slices.Clone(f.params)})
	}
	slices.SortFunc(out, func(a, b FunctionSchema) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// funcDef is one entry of the function table. Exactly one of eager and lazy
// is set: eager functions receive their evaluated arguments, lazy ones
// evaluate their argument nodes themselves (IIF, Switch, Coalesce, ...).
type funcDef struct {
	name     string
	params   []ParamSchema
	min, max int // argument counts; max < 0 means unbounded
	eager    func(st *state, c *Call, args []Value) (Value, error)
	lazy     func(st *state, c *Call) (Value, error)
	check    func(c *Call) *Error // extra parse-time validation
}

// arity describes the accepted argument counts for messages.
func (f *funcDef) arity() string {
	switch {
	case f.max < 0:
		return "at least " + strconv.Itoa(f.min)
	case f.min == f.max:
		return strconv.Itoa(f.min)
	}
	return strconv.Itoa(f.min) + " to " + strconv.Itoa(f.max)
}

var (
	funcTable []*funcDef
	funcIndex map[string]*funcDef // lower-cased name → entry
)

// lookupFunc finds a function by case-insensitive name.
func lookupFunc(name string) *funcDef {
	if f, ok := funcIndex[name]; ok { // already lower case
		return f
	}
	return funcIndex[strings.ToLower(name)]
}

// Parameter constructors.
func req(name, typ string) ParamSchema { return ParamSchema{Name: name, Type: typ, Required: true} }
func opt(name, typ string) ParamSchema { return ParamSchema{Name: name, Type: typ} }
func rep(name, typ string, required bool) ParamSchema {
	return ParamSchema{Name: name, Type: typ, Required: required, AllowMultipleOccurrences: true}
}

const (
	tString    = "String"
	tInteger   = "Integer"
	tBoolean   = "Boolean"
	tDateTime  = "DateTime"
	tBinary    = "Binary"
	tReference = "Reference"
)

type eagerFn = func(st *state, c *Call, args []Value) (Value, error)
type lazyFn = func(st *state, c *Call) (Value, error)

func def(name string, min, max int, f eagerFn, params ...ParamSchema) *funcDef {
	return &funcDef{name: name, params: params, min: min, max: max, eager: f}
}

func defLazy(name string, min, max int, f lazyFn, params ...ParamSchema) *funcDef {
	return &funcDef{name: name, params: params, min: min, max: max, lazy: f}
}

func init() {
	src := []ParamSchema{req("source", tString)}
	expression := []ParamSchema{req("expression", tString)}
	roles := []ParamSchema{req("source", tString)}
	caseParams := []ParamSchema{req("source", tString), opt("culture", tString)}

	replace := def("Replace", 2, 7, fnReplace,
		req("source", tString), opt("oldValue", tString), opt("regexPattern", tString),
		opt("regexGroupName", tString), opt("replacementValue", tString),
		opt("replacementAttributeName", tString), opt("template", tString))
	replace.check = checkReplace

	sw := defLazy("Switch", 4, -1, fnSwitch,
		req("source", tString), opt("defaultValue", tString),
		rep("key", tString, true), rep("value", tString, true))
	sw.check = checkSwitch

	funcTable = []*funcDef{
		def("Append", 2, 2, fnAppend, req("source", tString), req("suffix", tString)),
		def("AppRoleAssignments", 1, 1, fnAppRoleAssignments, roles...),
		def("AppRoleAssignmentsComplex", 1, 1, fnAppRoleAssignmentsComplex, roles...),
		def("AssertiveAppRoleAssignmentsComplex", 1, 1, fnAppRoleAssignmentsComplex, roles...),
		def("BitAnd", 2, 2, fnBitAnd, req("value1", tInteger), req("value2", tInteger)),
		def("CBool", 1, 1, fnCBool, expression...),
		def("CDate", 1, 1, fnCDate, expression...),
		defLazy("Coalesce", 1, -1, fnCoalesce, rep("source", tString, true), opt("defaultValue", tString)),
		def("Contains", 2, 3, fnContains, req("attribute", tString), req("search", tString), opt("caseType", tString)),
		def("ConvertFromBase64", 1, 2, fnConvertFromBase64, req("source", tString), opt("encoding", tString)),
		def("ConvertToBase64", 1, 1, fnConvertToBase64, src...),
		def("ConvertToUTF8Hex", 1, 1, fnConvertToUTF8Hex, src...),
		def("Count", 1, 1, fnCount, req("attribute", tString)),
		def("CRef", 1, 1, fnCStr, req("value", tString)),
		def("CStr", 1, 1, fnCStr, req("value", tString)),
		def("DateAdd", 3, 3, fnDateAdd, req("interval", tString), req("value", tInteger), req("dateTime", tDateTime)),
		def("DateDiff", 3, 3, fnDateDiff, req("interval", tString), req("date1", tDateTime), req("date2", tDateTime)),
		def("DateFromNum", 1, 1, fnDateFromNum, req("value", tInteger)),
		def("DefaultDomain", 0, 0, fnDefaultDomain),
		def("DNComponent", 2, 2, fnDNComponent, req("dn", tReference), req("componentNumber", tInteger)),
		def("Error", 1, 1, fnError, req("errorMessage", tString)),
		def("FormatDateTime", 3, 4, fnFormatDateTime,
			req("source", tString), opt("dateTimeStyles", tString), req("inputFormat", tString), req("outputFormat", tString)),
		def("Guid", 0, 0, fnGuid),
		def("IgnoreFlowIfNullOrEmpty", 1, 1, fnIgnoreFlowIfNullOrEmpty, expression...),
		defLazy("IIF", 3, 3, fnIIF, req("condition", tBoolean), req("valueIfTrue", tString), req("valueIfFalse", tString)),
		def("InStr", 2, 4, fnInStr, req("value1", tString), req("value2", tString), opt("start", tInteger), opt("compareType", tString)),
		def("IsNull", 1, 1, fnIsNull, expression...),
		def("IsNullOrEmpty", 1, 1, fnIsNullOrEmpty, expression...),
		def("IsPresent", 1, 1, fnIsPresent, expression...),
		def("IsString", 1, 1, fnIsString, expression...),
		def("Item", 2, 2, fnItem, req("attribute", tString), req("index", tInteger)),
		def("Join", 2, -1, fnJoin, req("separator", tString), rep("source", tString, true)),
		def("Left", 2, 2, fnLeft, req("string", tString), req("numChars", tInteger)),
		def("Len", 1, 1, fnLen, src...),
		def("Mid", 3, 3, fnMid, req("source", tString), req("start", tInteger), req("length", tInteger)),
		def("NormalizeDiacritics", 1, 1, fnNormalizeDiacritics, src...),
		def("Not", 1, 1, fnNot, req("source", tBoolean)),
		def("Now", 0, 0, fnNow),
		def("NumFromDate", 1, 1, fnNumFromDate, req("value", tString)),
		def("PCase", 1, 2, fnPCase, req("source", tString), opt("wordSeparators", tString)),
		def("RandomString", 5, 6, fnRandomString,
			req("Length", tInteger), req("MinimumNumbers", tInteger), req("MinimumSpecialCharacters", tInteger),
			req("MinimumCapital", tInteger), req("MinimumLowerCase", tInteger), opt("CharactersToAvoid", tString)),
		def("Redact", 1, 1, fnRedact, src...),
		def("RemoveDuplicates", 1, 1, fnRemoveDuplicates, req("attribute", tString)),
		replace,
		defLazy("SelectUniqueValue", 2, -1, fnSelectUniqueValue, rep("uniqueValueRule", tString, true)),
		def("SingleAppRoleAssignment", 1, 1, fnSingleAppRoleAssignment, roles...),
		def("Split", 2, 2, fnSplit, req("source", tString), req("delimiter", tString)),
		def("StringFromSid", 1, 1, fnStringFromSid, req("source", tBinary)),
		def("StripSpaces", 1, 1, fnStripSpaces, src...),
		sw,
		def("ToLower", 1, 2, fnToLower, caseParams...),
		def("ToUpper", 1, 2, fnToUpper, caseParams...),
		def("Trim", 1, 1, fnTrim, src...),
		def("Word", 3, 3, fnWord, req("string", tString), req("wordNumber", tInteger), req("delimiters", tString)),
	}
	funcIndex = make(map[string]*funcDef, len(funcTable))
	for _, f := range funcTable {
		funcIndex[strings.ToLower(f.name)] = f
	}
}

// checkSwitch requires key/value arguments to come in pairs.
func checkSwitch(c *Call) *Error {
	if (len(c.Args)-2)%2 != 0 {
		return &Error{Pos: c.Args[len(c.Args)-1].Pos(), Msg: "Switch: key and value arguments must come in pairs (this key has no value)"}
	}
	return nil
}

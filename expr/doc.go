// Package expr implements the attribute-mapping expression language of
// Microsoft Entra app provisioning (the Graph synchronization API): a
// VBA-flavoured tree of function calls over source attributes, such as
//
//	Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com")
//
// Parse turns source text into an *Expr: a state-function lexer feeds a
// recursive-descent parser (modelled on text/template/parse) that checks
// function names and argument counts against the function table, compiles
// constant regular expressions and caps nesting (MaxDepth) and length
// (MaxLength). Errors are *Error values positioned as expr:line:col.
// Expr.String prints canonical source that parses back to an equal tree;
// Expr.Attributes lists the attributes an expression reads.
//
// # Syntax
//
//   - Calls Name(arg, ...), with case-insensitive names printed canonically.
//     Arguments may be left empty to skip optional parameters:
//     Replace([mail], "@contoso.com", , , "", , ).
//   - [attribute] references; names are case-sensitive and may contain any
//     character but ']'.
//   - "string" constants. \" and \\ are escapes; a backslash before any
//     other character is kept, so "\\d" and "\d" both mean the regex \d.
//   - Integers (possibly negative) and hex literals (&HF7).
//   - Bare enumeration words: vbTextCompare, vbBinaryCompare, UTF8,
//     Unicode, ASCII, True, False, IgnoreCase, CaseSensitive.
//   - Comparisons = <> < > <= >= (for IIF conditions and CBool; they do
//     not chain), & concatenation, and parentheses for grouping.
//
// # Values and evaluation
//
// A Value is null, a string, or a multi-valued list of strings. Booleans
// travel as "True"/"False", numbers as decimal strings and dates as
// "M/d/yyyy h:mm:ss tt" in UTC. Functions that expect one string use the
// first value of a multi-valued argument; Join, Count, Item,
// RemoveDuplicates, Trim, Contains and the app-role functions use all.
// Most functions return null for a null input; the exceptions follow the
// documentation: Left and Word give "", Not gives "True", Count gives "0",
// the Is* predicates give "True"/"False", Switch compares a null source as
// "", Coalesce and Join skip nulls.
//
// Expr.Eval runs an expression against an Env that supplies attributes,
// the clock, randomness, the tenant's default domain and the uniqueness
// check for SelectUniqueValue. Evaluation is bounded: every node costs a
// step of Env.Budget, data costs steps by size, and no function may build
// a value larger than MaxValueSize. The Result carries the value and the
// IgnoreFlowIfNullOrEmpty and Redact flags. Runtime failures are
// *EvalError; Error("msg") raises *UserError.
//
// Regular expressions (Replace) are .NET patterns run on Go's RE2 engine:
// named groups (?<name>…) and ${name} replacements work; lookarounds,
// backreferences and atomic groups are rejected with a clear error.
//
// Functions lists the function table in the shape Graph serves at
// GET .../synchronization/jobs/{id}/schema/functions.
package expr

// Package schema is the Graph synchronization model: templates, schemas,
// synchronization rules, object and attribute mappings, scoping filters and
// directory definitions, with their exact JSON shapes, plus the built-in
// templates and Compile, which checks a schema and parses its expressions
// once so the engine can evaluate them fast.
package schema

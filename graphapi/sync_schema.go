package graphapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"provisiond/expr"
	"provisiond/schema"
)

func (y *Sync) functions(w http.ResponseWriter, r *http.Request) error {
	if err := y.schemaOwner(r); err != nil {
		return err
	}
	type param struct {
		AllowMultipleOccurrences bool   `json:"allowMultipleOccurrences"`
		Name                     string `json:"name"`
		Required                 bool   `json:"required"`
		Type                     string `json:"type"`
	}
	type function struct {
		ID         string  `json:"id"`
		Name       string  `json:"name"`
		Parameters []param `json:"parameters"`
	}
	var out []function
	for _, f := range expr.Functions() {
		ps := make([]param, len(f.Params))
		for i, p := range f.Params {
			ps[i] = param{p.AllowMultipleOccurrences, p.Name, p.Required, p.Type}
		}
		out = append(out, function{ID: f.Name, Name: f.Name, Parameters: ps})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"@odata.context": contextURL(r, "Collection(microsoft.graph.attributeMappingFunctionSchema)"), "value": out})
}

func (y *Sync) filterOperators(w http.ResponseWriter, r *http.Request) error {
	if err := y.schemaOwner(r); err != nil {
		return err
	}
	type op struct {
		ID                        string   `json:"id"`
		Name                      string   `json:"name"`
		Arity                     string   `json:"arity"`
		MultivaluedComparisonType string   `json:"multivaluedComparisonType"`
		SupportedAttributeTypes   []string `json:"supportedAttributeTypes"`
	}
	var out []op
	for _, o := range schema.Operators() {
		out = append(out, op{o.Name, o.Name, o.Arity, o.MultivaluedComparisonType, o.SupportedAttributeTypes})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"@odata.context": contextURL(r, "Collection(microsoft.graph.filterOperatorSchema)"), "value": out})
}

// schemaOwner checks the job or template in the path exists.
func (y *Sync) schemaOwner(r *http.Request) error {
	if r.PathValue("jobId") != "" {
		_, _, err := y.job(r)
		return err
	}
	_, _, err := y.template(r)
	return err
}

type publicError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// objectValuePair is Graph's stringKeyObjectValuePair, an open type: a
// property beside key and value is not an error (see openTypes).
type objectValuePair struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (y *Sync) parseExpression(w http.ResponseWriter, r *http.Request) error {
	if err := y.schemaOwner(r); err != nil {
		return err
	}
	var body struct {
		Expression      *string `json:"expression"`
		TestInputObject *struct {
			// The object's attributes are its properties; its
			// definition is accepted and not needed.
			Definition json.RawMessage   `json:"definition"`
			Properties []objectValuePair `json:"properties"`
		} `json:"testInputObject"`
		TargetAttributeDefinition *schema.AttributeDefinition `json:"targetAttributeDefinition"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Expression == nil {
		return badRequest("The property 'expression' is required.")
	}
	resp := map[string]any{
		"@odata.context":      contextURL(r, "microsoft.graph.parseExpressionResponse"),
		"error":               nil,
		"evaluationResult":    nil,
		"evaluationSucceeded": false,
		"parsedExpression":    nil,
		"parsingSucceeded":    false,
	}
	parsed, err := expr.Parse(*body.Expression)
	if err != nil {
		resp["error"] = publicError{Code: "ExpressionParsingFailure", Message: err.Error()}
		return writeJSON(w, http.StatusOK, resp)
	}
	src, _ := schema.SourceFromExpression(*body.Expression)
	resp["parsedExpression"], resp["parsingSucceeded"] = src, true
	if body.TestInputObject == nil {
		return writeJSON(w, http.StatusOK, resp)
	}
	attrs := map[string]expr.Value{}
	for _, p := range body.TestInputObject.Properties {
		v, err := jsonToValue(p.Value)
		if err != nil {
			return badRequest("testInputObject.properties '%s': %v.", p.Key, err)
		}
		attrs[p.Key] = v
	}
	res, err := parsed.Eval(&expr.Env{Attr: func(n string) expr.Value {
		if v, ok := attrs[n]; ok {
			return v
		}
		return expr.Null()
	}, Now: y.srv.now})
	if err != nil {
		resp["error"] = publicError{Code: "ExpressionEvaluationFailure", Message: err.Error()}
		return writeJSON(w, http.StatusOK, resp)
	}
	result := res.Value.Strings()
	if d := body.TargetAttributeDefinition; d != nil && !d.Multivalued && len(result) > 1 {
		// As provisioning would fail the object.
		resp["error"] = publicError{Code: "SchemaPropertyCanOnlyAcceptValue", Target: d.Name, Message: fmt.Sprintf(
			"target attribute '%s' takes one value and the expression gave %d; pick one, with Item(…, 1) or Join(…)", d.Name, len(result))}
		return writeJSON(w, http.StatusOK, resp)
	}
	if res.Redacted {
		result = []string{"[Redact]"}
	}
	if result == nil {
		result = []string{}
	}
	resp["evaluationResult"], resp["evaluationSucceeded"] = result, true
	return writeJSON(w, http.StatusOK, resp)
}

// jsonToValue reads a stringKeyObjectValuePair value: a string, a bool, a
// number, null or an array of those.
func jsonToValue(raw json.RawMessage) (expr.Value, error) {
	var v any
	if len(raw) == 0 {
		return expr.Null(), nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return expr.Null(), err
	}
	scalar := func(x any) (string, error) {
		switch x := x.(type) {
		case string:
			return x, nil
		case bool:
			if x {
				return "True", nil
			}
			return "False", nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return "", errors.New("want a string, boolean, number or an array of them")
	}
	switch x := v.(type) {
	case nil:
		return expr.Null(), nil
	case []any:
		vs := make([]string, 0, len(x))
		for _, e := range x {
			s, err := scalar(e)
			if err != nil {
				return expr.Null(), err
			}
			vs = append(vs, s)
		}
		return expr.Multi(vs), nil
	}
	s, err := scalar(v)
	return expr.Str(s), err
}

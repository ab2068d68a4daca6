package schema

import (
	"fmt"
	"strconv"
	"strings"

	"provisiond/expr"
)

// SourceFromExpression parses an expression into Graph's
// attributeMappingSource tree: [attr] → Attribute, "text" → Constant,
// calls → Function with parameters keyed by the function's parameter names.
func SourceFromExpression(src string) (*MappingSource, error) {
	e, err := expr.Parse(src)
	if err != nil {
		return nil, err
	}
	return sourceFromNode(e.Root), nil
}

var paramNames = func() map[string][]expr.ParamSchema {
	m := map[string][]expr.ParamSchema{}
	for _, f := range expr.Functions() {
		m[strings.ToLower(f.Name)] = f.Params
	}
	return m
}()

func sourceFromNode(n expr.Node) *MappingSource {
	text := n.String()
	switch n := n.(type) {
	case *expr.Attr:
		name := n.Name
		return &MappingSource{Expression: &text, Name: &name, Type: "Attribute", Parameters: []SourceParam{}}
	case *expr.String:
		v := n.Value
		return &MappingSource{Expression: &text, Name: &v, Type: "Constant", Parameters: []SourceParam{}}
	case *expr.Number:
		v := strconv.FormatInt(n.Value, 10)
		return &MappingSource{Expression: &text, Name: &v, Type: "Constant", Parameters: []SourceParam{}}
	case *expr.Call:
		name := n.Name
		params := paramNames[strings.ToLower(n.Name)]
		ps := []SourceParam{}
		for i, a := range n.Args {
			if _, empty := a.(*expr.Empty); empty {
				continue
			}
			key := fmt.Sprintf("arg%d", i+1)
			switch {
			case i < len(params):
				key = params[i].Name
			case len(params) > 0 && params[len(params)-1].AllowMultipleOccurrences:
				key = params[len(params)-1].Name
			}
			ps = append(ps, SourceParam{Key: key, Value: sourceFromNode(a)})
		}
		return &MappingSource{Expression: &text, Name: &name, Type: "Function", Parameters: ps}
	}
	// Enum words and operators have no Graph type of their own; they travel
	// as constants holding their source text.
	return &MappingSource{Expression: &text, Name: &text, Type: "Constant", Parameters: []SourceParam{}}
}

// ExpressionOf returns the expression text a mapping source stands for:
// its expression when set, else one rebuilt from type, name and parameters.
func ExpressionOf(s *MappingSource) (string, error) {
	if s == nil {
		return "", fmt.Errorf("source is null")
	}
	if s.Expression != nil && strings.TrimSpace(*s.Expression) != "" {
		return *s.Expression, nil
	}
	name := ""
	if s.Name != nil {
		name = *s.Name
	}
	switch strings.ToLower(s.Type) {
	case "attribute", "":
		if name == "" {
			return "", fmt.Errorf("attribute source has no name")
		}
		return "[" + name + "]", nil
	case "constant":
		return quote(name), nil
	case "function":
		if name == "" {
			return "", fmt.Errorf("function source has no name")
		}
		args := make([]string, 0, len(s.Parameters))
		for _, p := range s.Parameters {
			a, err := ExpressionOf(p.Value)
			if err != nil {
				return "", fmt.Errorf("parameter %q: %w", p.Key, err)
			}
			args = append(args, a)
		}
		return name + "(" + strings.Join(args, ", ") + ")", nil
	}
	return "", fmt.Errorf("unknown source type %q (want Attribute, Constant or Function)", s.Type)
}

// quote writes s as an expression string constant.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

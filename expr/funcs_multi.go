package expr

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Count(attribute): the number of values; null counts 0.
func fnCount(_ *state, _ *Call, args []Value) (Value, error) {
	return Str(strconv.Itoa(args[0].Len())), nil
}

// Item(attribute, index): the 1-based index-th value; out of range → null.
func fnItem(st *state, c *Call, args []Value) (Value, error) {
	i, err := st.intArg(c, args, 1)
	if err != nil {
		return Value{}, err
	}
	v := args[0]
	if i < 1 || i > int64(v.Len()) {
		return Value{}, nil
	}
	if v.kind == kindStr {
		return v, nil
	}
	return Str(v.vs[i-1]), nil
}

// RemoveDuplicates(attribute): the values with exact (case-sensitive)
// duplicates removed, first occurrence kept.
func fnRemoveDuplicates(st *state, c *Call, args []Value) (Value, error) {
	v := args[0]
	if v.kind != kindMulti {
		return v, nil
	}
	if err := st.charge(c, len(v.vs)*32); err != nil {
		return Value{}, err
	}
	seen := make(map[string]struct{}, len(v.vs))
	out := make([]string, 0, len(v.vs))
	for _, s := range v.vs {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return Multi(out), nil
}

// Contains(attribute, search, caseType): the 1-based index of the first
// value containing search, 0 if none (case-sensitive unless caseType is
// IgnoreCase or vbTextCompare); null → null.
func fnContains(st *state, c *Call, args []Value) (Value, error) {
	fold := false
	if given(args, 2) {
		switch strings.ToLower(strings.TrimSpace(args[2].String())) {
		case "ignorecase", "caseinsensitive", "vbtextcompare", "1":
			fold = true
		case "casesensitive", "vbbinarycompare", "0":
		default:
			return Value{}, st.errorf(c.Args[2], "Contains: caseType must be CaseSensitive or IgnoreCase, got %s", quote(clip(args[2].String(), 40)))
		}
	}
	v := args[0]
	if v.kind == kindNull {
		return Value{}, nil
	}
	if err := st.charge(c, v.size()); err != nil {
		return Value{}, err
	}
	search := args[1].String()
	if fold {
		search = strings.ToLower(search)
	}
	for i, s := range v.Strings() {
		if fold {
			s = strings.ToLower(s)
		}
		if strings.Contains(s, search) {
			return Str(strconv.Itoa(i + 1)), nil
		}
	}
	return Str("0"), nil
}

// appRole is one app role assignment as the role functions read and write
// it. Values of the appRoleAssignments attribute are either plain role
// names (the form Graph's parseExpression test input uses) or JSON objects
// with id, value and displayName.
type appRole struct {
	ID          string `json:"id,omitempty"`
	Value       string `json:"value"`
	DisplayName string `json:"displayName,omitempty"`
	Primary     bool   `json:"primary"`
}

// chargeRoles charges for decoding (and encoding) the role values: JSON
// work costs far more per value than plain string handling.
func (st *state) chargeRoles(c *Call, v Value) error {
	return st.charge(c, 2*v.size()+1024*v.Len())
}

func parseRoles(v Value) []appRole {
	var out []appRole
	for _, s := range v.Strings() {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "{") {
			var raw map[string]any
			if json.Unmarshal([]byte(t), &raw) == nil {
				r := appRole{
					ID:          firstString(raw, "id", "appRoleId"),
					Value:       firstString(raw, "value", "roleValue"),
					DisplayName: firstString(raw, "displayName", "display", "roleName"),
				}
				if r.Value == "" {
					r.Value = r.DisplayName
				}
				out = append(out, r)
				continue
			}
		}
		if t != "" {
			out = append(out, appRole{Value: t, DisplayName: t})
		}
	}
	return out
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// SingleAppRoleAssignment: the value (role name) of the first assignment;
// null when there is none.
func fnSingleAppRoleAssignment(st *state, c *Call, args []Value) (Value, error) {
	if err := st.chargeRoles(c, args[0]); err != nil {
		return Value{}, err
	}
	roles := parseRoles(args[0])
	if len(roles) == 0 {
		return Value{}, nil
	}
	return Str(roles[0].Value), nil
}

// AppRoleAssignments: the values (role names) of every assignment.
func fnAppRoleAssignments(st *state, c *Call, args []Value) (Value, error) {
	if err := st.chargeRoles(c, args[0]); err != nil {
		return Value{}, err
	}
	roles := parseRoles(args[0])
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.Value
	}
	return Multi(out), nil
}

// AppRoleAssignmentsComplex and AssertiveAppRoleAssignmentsComplex: one
// JSON object per assignment, {"id":…,"value":…,"displayName":…,"primary":false}.
// They compute the same value; the caller tells them apart by the function
// name to choose PATCH op Add or op Replace.
func fnAppRoleAssignmentsComplex(st *state, c *Call, args []Value) (Value, error) {
	if err := st.chargeRoles(c, args[0]); err != nil {
		return Value{}, err
	}
	roles := parseRoles(args[0])
	out := make([]string, len(roles))
	for i, r := range roles {
		b, err := json.Marshal(r)
		if err != nil {
			return Value{}, st.errorf(c, "%s: %v", c.Name, err)
		}
		out[i] = string(b)
	}
	return Multi(out), nil
}

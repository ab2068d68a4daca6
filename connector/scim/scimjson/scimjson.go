package scimjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Schema and message URNs.
const (
	UserSchema           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseSchema   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorSchema          = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpSchema        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// Error is the RFC 7644 §3.12 error response.
type Error struct {
	Schemas  []string `json:"schemas"`
	Status   Status   `json:"status"`
	ScimType string   `json:"scimType,omitempty"` // e.g. "uniqueness", "noTarget"
	Detail   string   `json:"detail,omitempty"`
}

// NewError returns the error body for an HTTP status.
func NewError(status int, scimType, detail string) Error {
	return Error{Schemas: []string{ErrorSchema}, Status: Status(strconv.Itoa(status)), ScimType: scimType, Detail: detail}
}

// Status is the status member of an error body: a string in the RFC. A
// number, which some servers send, reads as its decimal string; any other
// value reads as "", so that the rest of the body still decodes.
type Status string

// UnmarshalJSON accepts a JSON string or number and ignores anything else.
func (s *Status) UnmarshalJSON(b []byte) error {
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*s = Status(n)
		return nil
	}
	var str string
	_ = json.Unmarshal(b, &str)
	*s = Status(str)
	return nil
}

// ListResponse is the RFC 7644 §3.4.2 list response.
type ListResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

// NewListResponse returns one page of a list of total resources that
// starts at the 1-based index start.
func NewListResponse(total, start int, page []any) ListResponse {
	if page == nil {
		page = []any{}
	}
	return ListResponse{Schemas: []string{ListResponseSchema}, TotalResults: total, StartIndex: start, ItemsPerPage: len(page), Resources: page}
}

// DecodeObject parses one JSON object, keeping numbers as json.Number.
func DecodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null instead of a JSON object")
	}
	if err := AtEnd(dec); err != nil {
		return nil, err
	}
	return m, nil
}

// AtEnd says whether dec has only white space left. (Decoder.More
// cannot tell: it is false before a stray '}' or ']'.)
func AtEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// Lookup returns the value of the attribute of m named key, compared
// case-insensitively (an exact match first).
func Lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Key returns the key of m equal to name ignoring case, or name when there
// is none, so that a change keeps the case the resource already has.
func Key(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// AddSchema lists an extension schema URN in the resource's schemas,
// unless it is there already.
func AddSchema(res map[string]any, urn string) {
	key := Key(res, "schemas")
	list, _ := res[key].([]any)
	for _, s := range list {
		if str, ok := s.(string); ok && strings.EqualFold(str, urn) {
			return
		}
	}
	res[key] = append(list, urn)
}

// OnlyLabels reports whether an element of a multi-valued attribute has
// nothing left but its labels (type, primary): what remains once its value
// is removed.
func OnlyLabels(m map[string]any) bool {
	for k := range m {
		if !strings.EqualFold(k, "type") && !strings.EqualFold(k, "primary") {
			return false
		}
	}
	return true
}

// Compact returns v as compact JSON.
func Compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

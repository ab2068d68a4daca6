package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
)

// Provisioning-log codes this connector reports besides those of
// connector.CodeForStatus.
const (
	CodeServiceIncompatible = "SystemForCrossDomainIdentityManagementServiceIncompatible"
	CodeTimeout             = "Timeout"
	CodeProtocolError       = "WebExceptionProtocolError"
	CodeAttributeNotFound   = "SchemaAttributeNotFound"
	CodeInvalidValue        = "SystemForCrossDomainIdentityManagementBadRequest"
)

// maxBodyInMessage bounds how much of a response body an error message
// quotes.
const maxBodyInMessage = 2000

// ResponseError is the Err of a *connector.Error built from a non-2xx SCIM
// response: the request and the RFC 7644 §3.12 error body, when there is one.
type ResponseError struct {
	Method   string
	Path     string // relative to the base address, without the query
	Status   int
	ScimType string // e.g. "uniqueness", "noTarget"; "" if none
	Detail   string
}

// Error describes the failed request and the SCIM error it got.
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("scim: %s %s: status %d", e.Method, e.Path, e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// statusName is the .NET HttpStatusCode name Entra prints ("NotFound").
func statusName(status int) string {
	if t := http.StatusText(status); t != "" {
		return strings.NewReplacer(" ", "", "-", "", "'", "").Replace(t)
	}
	return strconv.Itoa(status)
}

// responseError maps a non-2xx response to a *connector.Error whose Message
// follows Entra's provisioning-log format.
func responseError(method, path string, resp *http.Response, body []byte) *connector.Error {
	re := &ResponseError{Method: method, Path: path, Status: resp.StatusCode}
	var eb scimjson.Error
	if json.Unmarshal(body, &eb) == nil {
		re.ScimType, re.Detail = eb.ScimType, eb.Detail
	}
	web := strings.TrimSpace(string(body))
	if len(web) > maxBodyInMessage {
		web = web[:maxBodyInMessage] + "…"
	}
	if web == "" {
		web = "(empty body)"
	}
	msg := fmt.Sprintf("StatusCode: %s Message: Processing of the HTTP request resulted in an exception. "+
		"Please see the HTTP response returned by the 'Response' property of this exception for details. "+
		"Web Response: %s", statusName(resp.StatusCode), web)
	if quoted, _ := json.Marshal(re.Detail); re.Detail != "" && !strings.Contains(web, strings.Trim(string(quoted), `"`)) {
		msg += " Detail: " + re.Detail // cut off by the truncation above
	}
	return &connector.Error{
		Kind:       connector.KindForStatus(resp.StatusCode),
		Status:     resp.StatusCode,
		Code:       connector.CodeForStatus(resp.StatusCode),
		Message:    msg,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Err:        re,
	}
}

// incompatible reports a 2xx response that is not the SCIM the client
// expected.
func incompatible(method, path string, status int, body []byte, why string) *connector.Error {
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > maxBodyInMessage {
		snippet = snippet[:maxBodyInMessage] + "…"
	}
	return &connector.Error{
		Kind:    connector.KindInvalid,
		Status:  status,
		Code:    CodeServiceIncompatible,
		Message: fmt.Sprintf("The SCIM endpoint's response to %s %s could not be parsed as SCIM: %s. Web Response: %s", method, path, why, snippet),
		Err:     errors.New("scim: " + why),
	}
}

// transportError maps a failure to get any response (DNS, refused
// connection, TLS, timeout, cancellation) to a transient *connector.Error.
func transportError(method, path string, err error) *connector.Error {
	code := CodeProtocolError
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		code = CodeTimeout
	}
	msg := fmt.Sprintf("%s %s: %v", method, path, err)
	if code == CodeTimeout {
		msg = fmt.Sprintf("The SCIM endpoint did not answer %s %s in time: %v", method, path, err)
	}
	return &connector.Error{Kind: connector.KindTransient, Code: code, Message: msg, Err: err}
}

func invalidPath(name string, err error) *connector.Error {
	return &connector.Error{
		Kind:    connector.KindInvalid,
		Code:    CodeAttributeNotFound,
		Message: fmt.Sprintf("Target attribute %q is not a SCIM attribute path: %v", name, err),
		Err:     err,
	}
}

func invalidValue(p Path, value, why string) *connector.Error {
	return &connector.Error{
		Kind:    connector.KindInvalid,
		Code:    CodeInvalidValue,
		Message: fmt.Sprintf("Value %q of target attribute %s is invalid: %s", value, p, why),
	}
}

// retryAfter parses a Retry-After header (delay-seconds or HTTP-date) into
// seconds; 0 when absent or unparsable.
func retryAfter(h string, now time.Time) float64 {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(h, 64); err == nil {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return 0
		}
		return s
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now).Seconds(); d > 0 {
			return d
		}
	}
	return 0
}

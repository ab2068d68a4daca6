package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"provisiond/connector"
	"provisiond/connector/scim/scimjson"
	"provisiond/netguard"
)

// Provisioning-log codes this connector reports besides those of
// connector.CodeForStatus.
const (
	CodeAddressRefused      = connector.CodeAddressRefused
	CodeServiceIncompatible = "SystemForCrossDomainIdentityManagementServiceIncompatible"
	CodeTimeout             = "Timeout"
	CodeProtocolError       = "WebExceptionProtocolError"
	CodeAttributeNotFound   = "SchemaAttributeNotFound"
	CodeInvalidValue        = "SystemForCrossDomainIdentityManagementBadRequest"
)

// maxBodyInMessage bounds how many characters of a response body an error
// message quotes.
const maxBodyInMessage = 500

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
	contentType := resp.Header.Get("Content-Type")
	var eb scimjson.Error
	if isJSON(contentType) && json.Unmarshal(body, &eb) == nil {
		re.ScimType, re.Detail = eb.ScimType, eb.Detail
	}
	web := quoteBody(contentType, body, maxBodyInMessage)
	detail := ""
	if quoted, _ := json.Marshal(re.Detail); re.Detail != "" && !strings.Contains(web, strings.Trim(string(quoted), `"`)) {
		// The truncation cut the detail off: share the quota with it.
		detail = " Detail: " + truncate(re.Detail, maxBodyInMessage/2)
		web = quoteBody(contentType, body, maxBodyInMessage-utf8.RuneCountInString(detail))
	}
	msg := fmt.Sprintf("StatusCode: %s Message: Processing of the HTTP request resulted in an exception. "+
		"Please see the HTTP response returned by the 'Response' property of this exception for details. "+
		"Web Response: %s%s", statusName(resp.StatusCode), web, detail)
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
func incompatible(method, path string, resp *response, why string) *connector.Error {
	return &connector.Error{
		Kind:   connector.KindInvalid,
		Status: resp.status,
		Code:   CodeServiceIncompatible,
		Message: fmt.Sprintf("The SCIM endpoint's response to %s %s could not be parsed as SCIM: %s. Web Response: %s",
			method, path, why, quoteBody(resp.contentType, resp.body, maxBodyInMessage)),
		Err: errors.New("scim: " + why),
	}
}

// quoteBody is what an error message shows of a response body: up to n
// characters of a JSON or SCIM body; of any other only its size and media
// type, so that a target URL pointed at some other service cannot be used
// to read that service's pages.
func quoteBody(contentType string, body []byte, n int) string {
	text := strings.TrimSpace(string(body))
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case text == "":
		return "(empty body)"
	case isJSON(contentType):
		return truncate(text, n)
	case contentType == "":
		return fmt.Sprintf("(a %d-byte body without a Content-Type, not quoted)", len(body))
	case err != nil:
		return fmt.Sprintf("(a %d-byte body with an unreadable Content-Type, not quoted)", len(body))
	}
	return fmt.Sprintf("(a %d-byte %s body, not quoted)", len(body), mt)
}

// isJSON reports whether a Content-Type is application/json or
// application/scim+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "application/scim+json")
}

// truncate cuts s after n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
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

// refused maps a refusal of the network guard (err matches
// netguard.ErrRefused) to a permanent *connector.Error that says which
// rule refused which address.
func refused(err error) *connector.Error {
	msg := err.Error()
	var re *netguard.RefusedError
	if errors.As(err, &re) {
		msg = re.Of("the target address")
	}
	return &connector.Error{Kind: connector.KindInvalid, Code: CodeAddressRefused, Message: msg, Err: err}
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

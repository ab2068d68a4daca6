package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Object type names used by the built-in template. Connectors compare them
// case-insensitively ("user" from AD equals "User").
const (
	TypeUser  = "User"
	TypeGroup = "Group"
)

// Attributes is an object's data as a flat map from attribute name to values.
// A missing key or a nil slice is null; one element is a single value; more
// are a multi-valued attribute. Booleans travel as "True"/"False", as in
// Entra. Target attribute names may be SCIM paths such as
// `emails[type eq "work"].value` or `name.givenName`; the target connector
// maps them onto its wire format.
type Attributes map[string][]string

// Get returns the first value of name and whether it is present.
func (a Attributes) Get(name string) (string, bool) {
	v := a[name]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Clone returns a deep copy.
func (a Attributes) Clone() Attributes {
	c := make(Attributes, len(a))
	for k, v := range a {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// Object is one entry of a source or target system.
type Object struct {
	// ID is the system's own identifier: the directory object id, the SCIM id,
	// or an LDAP distinguished name.
	ID string
	// Type is the object type name (TypeUser, TypeGroup or a source's own).
	Type string
	// Attrs holds every attribute the system returned. For groups the
	// attribute "members" lists member ids in that system.
	Attrs Attributes
	// Disabled and SoftDeleted are the object's state as the source system
	// knows it (a disabled account; deleted but restorable). A disabled or
	// soft-deleted object is out of scope.
	Disabled, SoftDeleted bool
	// Entitlement is the object's entitlement when the source computed it
	// while reading the object; nil means ask the source's Entitler.
	Entitlement *Entitlement
}

// Entitlement says whether a source object may be provisioned to the
// application a job belongs to.
type Entitlement struct {
	// Assigned is true when the object is assigned to the application
	// directly, or (users) through a directly assigned group.
	Assigned bool
	// Roles lists the display names of the app roles granted, for the
	// appRoleAssignments attribute.
	Roles []string
}

// Source reads objects to provision.
type Source interface {
	// Name is the system name shown in provisioning logs, e.g.
	// "Azure Active Directory".
	Name() string
	// Get returns the object of the given type and id with all its
	// attributes, computed ones included (IsSoftDeleted, objectId). A missing
	// object is an *Error of KindNotFound.
	Get(ctx context.Context, objectType, id string) (Object, error)
}

// Target writes provisioned objects.
//
// Every method returns either nil or an *Error (possibly wrapped) whose Kind
// says whether retrying can help.
type Target interface {
	// Name is the system name shown in provisioning logs, e.g. "customappsso".
	Name() string
	// Test checks the connection and credentials (Graph "test connection").
	Test(ctx context.Context) error
	// Find returns every object of the type whose attribute equals value.
	// Zero matches is an empty slice, not an error.
	Find(ctx context.Context, objectType, attribute, value string) ([]Object, error)
	// Get returns the object with the given id; KindNotFound when it is gone.
	Get(ctx context.Context, objectType, id string) (Object, error)
	// Create creates an object and returns it with its new id.
	Create(ctx context.Context, objectType string, attrs Attributes) (Object, error)
	// Update sets the given attributes (a nil value clears one) and leaves
	// every other attribute alone.
	Update(ctx context.Context, objectType, id string, set Attributes) error
	// Delete removes the object. Deleting a missing object is KindNotFound.
	Delete(ctx context.Context, objectType, id string) error
}

// Kind classifies connector failures.
type Kind int

const (
	KindUnknown      Kind = iota
	KindTransient         // timeouts, 429, 5xx: retry later
	KindUnauthorized      // bad credentials: quarantine the job
	KindNotFound          // the object does not exist
	KindConflict          // uniqueness violation in the target
	KindInvalid           // the target refused the data; retrying won't help
)

func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "Transient"
	case KindUnauthorized:
		return "Unauthorized"
	case KindNotFound:
		return "NotFound"
	case KindConflict:
		return "Conflict"
	case KindInvalid:
		return "Invalid"
	}
	return "Unknown"
}

// Error is the one error type connectors return.
type Error struct {
	Kind Kind
	// Status is the HTTP status the remote system answered, 0 if none.
	Status int
	// Code is a provisioning-log error code such as "EntryConflict" or
	// "SystemForCrossDomainIdentityManagementCredentialValidationFailure".
	Code string
	// Message says what happened, including the remote body when there is one.
	Message string
	// RetryAfter is the wait the remote asked for, in seconds (0 if none).
	RetryAfter float64
	Err        error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: status %d: %s", e.Kind, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, KindUnknown if err is not an *Error.
func KindOf(err error) Kind {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return KindUnknown
}

// IsNotFound reports whether err is a KindNotFound connector error.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// KindForStatus maps an HTTP status from a remote system to a Kind.
func KindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusConflict:
		return KindConflict
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return KindTransient
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}

// CodeAddressRefused is the code of a call provisiond refused to make: the
// target's address is one it never calls (link-local, its own) or outside
// the networks the operator allowed.
const CodeAddressRefused = "TargetAddressRefused"

// CodeForStatus maps an HTTP status to the provisioning-log error code Entra
// reports for it.
func CodeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "SystemForCrossDomainIdentityManagementBadRequest"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "SystemForCrossDomainIdentityManagementCredentialValidationFailure"
	case http.StatusNotFound:
		return "InvalidAnchor"
	case http.StatusConflict:
		return "EntryConflict"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowed"
	case http.StatusUnprocessableEntity:
		return "UnprocessableEntity"
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusNotImplemented:
		return "NotImplemented"
	}
	if status >= 500 {
		return "InternalServerError"
	}
	return "WebExceptionProtocolError"
}

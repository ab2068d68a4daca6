package connector

import (
	"context"
	"strings"
)

// Optional capabilities. A connector implements the ones its system offers;
// callers find them by type assertion, as io/fs does, so Source and Target
// stay small.

// Class is what an object type is, whatever a system calls it ("Group",
// "group", "groupOfNames").
type Class int

const (
	ClassOther Class = iota
	ClassUser
	ClassGroup
)

// Classifier names the class of a system's object types. A connector without
// it uses TypeUser and TypeGroup, case-insensitively.
type Classifier interface {
	Class(objectType string) Class
}

// ClassOf returns the class of objectType in the system c (a Source or a
// Target).
func ClassOf(c any, objectType string) Class {
	if cl, ok := c.(Classifier); ok {
		return cl.Class(objectType)
	}
	switch {
	case strings.EqualFold(objectType, TypeUser):
		return ClassUser
	case strings.EqualFold(objectType, TypeGroup):
		return ClassGroup
	}
	return ClassOther
}

// Entitler reports whether a source object may be provisioned to the job's
// application (Entra's assignment). A source without it entitles every
// object, as a directory without assignments does (LDAP, cloud sync).
type Entitler interface {
	Entitlement(ctx context.Context, objectType, id string) (Entitlement, error)
}

// StateAttributer names the source attributes that carry an object's state
// (enabled, soft-deleted, assignments), which the import step shows even when
// no mapping reads them.
type StateAttributer interface {
	StateAttributes(objectType string) []string
}

// Page is one page of a listing.
type Page struct {
	Objects []Object
	// Next continues the listing; empty on the last page.
	Next string
}

// Lister lists every object of a type in pages. A target that lists lets a
// cycle match in memory instead of one query per object.
type Lister interface {
	// List returns the page that token (empty for the first) starts, with
	// objects as Get returns them. pageSize must be at least 1 (else
	// KindInvalid); a page may hold fewer objects, or, from a server that
	// does not page, more. Next is empty only on the last page. Tokens may
	// be offsets: an object created or deleted during a listing may be
	// listed twice or missed, so callers dedupe by id and never take
	// "absent from a listing" as proof of a deletion.
	List(ctx context.Context, objectType, token string, pageSize int) (Page, error)
}

// Change is one change to a source object.
type Change struct {
	ObjectType, ID string
	// Deleted is true when the object no longer exists (hard delete).
	Deleted bool
}

// ChangeFeed reports the changes made to a source after a watermark. The
// watermark is the source's own opaque string (a sequence number, an LDAP
// syncrepl cookie, an AD DirSync cookie); empty means from the beginning.
//
// Changes returns at most max changes (max must be at least 1, else
// KindInvalid), oldest first, and the watermark after the last one
// returned. When there are none, next is the watermark given, or one past
// it when the source left out changes that do not concern the reader (the
// directory leaves out another application's assignments). Reading from a
// watermark again replays the same changes. A watermark the source cannot
// continue from (one it never gave, or one whose following changes it no
// longer keeps) is KindInvalid: the caller starts over with a full cycle.
// An object may appear in several changes; Get reads its current state.
type ChangeFeed interface {
	Changes(ctx context.Context, watermark string, max int) (changes []Change, next string, err error)
	// Head returns the watermark of the latest change: a reader that
	// starts there sees only what changes afterwards.
	Head(ctx context.Context) (string, error)
}

// MemberWriter changes a target group's membership by member ids in the
// target system. Adding a present member or removing an absent one is not an
// error.
type MemberWriter interface {
	AddMembers(ctx context.Context, groupID string, memberIDs []string) error
	RemoveMembers(ctx context.Context, groupID string, memberIDs []string) error
}

// Watcher tells a caller, within seconds, that a source has changed, so a
// started job runs its incremental cycle at once instead of at its next
// interval (LDAP syncrepl refreshAndPersist, AD's change notification).
type Watcher interface {
	// Watch blocks until ctx ends or the connection fails, calling changed
	// (never concurrently) after changes. A returned error other than ctx's
	// means the watch broke; the caller may watch again after a backoff.
	// Missing a notification loses nothing: the change feed still has it.
	Watch(ctx context.Context, changed func()) error
}

// AttributeInfo is one attribute a directory's own schema defines.
type AttributeInfo struct {
	Name string
	// Type is a synchronization attributeType: String, Integer, Boolean,
	// DateTime, Binary or Reference.
	Type        string
	Multivalued bool
}

// Discoverer reads a source's own schema (LDAP attribute types), which
// directories/{id}/discover copies into the job's directory definition.
type Discoverer interface {
	Discover(ctx context.Context, objectType string) ([]AttributeInfo, error)
}

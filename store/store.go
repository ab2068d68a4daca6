package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Sentinel errors. Backends return them (possibly wrapped with %w).
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with that key or unique value exists already.
	ErrConflict = errors.New("already exists")
	// ErrChangesPruned: changes after the sequence number asked for were
	// pruned, so the feed can no longer say everything that changed since;
	// the reader must start over with a full (initial) cycle.
	ErrChangesPruned = errors.New("changes pruned")
	// ErrKeysDiffer: the database was first opened with other key
	// material (see ClaimKeys).
	ErrKeysDiffer = errors.New("keys differ from the database's")
)

// User is a directory user. Props holds the Graph properties other than the
// ones given their own field (displayName, givenName, mail, jobTitle, ...),
// as decoded JSON values (string, bool, float64, []any, nil).
type User struct {
	ID                string
	UserPrincipalName string // unique, compared case-insensitively
	AccountEnabled    bool
	Props             map[string]any
	Created           time.Time
	// Deleted is set when the user is soft-deleted; soft-deleted users are
	// still returned by GetUser but not by ListUsers unless asked.
	Deleted *time.Time
}

// Group is a directory group. DisplayName need not be unique.
type Group struct {
	ID          string
	DisplayName string
	Props       map[string]any
	Created     time.Time
	Deleted     *time.Time
}

// Application is an app registration. AppID is the client id (unique).
type Application struct {
	ID          string
	AppID       string
	DisplayName string
	Created     time.Time
}

// ServicePrincipal is an application's instance in the tenant.
type ServicePrincipal struct {
	ID            string
	AppID         string // the Application's AppID (unique)
	ApplicationID string // the Application's object id
	DisplayName   string
	Created       time.Time
}

// AppRoleAssignment grants a user or group (PrincipalID) an app role of a
// service principal (ResourceID).
type AppRoleAssignment struct {
	ID            string
	AppRoleID     string
	PrincipalID   string
	PrincipalType string // "User" or "Group"
	ResourceID    string
	Created       time.Time
}

// Anchor links a source object to the target object provisioned from it for
// one job (Entra's connector data store entry).
type Anchor struct {
	JobID      string
	SourceType string // object type name in the source, e.g. "User"
	SourceID   string
	TargetType string
	TargetID   string
	Updated    time.Time
}

// AnchorCount is how many anchors of a job link SourceType objects to
// TargetType objects.
type AnchorCount struct {
	SourceType, TargetType string
	N                      int64
}

// AnchorKey names an anchor.
type AnchorKey struct{ JobID, SourceType, SourceID string }

// Batch is the anchors and logs of many objects, written together (a
// cycle's write-behind).
type Batch struct {
	Anchors []Anchor    // created or replaced
	Deleted []AnchorKey // removed if present
	Logs    []ProvisioningLog
}

// AnchorJobs returns, sorted, the jobs whose anchors b writes or deletes.
func (b Batch) AnchorJobs() []string {
	var jobs []string
	for _, a := range b.Anchors {
		jobs = append(jobs, a.JobID)
	}
	for _, k := range b.Deleted {
		jobs = append(jobs, k.JobID)
	}
	slices.Sort(jobs)
	return slices.Compact(jobs)
}

// ProvisioningLog is one provisioning event, stored as the JSON the engine
// produced, plus the fields logs are queried by (copied from that JSON).
type ProvisioningLog struct {
	ID                 string
	JobID              string
	ServicePrincipalID string
	ChangeID           string
	Activity           time.Time
	CycleID            string // "" on demand
	Action             string // Create, Update, Disable, Delete, Other, ...
	Status             string // Success, Skipped, Failure, ...
	SourceID           string
	SourceName         string // the source object's display name, if any
	TargetID           string
	Data               []byte
}

// The object types a Change names.
const (
	ChangeUser  = "User"
	ChangeGroup = "Group"
)

// Change is one entry of the directory's change feed: the user or group
// ObjectID (may have) changed. The feed says which objects to look at
// again, not what changed in them.
type Change struct {
	// Seq orders the feed: strictly increasing, never reused.
	Seq        int64
	ObjectType string // ChangeUser or ChangeGroup
	ObjectID   string
	// Deleted is true when the object was hard-deleted (purged). A soft
	// delete or a restore is a plain change: the object is still there.
	Deleted bool
	// At is when the change was recorded.
	At time.Time
	// Resource, when set, is the service principal whose app role
	// assignment the change made or removed: it concerns that service
	// principal's jobs alone ("" concerns every job).
	Resource string
}

// ListOptions narrows and pages a listing.
type ListOptions struct {
	// Limit caps the records returned; 0 means no cap.
	Limit int
	// After returns only records whose ID sorts after it (keyset paging by ID).
	After string
	// IncludeDeleted also returns soft-deleted users and groups.
	IncludeDeleted bool
}

// Store is everything provisiond keeps. Every method is safe for concurrent
// use, and every write is atomic: it either happens whole or not at all.
// Lists are ordered by ID.
//
// Every directory write records, in the same transaction, a Change for
// each user and group it may have changed, so that an incremental cycle
// reads only what changed since its watermark:
//   - CreateUser, UpdateUser and EditUser (soft delete and restore
//     included), CreateGroup, UpdateGroup, EditGroup: the object;
//   - PurgeUser, PurgeGroup: the object, Deleted; then the groups it was a
//     direct member of (their members changed); then, for a group, its direct
//     member users (their entitlement through it is gone);
//   - AddMember, RemoveMember: the group, then the member if it is a user
//     (its entitlement through the group changed; a group's does not, as
//     groups are entitled by direct assignment only);
//   - CreateAppRoleAssignment, DeleteAppRoleAssignment: the principal, then,
//     for a group, its direct member users (their app roles changed).
//
// Several objects of one kind come in id order. A write that fails records
// nothing. Other writes (applications, jobs, anchors, logs) record nothing;
// DeleteServicePrincipal neither, though its assignments go with it, as the
// jobs that would read those changes go with it too.
type Store interface {
	// CreateUser fails with ErrConflict when the ID or the
	// userPrincipalName (case-insensitively) is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns soft-deleted users too; ErrNotFound if absent.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByUPN matches case-insensitively; ErrNotFound if absent.
	GetUserByUPN(ctx context.Context, upn string) (User, error)
	// UpdateUser replaces the record with the same ID: ErrNotFound if
	// absent, ErrConflict if the new userPrincipalName is taken.
	UpdateUser(ctx context.Context, u User) error
	// EditUser reads the user with this id (soft-deleted ones too), lets
	// fn change it and stores the result, atomically: no write between
	// the read and the store is lost, in this process or another on the
	// same database. fn must not call the store; its error aborts the
	// edit and is returned as is. ErrNotFound if absent, ErrConflict if
	// the new userPrincipalName is taken. It returns the user stored.
	EditUser(ctx context.Context, id string, fn func(*User) error) (User, error)
	ListUsers(ctx context.Context, opt ListOptions) ([]User, error)
	// PurgeUser hard-deletes a user with its memberships and assignments.
	PurgeUser(ctx context.Context, id string) error

	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	UpdateGroup(ctx context.Context, g Group) error
	// EditGroup is EditUser for a group.
	EditGroup(ctx context.Context, id string, fn func(*Group) error) (Group, error)
	ListGroups(ctx context.Context, opt ListOptions) ([]Group, error)
	// PurgeGroup hard-deletes a group with its memberships and assignments.
	PurgeGroup(ctx context.Context, id string) error

	// AddMember adds a user or group to a group: ErrNotFound if the group
	// is absent, ErrConflict if already a member.
	AddMember(ctx context.Context, groupID, memberID string) error
	// RemoveMember: ErrNotFound if it was not a member.
	RemoveMember(ctx context.Context, groupID, memberID string) error
	// ListMembers returns the member ids of a group, ordered.
	ListMembers(ctx context.Context, groupID string) ([]string, error)
	// ListMemberOf returns the ids of the groups memberID belongs to directly.
	ListMemberOf(ctx context.Context, memberID string) ([]string, error)
	// ListMemberOfAll is ListMemberOf for many members in one call: the
	// groups of each member that belongs to any, ordered.
	ListMemberOfAll(ctx context.Context, memberIDs []string) (map[string][]string, error)

	// ListChanges returns the changes with Seq > after, in Seq order, at
	// most limit of them (limit <= 0: no cap). ErrChangesPruned if a change
	// with Seq > after was pruned.
	ListChanges(ctx context.Context, after int64, limit int) ([]Change, error)
	// LastChangeSeq returns the Seq of the newest change ever recorded,
	// pruned or not; 0 if none. An initial cycle reads it before it lists,
	// and continues incrementally from there.
	LastChangeSeq(ctx context.Context) (int64, error)
	// PruneChanges deletes the changes with Seq < before (no reader needs
	// them any more); ListChanges then refuses an after < before-1 with
	// ErrChangesPruned. before beyond the newest change prunes every change
	// and nothing recorded later.
	PruneChanges(ctx context.Context, before int64) error
	// Subscribe returns a channel that receives a value after directory
	// writes, and a function that cancels the subscription (the channel is
	// never closed). Signals coalesce: the channel holds at most one, and a
	// signal may stand for many writes, so a subscriber reads the feed from
	// its watermark when woken. A write's signal is sent after it commits
	// and before it returns; it never blocks the write. Writes made
	// through this Store value always signal; whether another process
	// writing the same database does depends on the backend (PostgreSQL:
	// yes, SQLite: no), so readers still poll on a schedule.
	Subscribe() (<-chan struct{}, func())

	// CreateServicePrincipal stores an application and its service
	// principal together; ErrConflict if either id or appId is taken.
	CreateServicePrincipal(ctx context.Context, app Application, sp ServicePrincipal) error
	GetServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, appID string) (ServicePrincipal, error)
	GetApplication(ctx context.Context, id string) (Application, error)
	ListServicePrincipals(ctx context.Context, opt ListOptions) ([]ServicePrincipal, error)
	// DeleteServicePrincipal removes the service principal, its
	// application, owners, assignments, jobs (with their anchors, escrows
	// and staged deletes), secrets and logs.
	DeleteServicePrincipal(ctx context.Context, id string) error

	// AddOwner: ErrNotFound if the service principal is absent, ErrConflict
	// if already an owner.
	AddOwner(ctx context.Context, spID, ownerID string) error
	// RemoveOwner: ErrNotFound if ownerID does not own the service principal.
	RemoveOwner(ctx context.Context, spID, ownerID string) error
	ListOwners(ctx context.Context, spID string) ([]string, error)

	// CreateAppRoleAssignment: ErrNotFound if the resource service principal
	// is absent, ErrConflict if the principal already has that role there.
	CreateAppRoleAssignment(ctx context.Context, a AppRoleAssignment) error
	GetAppRoleAssignment(ctx context.Context, id string) (AppRoleAssignment, error)
	// ListAppRoleAssignments lists the assignments to one resource.
	ListAppRoleAssignments(ctx context.Context, resourceID string) ([]AppRoleAssignment, error)
	// ListAppRoleAssignmentsOf lists the assignments held by one principal.
	ListAppRoleAssignmentsOf(ctx context.Context, principalID string) ([]AppRoleAssignment, error)
	// ListAppRoleAssignmentsOfAll is ListAppRoleAssignmentsOf for many
	// principals in one call: the assignments of each principal that holds
	// any, ordered by id.
	ListAppRoleAssignmentsOfAll(ctx context.Context, principalIDs []string) (map[string][]AppRoleAssignment, error)
	DeleteAppRoleAssignment(ctx context.Context, id string) error

	// CreateJob: ErrNotFound if the service principal is absent,
	// ErrConflict if the id is taken.
	CreateJob(ctx context.Context, j Job) error
	GetJob(ctx context.Context, spID, jobID string) (Job, error)
	ListJobs(ctx context.Context, spID string) ([]Job, error)
	// UpdateJob changes the job jobID of spID atomically: it calls fn with
	// the stored job inside one transaction, stores what fn leaves (keeping
	// the job's ID and ServicePrincipalID) and returns it. Concurrent
	// updates of one job are serialised, so none is lost. ErrNotFound (fn
	// not called) if there is no such job; an error from fn aborts the
	// update, changing nothing, and is returned as is. fn must be quick and
	// must not call the Store.
	UpdateJob(ctx context.Context, spID, jobID string, fn func(*Job) error) (Job, error)
	// DeleteJob removes the job with its anchors, escrows, staged deletes
	// and logs.
	DeleteJob(ctx context.Context, spID, jobID string) error

	// PutSecrets replaces the sealed (encrypted) secrets of a service
	// principal; ErrNotFound if it is absent.
	PutSecrets(ctx context.Context, spID string, sealed []byte) error
	// GetSecrets returns nil, nil when none were ever put.
	GetSecrets(ctx context.Context, spID string) ([]byte, error)

	// PutAnchor creates or replaces the anchor for (JobID, SourceType, SourceID).
	PutAnchor(ctx context.Context, a Anchor) error
	GetAnchor(ctx context.Context, jobID, sourceType, sourceID string) (Anchor, error)
	DeleteAnchor(ctx context.Context, jobID, sourceType, sourceID string) error
	// GetAnchorByTarget returns the anchor of a job that links to the
	// target object (targetType, targetID); ErrNotFound when none does.
	// It tells objects the job provisioned from objects it never touched.
	GetAnchorByTarget(ctx context.Context, jobID, targetType, targetID string) (Anchor, error)
	ListAnchors(ctx context.Context, jobID string) ([]Anchor, error)
	// ListAnchorsAfter returns a page of the job's anchors of sourceType:
	// at most limit, ordered by source id, those after the source id after
	// ("" for the first page).
	ListAnchorsAfter(ctx context.Context, jobID, sourceType, after string, limit int) ([]Anchor, error)
	// GetAnchors returns, in no particular order, the job's anchors of the
	// source objects sourceIDs of sourceType that have one: GetAnchor for
	// many objects in one call.
	GetAnchors(ctx context.Context, jobID, sourceType string, sourceIDs []string) ([]Anchor, error)
	// GetAnchorsByTarget returns, in no particular order, the job's
	// anchors that link to the target objects targetIDs of targetType:
	// GetAnchorByTarget for many objects in one call (every anchor of
	// each, where GetAnchorByTarget answers one).
	GetAnchorsByTarget(ctx context.Context, jobID, targetType string, targetIDs []string) ([]Anchor, error)
	// CountAnchors counts the job's anchors by source and target type,
	// ordered by them, without reading them all.
	CountAnchors(ctx context.Context, jobID string) ([]AnchorCount, error)
	// AnchorsVersion returns a number that changes whenever the job's
	// anchors do (PutAnchor, DeleteAnchor, CommitBatch with anchors or
	// deletions), whoever writes them; ErrNotFound if the job is absent.
	AnchorsVersion(ctx context.Context, jobID string) (int64, error)

	// PutEscrow creates or replaces the escrow for (JobID, SourceType,
	// SourceID); ErrNotFound if the job is absent.
	PutEscrow(ctx context.Context, e Escrow) error
	// DeleteEscrow: ErrNotFound if there is no such escrow.
	DeleteEscrow(ctx context.Context, jobID, sourceType, sourceID string) error
	// ListEscrows returns a job's escrows ordered by SourceType, then
	// SourceID; none for an absent job.
	ListEscrows(ctx context.Context, jobID string) ([]Escrow, error)
	// ClearEscrows deletes every escrow of a job (none is not an error).
	ClearEscrows(ctx context.Context, jobID string) error
	// PutStagedDeletes replaces, atomically, the staged deletes of a job
	// with ds (their JobID is taken to be jobID; a key given twice keeps
	// its last entry); an empty ds clears them.
	// ErrNotFound if the job is absent.
	PutStagedDeletes(ctx context.Context, jobID string, ds []StagedDelete) error
	// ListStagedDeletes returns a job's staged deletes ordered by
	// SourceType, then SourceID.
	ListStagedDeletes(ctx context.Context, jobID string) ([]StagedDelete, error)

	// AddProvisioningLog stores a log; ErrConflict if its id is taken. A
	// job's logs outlive it, as Entra's audit logs do: deleting a job (or
	// its service principal) keeps them until retention prunes them. (The
	// SQL stores find a deleted job's logs by jobId eq with its id as
	// written, the memory store in any case; the conformance suite uses
	// the id as written.)
	AddProvisioningLog(ctx context.Context, l ProvisioningLog) error
	// CommitBatch writes b in one transaction: all of it or, on an error,
	// none. The anchors and deleted keys name distinct anchors. ErrNotFound
	// if an anchor's job is absent, ErrConflict if a log id is taken.
	CommitBatch(ctx context.Context, b Batch) error
	// ListProvisioningLogs returns a job's logs newest first; jobID "" means
	// every job. opt.After is a log ID to continue after (in that order).
	ListProvisioningLogs(ctx context.Context, jobID string, opt ListOptions) ([]ProvisioningLog, error)
	// QueryProvisioningLogs returns the logs q selects, in q's order and
	// page, with the semantics of LogCond.Match; ties in Activity are
	// ordered by ID in the same direction.
	QueryProvisioningLogs(ctx context.Context, q LogQuery) (LogPage, error)
	// PruneProvisioningLogs deletes the logs whose Activity is before
	// before and returns how many it deleted.
	PruneProvisioningLogs(ctx context.Context, before time.Time) (int, error)

	// ClaimKeys records the fingerprint of the key material (token signing
	// key, secrets key) of the process opening the store, the first time
	// one is given, and returns ErrKeysDiffer when a different one was
	// recorded: nodes sharing a database must share their keys, or one
	// would mint tokens the others refuse and seal secrets they cannot
	// open.
	ClaimKeys(ctx context.Context, fingerprint string) error
	// UseOnce records that a one-time value (a sign-in code's id) has been
	// used; the record is kept until expires. It returns ErrConflict when
	// key was used already, so of several processes sharing the store only
	// one can use it. Records that expired before now are dropped.
	UseOnce(ctx context.Context, key string, expires, now time.Time) error
	// WasUsed reports whether UseOnce recorded key and the record has not
	// expired by now.
	WasUsed(ctx context.Context, key string, now time.Time) (bool, error)

	Close() error
}

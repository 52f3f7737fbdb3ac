// Package fhirstore defines the storage of FHIR resources: the Store
// interface every backend implements, the versioned Resource it returns and
// the errors it reports. Backends live in sub-packages (sqlite now,
// postgres later) and share one SQL layer (sqlstore); fhirstore/storetest is
// the behavioural suite each backend must pass.
//
// Every call names a sandbox (tenant): rows of different sandboxes never
// meet. Validation happens before the store: writers take resources already
// accepted by fhirjson.Parse.
package fhirstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// DefaultSandbox is the key of the sandbox served at /fhir.
const DefaultSandbox = "default"

// Sandbox is the key of a sandbox (a tenant) in a Store: every call names
// the sandbox it reads or writes as one, so that it cannot be swapped with
// a resource type or id by mistake. Rows of different sandboxes never
// meet.
type Sandbox string

// Method says how a version came to be, as history bundles report it.
type Method string

// Methods recorded with each version.
const (
	MethodCreate Method = "POST"
	MethodUpdate Method = "PUT"
	MethodDelete Method = "DELETE"
)

// Resource is one version of a stored resource.
type Resource struct {
	Type        string
	ID          string
	Version     int64
	LastUpdated time.Time
	Method      Method
	// Body is the stamped JSON (id and meta set); nil for a deletion.
	Body []byte
}

// Deleted reports whether this version records a deletion.
func (r *Resource) Deleted() bool { return r.Method == MethodDelete }

// ETag returns the weak entity tag of the version, W/"n".
func (r *Resource) ETag() string { return `W/"` + strconv.FormatInt(r.Version, 10) + `"` }

// Errors reported by every backend; check them with errors.Is and errors.As.
var (
	// ErrNotFound: no resource of that type and id was ever stored, or no
	// such version.
	ErrNotFound = errors.New("fhirstore: resource not found")
	// ErrVersionConflict: an update's expected version is not the current one.
	ErrVersionConflict = errors.New("fhirstore: version conflict")
	// ErrExists: a create named an id that is already in use.
	ErrExists = errors.New("fhirstore: resource already exists")
	// ErrNotVisible: under a search.Confinement, Read found the current
	// version but the confinement does not let it be seen.
	ErrNotVisible = errors.New("fhirstore: resource not visible under the confinement")
)

// GoneError reports a read of a resource whose current version is a
// deletion; Resource is that deletion version.
type GoneError struct{ Resource *Resource }

func (e *GoneError) Error() string {
	return fmt.Sprintf("fhirstore: %s/%s was deleted in version %d", e.Resource.Type, e.Resource.ID, e.Resource.Version)
}

// UpdateOptions qualify an Update.
type UpdateOptions struct {
	// IfMatch, when non-zero, is the version the client expects to replace;
	// any other current version (or none) is a conflict.
	IfMatch int64
}

// HistoryQuery selects versions for a history interaction. With Type and ID
// empty it is system history; with ID empty, type history.
type HistoryQuery struct {
	Type, ID string
	// Since keeps versions last updated at or after it (_since).
	Since time.Time
	// Before keeps versions last updated at or before it. Zero asks the
	// store for a snapshot (HistoryPage.Snapshot), which later pages pass
	// here so that later writes do not shift them.
	Before time.Time
	Count  int
	Offset int
}

// HistoryPage is one page of versions, newest first, and the number of
// versions the query matches in all.
type HistoryPage struct {
	Versions []*Resource
	Total    int
	// Snapshot is the bound the page was read under: the query's Before, or
	// when that was zero, one the store chose that covers every version
	// written so far and no version written later. Later pages pass it as
	// Before.
	Snapshot time.Time
}

// SearchQuery selects current, not deleted resources. With Query nil it
// lists Type (Count and Offset page it); otherwise Query says everything.
type SearchQuery struct {
	Type   string
	Count  int
	Offset int
	// Query is a parsed search (filters, sort, includes, paging cursor).
	Query *search.Query
}

// SearchPage is one page of matches and the resources included with them.
type SearchPage struct {
	Matches []*Resource
	// Included are the resources _include and _revinclude added, each once
	// and none of them a match.
	Included []*Resource
	// Total is the number of matches in all, or -1 when it was not counted
	// (_total=none, or too many to count cheaply without _total=accurate).
	Total int
	// Next and Prev are cursors (search.Query.Cursor) of the neighbouring
	// pages, empty at either end. They page by the sort key and the row, so
	// writes between pages neither repeat nor skip a resource that was
	// there all along.
	Next, Prev string
}

// Reader reads resources and their history.
type Reader interface {
	// Read returns the current version; ErrNotFound, or *GoneError when it
	// was deleted. Under a context carrying a search.Confinement that
	// limits typ, a current version the confinement does not let be seen
	// is ErrNotVisible (it is judged in the same store as searches are).
	Read(ctx context.Context, sandbox Sandbox, typ, id string) (*Resource, error)
	// VRead returns the given version, which may be a deletion. Under a
	// search.Confinement, a version it does not let be seen is
	// ErrNotFound.
	VRead(ctx context.Context, sandbox Sandbox, typ, id string, version int64) (*Resource, error)
	// History returns versions newest first. Under a search.Confinement,
	// only the versions it lets be seen, in the page and in its Total:
	// each version as it was when current (its compartment, its tokens),
	// and a deletion as the version it deleted.
	History(ctx context.Context, sandbox Sandbox, q HistoryQuery) (*HistoryPage, error)
	// Search returns current resources matching q. Under a context
	// carrying a search.Confinement (search.ConfineTo), the matches, every
	// resource a chain or _has reads to decide them, and the resources
	// _include and _revinclude add are confined.
	Search(ctx context.Context, sandbox Sandbox, q SearchQuery) (*SearchPage, error)
}

// Writer writes new versions. Each write stamps the body with the id,
// meta.versionId and meta.lastUpdated it stores.
type Writer interface {
	// Create stores r as version 1 under a new server-assigned id, or under
	// id when it is not empty (ErrExists if that id is in use).
	Create(ctx context.Context, sandbox Sandbox, r *fhirjson.Resource, id string) (*Resource, error)
	// Update stores r as the next version of r.Type/r.ID, creating it when it
	// does not exist or was deleted; created says which.
	Update(ctx context.Context, sandbox Sandbox, r *fhirjson.Resource, opts UpdateOptions) (res *Resource, created bool, err error)
	// Delete records a deletion and returns it; deleting a resource that does
	// not exist or is already deleted returns (nil, nil).
	Delete(ctx context.Context, sandbox Sandbox, typ, id string) (*Resource, error)
	// ReplaceMeta rewrites the body of a stored version in place, without a
	// new version or timestamp, re-indexing it when it is current. It is for
	// $meta-add and $meta-delete only: body must differ from the stored one
	// in meta alone. ErrNotFound when no such version holds a body.
	ReplaceMeta(ctx context.Context, sandbox Sandbox, typ, id string, version int64, body []byte) error
}

// Tx is a transaction: its reads see its own writes.
type Tx interface {
	Reader
	Writer
}

// Store is a backend.
type Store interface {
	Reader
	Writer
	// Tx runs fn in one transaction: all of its writes land, or, when fn
	// returns an error, none.
	Tx(ctx context.Context, fn func(Tx) error) error
	Close() error
}

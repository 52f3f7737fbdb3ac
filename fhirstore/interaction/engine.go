package interaction

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// DefaultConditionalDeleteMax is how many resources one conditional delete
// may remove when Config sets nothing: one, as HAPI FHIR's default.
const DefaultConditionalDeleteMax = 1

// Page sizes of searches, history and $everything.
const (
	DefaultCount = 50
	MaxCount     = 1000
)

// Config configures an Engine.
type Config struct {
	// BaseURL is the absolute URL of the FHIR base (without a trailing
	// slash) for requests that name none: those of connectors through
	// Create and Transaction. Search criteria resolve references against
	// it, and a response Bundle's fullUrls are under it.
	BaseURL string
	// Definitions are the per-sandbox definitions $validate and
	// enforcement judge against; engines over one store share them so that
	// a definition written through one is seen by all. A cache of its own
	// when nil.
	Definitions *DefinitionCache
	// Enforcement says what each sandbox requires of the resources written
	// into it beyond valid R4; nothing when nil.
	Enforcement EnforcementFunc
	// ConditionalDeleteMax is how many resources one conditional delete may
	// remove (DefaultConditionalDeleteMax when zero); more matches fail as
	// outcome.PreconditionFailed.
	ConditionalDeleteMax int
}

// Engine performs the FHIR interactions that are more than one store call
// (conditional writes, patch, batch and transaction, $everything,
// $validate) over a fhirstore.Store, for every door into a sandbox: the
// HTTP API, Bundle entries and connectors. Its errors are *outcome.Error
// values whose category the edge maps to a status.
//
// Under a context carrying a search.Confinement (search.ConfineTo), every
// write checks, in the transaction that makes it, that the resource it
// writes (and, for an update or delete, the version it replaces) is visible
// under the confinement, and otherwise fails as outcome.Denied with nothing
// written.
type Engine struct {
	store fhirstore.Store
	cfg   Config
}

// New returns an Engine over store.
func New(store fhirstore.Store, cfg Config) *Engine {
	if cfg.ConditionalDeleteMax <= 0 {
		cfg.ConditionalDeleteMax = DefaultConditionalDeleteMax
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Definitions == nil {
		cfg.Definitions = NewDefinitionCache(store)
	}
	return &Engine{store: store, cfg: cfg}
}

// base is the FHIR base of a request: its own, or the configured one.
func (e *Engine) base(b string) string {
	if b != "" {
		return b
	}
	return e.cfg.BaseURL
}

// Create stores resource (FHIR JSON) as a new resource of its type under
// a server-assigned id, as POST [type] does.
func (e *Engine) Create(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte) (*fhirstore.Resource, error) {
	r, err := e.Write(ctx, &Write{Kind: Create, Sandbox: sandbox, Body: resource})
	if err != nil {
		return nil, err
	}
	return r.Resource, nil
}

// Transaction processes bundle, a Bundle of type transaction or batch, as
// POST [base] does, and returns the response Bundle.
func (e *Engine) Transaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	return e.Bundle(ctx, &BundleRequest{Sandbox: sandbox, Body: bundle})
}

// ValidatedTransaction is Transaction for a Bundle an in-process connector
// built and vouches is valid R4 (BundleRequest.Validated).
func (e *Engine) ValidatedTransaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	return e.Bundle(ctx, &BundleRequest{Sandbox: sandbox, Body: bundle, Validated: true})
}

// StoreError turns an error of the store about typ/id into the FHIR error
// a client should see; other errors are returned as they are.
func StoreError(err error, typ, id string) error {
	var gone *fhirstore.GoneError
	switch {
	case errors.Is(err, fhirstore.ErrNotFound):
		return outcome.New(outcome.Missing, outcome.NotFound, "%s/%s is not known", typ, id).Wrap(err)
	case errors.As(err, &gone):
		return outcome.New(outcome.Gone, outcome.Deleted, "%s/%s was deleted (version %d)", typ, id, gone.Resource.Version).Wrap(err)
	case errors.Is(err, fhirstore.ErrVersionConflict):
		return outcome.New(outcome.PreconditionFailed, outcome.Conflict,
			"%s/%s: the version in If-Match is not the current version", typ, id).Wrap(err)
	case errors.Is(err, fhirstore.ErrExists):
		return outcome.New(outcome.Conflicting, outcome.Duplicate, "%s/%s already exists", typ, id).Wrap(err)
	case errors.Is(err, fhirstore.ErrNotVisible):
		return outcome.New(outcome.Denied, outcome.Forbidden,
			"%s/%s is outside what the token may read: the compartment of the patient in context, or the constraints of its scopes", typ, id).Wrap(err)
	}
	return err
}

// ParseETag reads a version from an entity tag: W/"n", "n" or n.
func ParseETag(s string) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("%q is not a version entity tag like W/\"3\"", s)
	}
	return v, nil
}

// ParseIfMatch reads an If-Match value, of a header or of
// Bundle.entry.request.ifMatch, into a version; "" is none (0).
func ParseIfMatch(ifMatch string) (int64, error) {
	if ifMatch == "" {
		return 0, nil
	}
	v, err := ParseETag(ifMatch)
	if err != nil {
		return 0, outcome.New(outcome.Incorrect, outcome.Value, "If-Match: %v", err)
	}
	return v, nil
}

// checkUpdateID enforces the specification's rule for update: the body
// carries the id of the URL.
func checkUpdateID(typ, id string, res *fhirjson.Resource) error {
	if res.ID == "" {
		return outcome.New(outcome.Incorrect, outcome.Required,
			"the body of an update must carry id %q", id).At(typ + ".id")
	}
	if res.ID != id {
		return outcome.New(outcome.Incorrect, outcome.Invalid,
			"id %q in the body does not match id %q in the URL", res.ID, id).At(typ + ".id")
	}
	return nil
}

// ParseInstant reads a FHIR instant or dateTime with a time zone, as
// _since and _snapshot take them.
func ParseInstant(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an instant like 2026-01-02T10:00:00Z", s)
}

// definitions are those of sandbox: the core definitions and the
// conformance resources stored there.
func (e *Engine) definitions(ctx context.Context, sandbox fhirstore.Sandbox) (*profile.Definitions, error) {
	defs, err := e.cfg.Definitions.Definitions(ctx, sandbox)
	if err != nil {
		return nil, outcome.New(outcome.Fault, outcome.Exception, "reading the sandbox's definitions failed").Wrap(err)
	}
	return defs, nil
}

// wrote tells the definition cache that a write of typ into sandbox
// happened (or may have): a conformance resource changes the sandbox's set.
func (e *Engine) wrote(sandbox fhirstore.Sandbox, typ string) {
	if IsConformanceType(typ) {
		e.cfg.Definitions.Invalidate(sandbox)
	}
}

package connectors

import (
	"context"
	"net/url"

	"hpsandbox/fhirstore"
)

// Engine is what a connector writes FHIR through: exactly the interactions
// connectors need, over the same engine as the FHIR API, so that a
// resource a connector stores is validated, stamped and indexed as one the
// API stores. The gateway gives each connector its Engine in Deps.
//
// ctx carries the Caller (WithCaller); an engine that applies access
// rules reads them there.
//
// Errors are *outcome.Error (package fhirstore/outcome) for what the
// engine refuses, with the status and issues the FHIR API would answer:
// 400 for input that is not FHIR JSON, 422 for an invalid resource, 409 or
// 412 for a conflict. Any other error is a failure of the engine itself;
// outcome.From turns it into a 500 without exposing it.
type Engine interface {
	// Create validates resource, a FHIR R4 resource in JSON, and stores it
	// in sandbox under a new id (an id in the body is ignored, as in the
	// FHIR create interaction). It returns the stored version.
	Create(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte) (*fhirstore.Resource, error)
	// Transaction processes bundle, a FHIR transaction Bundle in JSON, in
	// sandbox: every entry lands or none does. It returns the
	// transaction-response Bundle in JSON.
	Transaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error)
	// Update stores resource, a FHIR R4 resource in JSON with its id, as
	// the next version of its type and id (creating it when new), as PUT
	// [type]/[id] does; ifMatch, when not zero, is the version that must
	// be current (else 412).
	Update(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte, ifMatch int64) (*fhirstore.Resource, error)
	// Read returns the current version of typ/id: 404 when unknown, 410
	// when deleted.
	Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error)
	// Search runs a search of typ with the REST API's parameters
	// (filters, _count, _sort, _include, the paging cursor) and returns
	// one page; 400 for a malformed value. Unknown parameters are ignored,
	// as the REST API does without Prefer: handling=strict.
	Search(ctx context.Context, sandbox fhirstore.Sandbox, typ string, params url.Values) (*fhirstore.SearchPage, error)
}

package connectors

import (
	"context"

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
}

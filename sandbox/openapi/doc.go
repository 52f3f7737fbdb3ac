// Package openapi builds the OpenAPI 3.1 document of the whole server,
// served at /openapi.json: the admin API (its hand-written document, with
// its paths below /admin/api), the authorization server's endpoints, and
// the FHIR interactions of every resource type, generated from the
// CapabilityStatement the FHIR API serves, so that the two cannot
// disagree.
//
// The FHIR part describes the default sandbox's base, /fhir; every path
// below it is served the same below /sandboxes/{sandbox}/fhir. Each
// resource type's schema lists its top-level elements with their JSON
// types and cardinality, generated from the R4 core StructureDefinitions
// the profile validator (fhirstore/profile) judges every write by; the
// data types they use are shared schemas (fhir.dt.{Type}) of their own
// elements, one level deep (resources.go). Deeper rules (bindings,
// invariants, profiles) stay the validator's: $validate is their contract.
//
// It is not a validator of requests, and it does not render the document:
// sandbox/guides does that.
package openapi

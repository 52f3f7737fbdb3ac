// Package openapi builds the OpenAPI 3.1 document of the whole server,
// served at /openapi.json: the admin API (its hand-written document, with
// its paths below /admin/api), the authorization server's endpoints, and
// the FHIR interactions of every resource type, generated from the
// CapabilityStatement the FHIR API serves, so that the two cannot
// disagree.
//
// The FHIR part describes the default sandbox's base, /fhir; every path
// below it is served the same below /sandboxes/{sandbox}/fhir. Resources
// are described by their resourceType and id only: the R4 definitions
// (and the profile validator) are the contract for their content.
//
// It is not a validator of requests, and it does not render the document:
// sandbox/guides does that.
package openapi

// Package adminapi is the admin REST API of the sandbox: JSON under
// /admin/api/ for the operator who runs it, the reviewers who read its
// evidence and the suppliers who test in it. It manages sandboxes (create,
// change settings, reset, delete), the apps registered in them and the
// accounts that sign in, searches a sandbox's request log, and runs the
// conformance checks (package sandbox/conformance) over it: a run's
// TestReport is kept in the sandbox's FHIR store and rendered again on
// request as JSON, JUnit XML or HTML. Suppliers file requests for test of
// their products (/test-requests); reviewers accept them, run their
// profiles, compare runs and approve or reject a run (package
// sandbox/signoff), and an approved run's report is sealed.
//
// Every call but GET /openapi.json authenticates with HTTP Basic and an
// account's username and password; what the account may do is decided by
// package tenant, whose rules this package does not repeat: an operator
// does everything, a reviewer reads everything and changes nothing, a
// supplier works in its own supplier's sandboxes and cannot tell another
// supplier's sandbox from one that does not exist.
//
// Errors are RFC 9457 problem details (application/problem+json) whose
// type is a reference into the API's OpenAPI document. Syntax the API
// cannot read (malformed JSON, unknown fields or query parameters) is 400;
// a well-formed request that breaks a rule of the registry is 422 and
// names the field in errors[].field.
//
// The OpenAPI 3.1 document (openapi.json, embedded) describes every
// operation; a test keeps it and the mounted routes the same.
//
// It is not the registry or its rules (sandbox/tenant), not the request
// log (sandbox/requestlog), not the portal's web pages, and not the
// gateway's middleware: request ids, access logging and panics are the
// gateway's, which mounts this API under /admin/api.
package adminapi

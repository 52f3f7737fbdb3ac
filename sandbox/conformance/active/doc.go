// Package active is the active conformance suite: an ordered list of
// tests, each with a stable id ("active.error-404-operationoutcome"), a
// title, the specification section it cites and a severity, that talk
// HTTP to any FHIR R4 + SMART App Launch 2.x server and judge what it
// answers. It is to servers what package conformance's passive checks
// are to clients, and its runs are conformance.Runs (Active set), so
// they render as the same FHIR TestReport, JUnit XML and HTML.
//
// The tests, in the order they run:
//
//   - discovery: .well-known/smart-configuration (the fields SMART 2.x
//     requires), metadata (an R4 CapabilityStatement in JSON), and the
//     CapabilityStatement's SMART-on-FHIR security agreeing with it;
//   - backend services (with a client id and its private key, RS384 or
//     ES384): a client_credentials token with a private_key_jwt
//     assertion, then a replayed jti, an expired assertion, another
//     key's signature, alg none or HS256, and an aud other than the
//     token endpoint, each of which must be refused with RFC 6749 error
//     JSON;
//   - the FHIR API, read with that token: 401 with WWW-Authenticate
//     without one (a server that answers is open, and the test skips)
//     and with error="invalid_token" for a forged one; a read of each
//     declared core type (Patient, Observation, Encounter, Condition), a
//     sample of declared search parameters and includes, an undeclared
//     interaction refused; searchset Bundles, _count, next-link paging
//     and paging one patient's search to its total (next links are
//     followed only on the server's own origin, so no token leaves it);
//     404, 400 and 415 answered with an OperationOutcome;
//   - patient scopes: with a patient-level token (given, or got from an
//     HP Sandbox by walking its simulated login and consent as a browser
//     does), reads (history and $everything too), searches (compartment
//     and POST ones too), _include/_revinclude, chains and _has, and a
//     transaction or batch of reads must reveal nothing of another
//     patient (given, or found with the backend token): no resource of
//     it the backend token found, no other Patient, nothing whose
//     subject or patient is another Patient.
//
// A test that needs what an earlier one did not get (no token, no
// CapabilityStatement) is skipped with the reason. The suite writes
// nothing to the server: its requests are reads, searches (one posted
// as text/plain), a DELETE only of an id no server holds when delete is
// undeclared, a transaction and a batch of reads, and token requests.
//
// Profiles pick the tests: "server" (every one), "fhir-api" (discovery,
// the FHIR API and its errors, with a backend token to read a secured
// server) and "smart" (discovery, backend services, patient scopes).
// `sandbox conformance run --target URL …` runs a profile from the
// command line; Run runs one from Go.
//
// It is not the passive checks (package conformance) and not a load
// generator; it does not validate resources against profiles.
package active

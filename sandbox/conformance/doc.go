// Package conformance judges what a supplier's app, backend service or
// device integration sent to a sandbox: one registry of checks, each a
// plain value with a stable id, a title, the specification section it
// cites, a severity and an evaluation over Evidence; profiles that group
// them ("SMART app, patient-facing", "SMART backend service", …); runs
// that evaluate a profile's checks over a time window of one client's
// exchanges; and the run's report as a FHIR R4 TestReport, rendered as
// JSON, JUnit XML and a standalone HTML page. For a reviewer's sign-off it
// gives a report's canonical JSON and SHA-256 (ContentHash), the
// difference between two runs check by check (Diff), and SealedStore, a
// FHIR store that refuses to change or delete an approved report.
//
// Evidence is what the request log (package requestlog) kept of each
// exchange, including the authorization server's facts of its authorize
// and token requests (requestlog.OAuth), and, when a run has them, the
// connectors' messages with their bodies (connectors.Exchange), which the
// connectors' own checks judge through the same registry (FromConnector).
//
// The passive checks here read recorded traffic only: they never call the
// client or the server. What they judge is what was sent in a client's
// name: an authorization request is a browser's, unauthenticated by
// nature, so anyone can send one naming a client, and a refused token
// request names the client it claimed to be. A report therefore names the
// exchanges it rests on, for a reviewer to look at, and a run's window
// should cover the client's own test session. The package knows nothing of HTTP servers or gin;
// the admin API and the command line run it.
//
// It is not the request log, not the FHIR validator (a check reads the
// server's validation outcome from the log) and not the active test suite
// that probes a server (package active, whose runs are Runs with Active
// set and render through the same TestReport, JUnit and HTML).
package conformance

// Package connectors defines what a connector is and keeps the registry the
// gateway mounts them from. A connector is a door into a sandbox other than
// the FHIR REST API: an emulated welfare-technology hub (connectors/vkp) or
// a medical-device feed (connectors/mtu) that takes messages, writes FHIR
// resources into the sandbox and leaves evidence for the conformance checks.
//
// The core interface, Connector, only names the connector. What it can do
// is offered through further small interfaces that the registry asks for
// with a type assertion:
//
//   - RouteConnector: HTTP routes, as plain net/http handlers. The gateway
//     serves them below /connectors/{id}/ (default sandbox) and
//     /sandboxes/{sandbox}/connectors/{id}/, authenticated as the FHIR API
//     is, and passes the Caller in the request's context.
//   - ListenConnector: a listener of its own, such as MLLP over TCP for
//     device feeds, served until its context ends.
//   - CheckConnector: conformance checks that judge one Exchange. The
//     connector's Evidence runs them on every exchange it records, and
//     the request log keeps their verdicts (requestlog.Verdict), since it
//     keeps no bodies: a conformance run over the log reads them.
//   - Starter: work to start before serving and stop after.
//
// A connector that must do work on one key at a time (a retry racing its
// original) takes a lock from Deps.Locker: a LocalLocker of the process by
// default, one shared by the gateways of a deployment when it is set.
//
// A connector writes through an Engine (create, transaction), never to a
// fhirstore.Store directly, so that validation, access rules and
// transaction semantics are the FHIR API's own. It records every exchange
// through Evidence, into the same request log as the gateway's HTTP
// exchanges (package sandbox/requestlog); for routes the registry's
// handler does this by itself.
//
// This package does not import gin or know the gateway: it is net/http and
// net only. It does not parse HL7 v2 or validate profiles (those are their
// own packages), it does not run the conformance checks (a conformance
// engine consumes Checks), and it does not decide who may call a connector
// (the gateway authenticates; Caller says what it found).
package connectors

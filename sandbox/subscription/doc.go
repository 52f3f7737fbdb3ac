// Package subscription runs FHIR R4 Subscriptions: it follows the commits
// of a store (fhirstore.CommitReporter), decides which active subscriptions
// of the written resource's sandbox match it, and notifies them over the
// rest-hook and websocket channels. It does not import gin; the gateway
// mounts its websocket handler and wires it to the store.
//
// # Lifecycle
//
// Subscriptions are ordinary resources of a sandbox's store, written
// through the FHIR API like any other. The manager sees every committed
// write of a Subscription: one the manager did not write itself is a
// request, which it judges and turns `active`, or `error` with the reason in
// Subscription.error when its criteria, channel or endpoint are refused.
// Status `off` (written by the client) or a deletion stops it. Deliveries
// that fail set `error` (with the failure) and are retried with
// exponential back-off; a notification that still fails after
// Config.MaxAttempts switches the subscription `off`. A delivery that
// succeeds again returns it to `active`.
//
// # Matching
//
// Criteria mean exactly what a search means: a written resource matches
// when the criteria, with _id set to its id, find it in the store, run as
// a search under the confinement its creator was under. Only filters are
// allowed in criteria (no _count, _sort, _include, …) and a parameter the
// server does not know refuses the subscription rather than matching
// everything. Matching runs after the commit against the store, so it
// judges the resource as it is then: a resource changed again at once is
// judged (and, if it matches, notified) for each commit, with the payload
// of the version each commit wrote. Deletions notify nothing.
//
// A sandbox's subscriptions are taken up from the store at its first
// commit after the manager starts (notifications only follow writes);
// with Config.Shared they are not, and run on one gateway each instead
// (see Several gateways).
//
// Notifications follow commits: nothing of a rolled-back transaction is
// ever seen, and each subscription receives its notifications in commit
// order (one delivery at a time, retries included).
//
// # Confinement of the subscriber
//
// A subscription sees only its own sandbox's resources, and only what the
// token that created it could see: the manager keeps what the writer may
// read (the fhirstore.WriterScope the gateway declares for a token's
// writes of Subscriptions, over every type: a patient-level token's
// compartment, SMART v2 constraints, types it may not read at all; else
// the confinement the write ran under) with the subscription and matches
// under it. Criteria of a type the writer may not read are refused. A
// patient-level token cannot write a Subscription at all: the access guard
// confines its writes to its patient's compartment, which holds no
// Subscription. A confinement
// lives in memory only; the manager marks a confined subscription with the
// meta.tag ConfinedTag, and one it finds so marked after a restart is
// switched off (its confinement is unknown) with an error asking the
// client to write it again.
//
// # Rest-hook endpoints
//
// A supplier's subscription must not make the sandbox call arbitrary
// addresses (SSRF). EndpointPolicy is the operator's allow-list: an
// endpoint must be https on a listed host, or, when AllowLoopback is set
// (tests, a local development setup), http(s) on a loopback address. The
// dialer checks every address a name resolves to at connection time, so a
// listed name resolving to a loopback, link-local (cloud metadata),
// unspecified or — unless AllowPrivate — private address is refused too.
// Redirects are not followed. With no hosts listed and loopback not
// allowed, rest-hook subscriptions are refused.
//
// # Payloads
//
// channel.payload absent, or with the backport content extension set to
// "empty": POST to the endpoint with no body. "id-only": POST with no
// body and Content-Location naming the version that matched.
// application/fhir+json with "full-resource" (or no extension): PUT
// [endpoint]/[type]/[id] with the resource, as R4 describes. channel.header
// entries ("Name: value") are sent with every delivery; those that would
// change the framing (Host, Content-Length, …) are refused.
//
// # Websocket
//
// The R4 websocket protocol: a client connects to the sandbox's websocket
// URL (advertised in the CapabilityStatement), sends `bind <id>` for a
// websocket Subscription of that sandbox, is answered `bound <id>`, and
// receives `ping <id>` on each match. In a secured sandbox the client first
// authenticates with `bind-with-token <access token>` (or the upgrade
// request's Authorization header, Bearer or DPoP): the token must be valid
// and issued for that sandbox. A DPoP-bound token (RFC 9449) also needs
// the upgrade request to carry a DPoP header: a proof for htm GET, htu the
// websocket's public URL (the advertised one), ath the token's hash, the
// server's nonce (answered in the upgrade's DPoP-Nonce header and by any
// FHIR request); the gateway checks it as the resource server checks a
// request's, once (its jti is spent), when the token arrives. Without a
// valid proof the socket answers `error the token is DPoP-bound: <why>`
// and binds nothing. Errors are answered `error <text>`.
//
// # Several gateways
//
// The manager consumes its own gateway's commits through Committed (a
// fhirstore.CommitObserver) and, with Config.Shared, the other gateways'
// through Relayed. A subscription runs on exactly one live gateway at a
// time, the owner of its lease (Config.Leases; package peers keeps them
// in Redis, one key per subscription naming sandbox and id, whose value
// is the owner):
//
//   - A Subscription written through a gateway is judged there, under its
//     writer's confinement, and that gateway takes its lease from whoever
//     held it, then runs it. The previous owner stops at its next renewal
//     (or at once, on the relayed commit). A version switched off, deleted
//     or refused is not run anywhere: the writing gateway takes the lease
//     and lets it go, so the previous owner stops even if the relayed
//     commit never reaches it.
//   - The owner renews its leases every LeaseTTL/3, comparing the value so
//     that it only extends its own; a lease it finds taken, or gone, stops
//     the subscription there. It releases its leases (compare and delete)
//     when a subscription stops and at Close.
//   - Every Config.Sweep each gateway searches every sandbox
//     Config.Sandboxes lists for Subscriptions with status active, error
//     or requested and claims (SET NX) those no gateway holds a lease of.
//     It reads the claimed one back and starts it by the rules of a
//     restart (see Lifecycle and Confinement): as stored, in its own
//     sandbox, with no confinement, so one carrying the ConfinedTag is
//     switched off with an error asking the client to write it again; one
//     still requested (its gateway stopped before judging it) or refused
//     is written error and passed over until it changes. The sweep leaves
//     a version younger than the lease TTL to the gateway it was written
//     through, which judges it (a client may write status active itself).
//
// So when the gateway running a subscription stops, another takes it over
// within a sweep; when it dies without releasing, within LeaseTTL and a
// sweep. A taken-over subscription keeps its stored status and is notified
// of the commits from the takeover on: notifications of the commits in
// between (from the owner's end to the claim) are lost, as are those the
// old owner had queued and not yet delivered.
//
// When Redis does not answer, a gateway keeps running the subscriptions it
// holds (logging it), and runs one written through it without a lease,
// claiming it when Redis answers again. A gateway cut off from Redis for
// longer than the TTL while the others reach it may thus run a
// subscription another has claimed, until its renewal finds it taken.
//
// A sweep costs, per gateway: the sandbox listing, one indexed search of
// Subscription?status=active,error,requested per sandbox (a page of
// 500), and one pipelined Redis round trip claiming those found that this
// gateway does not run: about 4 ms for 100 sandboxes with one
// subscription each on SQLite (BenchmarkSweep). A renewal is one
// pipelined round trip for all of a gateway's leases.
package subscription

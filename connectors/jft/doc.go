// Package jft emulates the journaling service JFT (Journalføringstjenesten)
// that replaces the welfare-technology hub (VKP) for documents bound for
// the EHR's journal: a sender submits, the EHR side reads and acknowledges.
//
// Its API, below the connector's mount (/sandboxes/{sandbox}/connectors/jft):
//
//	POST /jft/v1/{Bundle|Composition|MedicationDispense}            → 202 Accepted, Location …/{id}
//	GET  /jft/v1/{Type}/{id}/$status                               → Parameters: status and timestamps
//	GET  /jft/v1/{Type}?_lastUpdated&_tag&_tag:not&_count&_cursor  → searchset Bundle (EHR side)
//	GET  /jft/v1/{Type}/{id}                                       → the submission (EHR side; marks it read)
//	POST /jft/v1/{Type}/{id}/$journaling-acknowledged              → Parameters (EHR side)
//	GET|PUT /settings                                              → the sandbox's fault settings
//
// Access is the national services': a HelseID-style token from the
// sandbox's authorization server, DPoP-bound and presented with a proof
// the gateway verifies, granting nhn:jft/api (package connectors/helseid
// judges it; refusals are OperationOutcomes with 401 or 403 and a DPoP
// challenge). A sandbox that is open admits callers without a token, as
// its FHIR API does.
//
// Submissions are at most 1 MB (413 with an OperationOutcome), FHIR R4 as
// the engine validates every write, and conform to the VKP profile they
// declare (connectors/vkp/spec). Every national identity number must be
// synthetic: checkIdentities is the test-data guard's one call site.
// A submission with a business identifier (system and value) is taken
// once: a retry answers 202 with the original's Location and stores
// nothing more. Submissions of one identifier, and reads and
// acknowledgements of one submission, are serialised with Deps.Locker:
// within the process by default, across the gateways of a deployment when
// they share one (redisstate.Locks, wired with --redis-url), so that a
// retry that reaches another gateway than its original is still taken
// once. When the lock cannot be had (Redis does not answer, or it stays
// held past its bound) the answer is 503 with Retry-After and nothing is
// stored.
//
// A submission is stored in the sandbox's FHIR store as itself, and its
// lifecycle lives in its meta, where the EHR side reads and filters it: a
// tag of TagSystem with the state (registered → read → journaled or
// failed) and the extension LifecycleExtension with the time of each step
// and a failure's reason. The EHR side lists what it has not acknowledged
// with _tag:not=TagSystem|journaled (and |failed), in order of last
// change, paged with the store's keyset cursor, which is opaque and
// neither repeats nor skips a submission under concurrent writes. Reading
// a registered submission marks it read; an acknowledgement is
// Parameters with outcome (journaled, the default for an empty body, or
// failed) and reason; repeating it answers as the first did, and a
// different one after it is 409.
//
// The sandbox's fault settings (GET|PUT /settings, vkp.Settings, kept
// with the sandbox's settings) throttle, make unavailable, challenge for a
// new DPoP nonce, deliver a submission twice (the feed then lists two
// submissions of one business identifier, which a reader de-duplicates)
// and shuffle the feed's pages within windows (a reader orders by the
// documents' own times).
//
// Every exchange is evidence (the connector Set records it), judged by
// the checks of the profiles "JFT sender" and "JFT reader (EHR side)".
//
// It is not the real service's transport (no message queue, no AMQP) and
// does not forward anything to an EHR.
package jft

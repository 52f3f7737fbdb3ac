// Package requestlog keeps the per-sandbox request log: one Entry for every
// exchange a supplier's app makes with a sandbox (time, client, method,
// path and query, status, latency, sizes, the OperationOutcome issues of an
// error and the scopes used). The log is evidence: the conformance checks
// judge it, and the portal and the admin API let suppliers and reviewers
// search it.
//
// Writing is kept off the request path. The gateway's middleware (package
// ginlog; this package knows nothing of HTTP servers, so that connectors
// record their messages the same way) builds an Entry and hands it to a
// Recorder, whose bounded queue never blocks a request:
// when the queue is full the entry is dropped and counted. The Recorder's
// one writer goroutine wakes every Options.Interval, or when the queue is
// half full, so that no request pays for waking it, and appends the queued
// entries to a Store in batches (Recorder.Flush waits for them). A Store
// keeps at most a fixed number of entries per sandbox, the newest;
// MemoryStore and SQLStore (an SQLite file, or the schema hps_requestlog
// of the PostgreSQL database that --store names, which gateways then
// share) pass the same suite (package storetest).
//
// SQLStore writes a batch as one row per sandbox (a chunk: the entries
// encoded together), in one transaction: a batch of one sandbox's entries
// is three statements and a commit however many entries it holds (up to
// DefaultBatchSize), and a few more when it trims the sandbox to its bound.
// That is what a multi-row INSERT or COPY would buy and a little more,
// since the entries are not rows the database indexes. The ids come from
// one counter row locked until the commit, so that appends, of one
// gateway or of several sharing a database, commit in the order of their
// ids and a cursor never has newer entries appear below it. On PostgreSQL
// the log's connections commit with synchronous_commit=off, as SQLite's
// file runs with synchronous=NORMAL: the log is evidence, not a record of
// care.
//
// The log never holds tokens or secrets: query parameters that carry
// credentials are redacted (see RedactQuery), and the client id and scopes
// come from the auth layer through a Note, not from the request. Of the
// headers it keeps only the Accept header and the names of the
// conditional-request headers sent. The authorization server adds what it
// learnt of a request to its endpoints (OAuth: PKCE method, the length and
// estimated entropy of state, whether redirect_uri and aud matched, grant
// type, client authentication, a client assertion's alg and lifetime):
// facts, never the credential, code, state or token itself.
//
// It is not an access log for operators (the gateway logs with slog), not
// a metrics system, and not an audit trail with guaranteed delivery: an
// entry may be dropped under overload, and Recorder.Dropped says how many.
package requestlog

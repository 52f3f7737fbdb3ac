// Package postgres is the server backend of fhirstore: PostgreSQL (15 and
// later) through pgx's database/sql driver, for gateways that share one
// database. Schema, queries and search are fhirstore/sqlstore's, the same
// as the embedded SQLite store's; this package chooses the dialect and
// opens the database. It passes the whole fhirstore/storetest suite.
//
// It is selected by a postgres:// URL as the store setting (--store,
// HPS_STORE); SQLite in the data directory stays the default.
//
// # What differs from SQLite
//
//   - Text columns are TEXT COLLATE "C": they compare by bytes as SQLite's
//     do, whatever the database's default collation, so that sorts page in
//     the same order on either engine and the starts-with ranges of string
//     and URI search (a value up to value+U+10FFFF) hold; a linguistic
//     collation may sort U+10FFFF anywhere.
//   - The sort keys of idx_sort, numbers or text by parameter in SQLite's
//     untyped columns, are text here, numbers and dates in an encoding
//     whose byte order is their numeric order (sqlstore.Dialect.TextSortKeys).
//   - idx_token is a table clustered on its key in SQLite; here its key
//     is a primary key constraint of the same columns, which migration 7
//     replaced (code, then rid) where SQLite writes the table again.
//   - Joins that SQLite is told to drive from the left (CROSS JOIN) are
//     plain joins; PostgreSQL's planner orders them. A filter that only
//     tests membership (SQLite's "+rid IN") is written as NOT … NOT IN,
//     which PostgreSQL keeps a hashed subquery instead of making a semi-join
//     of it: a search of 200 parameters otherwise spends a minute planning.
//   - Migrations run in one transaction under pg_advisory_xact_lock, so
//     gateways starting at once against a new database migrate it once;
//     the others wait and find the schema current.
//
// # Writes: per request, not group commit
//
// Group commit (sqlstore's groupcommit.go) exists for SQLite's single
// writer. PostgreSQL has many writers under MVCC, and there each single
// write runs in a transaction of its own on its caller's goroutine
// (sqlstore.Dialect.WritePerRequest); sqlstore.Options.WritePerRequest can
// choose group commit instead. Measured with 16 concurrent creators
// (BenchmarkCreate_Concurrent16, -benchtime=2s, a shared 2-core machine),
// per request was ahead in each of three runs: 364 against 271, 1,479
// against 1,039 and 1,364 against 1,223 creates/s, with 3.5 to 7.7 writes
// in a group. A group's writes queue on one connection while the server
// could run them side by side, and a sandbox's writes are seldom so many
// that commits are the bottleneck.
//
// Correctness beside other gateways' transactions:
//
//   - A write reads the row it replaces with SELECT … FOR UPDATE, so two
//     If-Match updates of one version cannot both succeed.
//   - A create whose id another gateway's concurrent create took fails
//     (ErrExists) as on SQLite; an update that creates finds the other's
//     row after it committed and replaces it.
//   - Store.Tx runs SERIALIZABLE: its reads decide its writes (a
//     conditional create searches first), which READ COMMITTED would let
//     two gateways both act on.
//   - A serialization failure or deadlock (SQLSTATE 40001, 40P01) rolls the
//     write back and the store runs it again, up to five times.
//
// # Statistics
//
// The planner chooses indexes by statistics, which autovacuum refreshes
// only once a minute; a table filled since has none, and a read by id then
// goes through the index of its type. The store runs ANALYZE itself after
// commits that wrote 1,000 versions or a quarter of those analyzed
// (sqlstore.Dialect.Analyze). A transaction's own writes are not committed
// for it to see, so a large transaction (an atomic import) runs ANALYZE
// itself after its first 1,000 versions and every 5,000 after: 20,000
// upserts in one Tx took 92 s without (the look-ups slowing with every row)
// and 10 s with.
//
// # Bulk loads: COPY
//
// A bulk load into an empty sandbox (fhirstore.BulkLoader: sandbox seed,
// sandbox import) inserts resources 64 to a statement, whose RETURNING
// gives their rids, and streams their index rows into each index table with
// COPY (sqlstore.Dialect.CopyFrom, bulkload.go) rather than INSERTs of 16
// rows, each a round trip; COPY has no ON CONFLICT, so the rows a resource
// repeats are left out first. Its transactions run at the default isolation
// on one connection, as single writes do (the insert skips an id that is
// there, which is then updated FOR UPDATE), and refresh the statistics of
// the resource table alone, once, for the look-ups of a repeated id:
// analyzing every table inside them, 5 times per 20,000 resources, had
// taken most of the load's time. Measured back to
// back on the shared 2-core machine (BenchmarkLoadResources/bulk,
// -benchtime=20000x, two runs each): 1,643 and 1,520 resources/s before,
// 2,186 and 2,088 after; sandbox seed --patients 3000 (64,168 resources,
// a fresh database each, alternating) 1,449 and 2,559/s before, 5,777 and
// 5,164/s after, the seed process taking 3.6 instead of 8 CPU-s; of
// --patients 9500 (200,720 resources) 1,744/s before and 2,776/s after.
//
// # Tests and figures
//
// The tests run against a real server (internal/testpg: a Docker
// container, else the installed PostgreSQL started by the test binary),
// a fresh database each. The benchmarks are SQLite's, on the same data in
// the same run (fhirstore/sqlite and this package: storetest's core
// benchmarks; fhirstore/sqlstore: BenchmarkSearch and
// BenchmarkSearch_SortFirstPage on both). On a shared 2-core machine,
// PostgreSQL 15 on loopback with synchronous_commit=off, 100,000
// resources: loading in transactions of 1,000 about 1,900/s (SQLite
// 5,000); batched creates about 1,500/s (3,000); reads by id 49 µs (17);
// the typical searches of BenchmarkSearch at p50 0.3 to 2.1 ms (0.2 to
// 1.8), within 2× of SQLite's each; first pages sorted by each kind of
// parameter 0.7 to 1.0 ms (0.4 to 0.7). Every statement is a round trip
// to another process where SQLite is a call.
//
// It is not a place for other shared state (tenants, request logs): those
// have stores of their own.
package postgres

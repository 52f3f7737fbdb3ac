// Package exportjobs keeps the Bulk Data export jobs of the FHIR API and
// their NDJSON files, so that any gateway of a deployment answers a job's
// status, files and deletion, whichever gateway runs it.
//
// A Store holds jobs: their request, state, progress, transaction time,
// error, owner (the gateway running the job) with its heartbeat, and
// creation and expiry times, and the files a job wrote. Memory keeps them
// in one process (jobs in memory, files in a directory), which is what a
// single gateway needs; SQLStore keeps them in an SQL database (an SQLite
// file beside the registry, OpenSQLite, or a schema of the PostgreSQL
// database the gateways share, OpenPostgres), files as chunks of rows
// written while the export runs, so that no file is held in memory whole.
// Every Store passes one suite (store_test.go, run against each).
//
// The gateway that runs a job writes its progress and heartbeat with
// Save, which succeeds only while the job is its own and running: a job
// deleted or given up elsewhere stops its runner at the next beat. A job
// whose owner stopped beating (the gateway crashed or was stopped) is not
// run again: a gateway that polls it marks it failed with Abandon, and the
// client learns from the status that it must start the export anew. A
// restart would read a different moment of the sandbox under the
// transaction time already reported, and exports of synthetic sandboxes
// are quick to ask again.
//
// Jobs expire (Expires, 24 hours after they finish or were given up, or
// after they started while running); Sweep deletes expired jobs and their
// files, and a job never outlives its expiry in Job.
//
// It knows nothing of HTTP: package sandbox/fhirapi serves the Bulk Data
// endpoints over it.
package exportjobs

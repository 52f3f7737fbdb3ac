// Package tenant keeps the sandboxes suppliers test in, the apps they
// register in them and the accounts that sign in to the portal and the
// admin API: the rules of who may see and change what, and the work behind
// create, reset and delete (seeding a sandbox's synthetic patients, erasing
// its data), over a Registry that stores them: SQLRegistry, in an SQLite file
// beside the FHIR store or in the PostgreSQL database of --store (schema
// hps_tenant, see OpenPostgresRegistry), or another backend that passes
// the suite in sandbox/tenant/tenanttest.
//
// It implements smart.ClientStore over the registered apps and serves RFC
// 7591 dynamic client registration, guarded by the sandbox's settings and
// by the initial access tokens its owner issues. It checks passwords, with
// sign-in limits (sandbox/throttle) against guessing. It keeps suppliers'
// requests for test of their products (submitted, accepted into one of
// their sandboxes, approved or rejected, or withdrawn) with their runs,
// decisions and history, and the sealed report of an approved run, which
// no write may change and a reset writes back. It is not the FHIR
// data (fhirstore) and not HTTP routing of the admin API or the portal
// (sandbox/adminapi, sandbox/portal), which call it.
//
// # Gateways sharing a registry
//
// On PostgreSQL several gateways open one registry. Its migrations run
// under an advisory lock (internal/pgschema), so that gateways starting at
// once on an empty database all start; one of them creates the default
// sandbox and the operator, the others find them. Every rule that two
// writers could break is kept by the database, not by the process:
// unique ids, client ids, usernames and identities (ErrExists to all but
// one of concurrent creates), a test request's version (ErrState to all
// but one of concurrent updates from one version), one seal per run, and
// the uses of an initial access token. What a Service keeps in memory is
// its own: a remembered password is used only while the registry still
// holds the account with the hash it was checked against, so a password
// changed or an account deleted through another gateway stops working at
// once; the sign-in limits count the guesses each gateway sees.
package tenant

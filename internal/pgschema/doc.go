// Package pgschema opens the PostgreSQL stores of the gateway other than
// the FHIR store (the tenant registry, the request log), each in a schema
// of its own in the one database that --store (HPS_STORE) names, and
// brings that schema to the newest version of its migrations.
//
// A store's connections have its schema as their search_path, so that its
// queries name tables without a schema, as they do on SQLite. The FHIR
// store (fhirstore/postgres) keeps its tables in the database's default
// schema (public); the registry's are in hps_tenant, the request log's in
// hps_requestlog. What exists is not created again, so the gateways'
// role needs the right to create schemas and tables only while there is
// a migration to apply: an operator may migrate with an owner's role and
// run the gateways with one that may only use the tables and their
// sequences.
//
// Migrations are numbered by their place in a list and never edited once
// released: a change of schema is a new entry at the end. Migrate applies
// those not yet applied in one transaction under an advisory lock
// (pg_advisory_xact_lock, keyed by the schema's name), so that gateways
// starting at once against an empty database create the schema once: the
// first migrates, the others wait for its commit and find it current. A
// database migrated by a newer binary (more versions than this one knows)
// is refused rather than written with an older idea of its tables.
//
// It is not a migration framework: no down migrations, no checksums, no
// files; and not for tests' servers (internal/testpg).
package pgschema

package tenant

import (
	"context"
	"fmt"

	"hpsandbox/internal/pgschema"
)

// PostgresSchema is the schema of the registry's tables in the database
// that --store names, beside the FHIR store's (public) and the request
// log's.
const PostgresSchema = "hps_tenant"

// postgresMigrations are the registry's schema versions in PostgreSQL,
// applied in order by pgschema; a released entry is never edited, a
// change is a new one. The tables are SQLite's: text compares by bytes
// (COLLATE "C") so that lists come in the same order on either engine,
// times are milliseconds since 1970, and the tables listed in order of
// insertion number their rows in a column rowid, as SQLite does.
var postgresMigrations = []string{
	`CREATE TABLE sandbox (
		id TEXT COLLATE "C" PRIMARY KEY,
		name TEXT NOT NULL,
		supplier TEXT COLLATE "C" NOT NULL,
		settings TEXT NOT NULL,
		seed_patients BIGINT NOT NULL,
		seed BIGINT NOT NULL,
		created BIGINT NOT NULL,
		reset_at BIGINT NOT NULL
	);
	CREATE INDEX sandbox_supplier ON sandbox (supplier);
	CREATE TABLE app (
		client_id TEXT COLLATE "C" PRIMARY KEY,
		sandbox TEXT COLLATE "C" NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,
		body TEXT NOT NULL,
		secret_hash BYTEA
	);
	CREATE INDEX app_sandbox ON app (sandbox);
	CREATE TABLE account (
		username TEXT COLLATE "C" PRIMARY KEY,
		body TEXT NOT NULL,
		password_hash BYTEA,
		oidc_key TEXT COLLATE "C" UNIQUE
	);
	CREATE TABLE registration_token (
		rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
		id TEXT COLLATE "C" PRIMARY KEY,
		sandbox TEXT COLLATE "C" NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,
		hash BYTEA NOT NULL UNIQUE,
		body TEXT NOT NULL,
		expires BIGINT NOT NULL,
		max_uses BIGINT NOT NULL,
		uses BIGINT NOT NULL
	);
	CREATE INDEX registration_token_sandbox ON registration_token (sandbox);
	CREATE TABLE test_request (
		rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
		id TEXT COLLATE "C" PRIMARY KEY,
		supplier TEXT COLLATE "C" NOT NULL,
		version BIGINT NOT NULL,
		body TEXT NOT NULL
	);
	CREATE INDEX test_request_supplier ON test_request (supplier);
	CREATE TABLE sealed_report (
		rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
		sandbox TEXT COLLATE "C" NOT NULL,
		run TEXT COLLATE "C" NOT NULL,
		request TEXT NOT NULL,
		sha256 TEXT NOT NULL,
		report BYTEA NOT NULL,
		at BIGINT NOT NULL,
		PRIMARY KEY (sandbox, run)
	)`,
	// The operator's server-wide settings, by name.
	`CREATE TABLE setting (
		name TEXT COLLATE "C" PRIMARY KEY,
		value TEXT NOT NULL
	)`,
}

// OpenPostgresRegistry opens the registry in the PostgreSQL database at
// dsn (a postgres:// URL), in the schema PostgresSchema, creating or
// migrating its tables first; gateways opening it at once migrate it
// once. Gateways sharing the database share the registry.
func OpenPostgresRegistry(ctx context.Context, dsn string) (*SQLRegistry, error) {
	// Writes are rare and small, reads by client id on token requests
	// frequent and short: a few connections suffice.
	db, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: PostgresSchema, Migrations: postgresMigrations, MaxConns: 8})
	if err != nil {
		return nil, fmt.Errorf("tenant: registry: %w", err)
	}
	return &SQLRegistry{db: conn{DB: db, numbered: true}}, nil
}

package requestlog

import (
	"context"
	"database/sql"
	"fmt"

	"hpsandbox/internal/pgschema"
)

// PostgresSchema is the schema of the log's tables in the database that
// --store names, beside the FHIR store's (public) and the tenant
// registry's.
const PostgresSchema = "hps_requestlog"

// postgresMigrations are the log's schema versions in PostgreSQL, applied
// in order by pgschema; a released entry is never edited, a change is a
// new one. The tables are SQLite's (see SQLStore), rowid a generated
// identity.
var postgresMigrations = []string{
	`CREATE TABLE chunks (
		rowid   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		sandbox TEXT COLLATE "C" NOT NULL,
		last_id BIGINT NOT NULL, -- the newest entry's id
		ids     BYTEA  NOT NULL, -- the entries' ids, uvarint deltas
		body    BYTEA  NOT NULL  -- the entries, a JSON array of storedEntry, oldest first
	);
	CREATE INDEX chunks_sandbox_last ON chunks (sandbox, last_id);
	CREATE TABLE sandboxes (
		sandbox TEXT COLLATE "C" PRIMARY KEY,
		visible BIGINT NOT NULL, -- entries at or above floor
		floor   BIGINT NOT NULL  -- entries below it are beyond the bound
	);
	CREATE TABLE meta (
		k TEXT PRIMARY KEY,
		v BIGINT NOT NULL
	);
	INSERT INTO meta (k, v) VALUES ('last_id', 0)`,
}

// OpenPostgres opens the log in the PostgreSQL database at dsn (a
// postgres:// URL), in the schema PostgresSchema, creating or migrating
// its tables first, and keeps the newest perSandboxMax entries of each
// sandbox (DefaultPerSandboxMax if it is not positive). Gateways sharing
// the database share the log: their appends take ids from one counter,
// in turn.
func OpenPostgres(ctx context.Context, dsn string, perSandboxMax int) (*SQLStore, error) {
	if perSandboxMax <= 0 {
		perSandboxMax = DefaultPerSandboxMax
	}
	// As with SQLite's synchronous=NORMAL: the log is evidence, not a
	// record of care, and losing the last appends in a crash of the
	// server is acceptable where waiting for each commit's flush is not.
	db, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: PostgresSchema, Migrations: postgresMigrations, MaxConns: 4,
		Params: map[string]string{"synchronous_commit": "off"}})
	if err != nil {
		return nil, fmt.Errorf("requestlog: %w", err)
	}
	return &SQLStore{db: conn{DB: db, numbered: true, snapshot: sql.LevelRepeatableRead}, bound: perSandboxMax}, nil
}

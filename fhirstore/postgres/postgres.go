package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"hpsandbox/fhirstore/sqlstore"
)

// migrationLockKey is the advisory lock that keeps the schema migrations
// of gateways starting at once apart (any fixed number; "hpsf" in ASCII).
const migrationLockKey = 0x68707366

// Dialect is PostgreSQL's flavour of the shared schema. Text compares by
// bytes (COLLATE "C"), as SQLite's does, whatever the database's default
// collation: the starts-with ranges of search end at U+10FFFF, which a
// linguistic collation may not sort last, and sorts must page the same on
// either engine.
var Dialect = sqlstore.Dialect{
	Name:                 "postgres",
	NumberedPlaceholders: true,
	Blob:                 "BYTEA",
	AutoID:               "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	Text:                 `TEXT COLLATE "C"`,
	TextSortKeys:         true,
	MigrationLock:        fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
	RowLock:              " FOR UPDATE",
	InsertReturning:      true,
	Analyze:              "ANALYZE",
	WritePerRequest:      true,
	TxIsolation:          sql.LevelSerializable,
	Retryable:            retryable,
	CopyFrom:             copyFrom,
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as libpq reads them), brings its schema to the newest version
// and returns the store.
func Open(ctx context.Context, dsn string, opts sqlstore.Options) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Searches run beside the one group transaction of writes; more
	// connections than that only queue inside the server.
	db.SetMaxOpenConns(4 * runtime.GOMAXPROCS(0))
	db.SetMaxIdleConns(4 * runtime.GOMAXPROCS(0))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	// Reads by id have connections of their own (Options.Lookups), so
	// that they never wait for one behind searches and writes.
	lookups, err := sql.Open("pgx", dsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	lookups.SetMaxOpenConns(2 * runtime.GOMAXPROCS(0))
	lookups.SetMaxIdleConns(2 * runtime.GOMAXPROCS(0))
	opts.Lookups = lookups
	s, err := sqlstore.New(ctx, db, db, Dialect, opts)
	if err != nil {
		lookups.Close()
		db.Close()
		return nil, err
	}
	return s, nil
}

// retryable reports whether err ended a transaction that can simply be
// run again: a serialization failure or a deadlock with another
// gateway's transaction.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

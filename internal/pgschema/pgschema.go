package pgschema

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// lockClass is the first key of the two-key advisory lock of migrations
// ("hpss" in ASCII); the second is hashtext of the schema's name, so
// that stores in different schemas migrate side by side.
const lockClass = 0x68707373

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Store describes a store's schema and its connections.
type Store struct {
	// Schema is the name of the store's schema: lower case letters,
	// digits and underscores.
	Schema string
	// Migrations are the schema's versions, in order (see Migrate).
	Migrations []string
	// MaxConns bounds the open connections; 0 leaves them unbounded.
	MaxConns int
	// Params are further run-time parameters of every connection
	// (synchronous_commit, say).
	Params map[string]string
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as libpq reads them) with st.Schema as the search_path of every
// connection, and migrates the schema (see Migrate).
func Open(ctx context.Context, dsn string, st Store) (*sql.DB, error) {
	if !validName.MatchString(st.Schema) {
		return nil, fmt.Errorf("pgschema: %q is not a schema name this package makes", st.Schema)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgschema: %w", err)
	}
	for k, v := range st.Params {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = st.Schema
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(st.MaxConns)
	db.SetMaxIdleConns(max(st.MaxConns, 2))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgschema: connect: %w", err)
	}
	if err := Migrate(ctx, db, st.Schema, st.Migrations); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate creates schema if it is missing and applies the migrations not
// yet applied to it, in order, in one transaction under the schema's
// advisory lock; its table schema_version holds how many are applied.
// Each migration is one or more SQL statements run with schema as the
// search_path.
func Migrate(ctx context.Context, db *sql.DB, schema string, migrations []string) error {
	if !validName.MatchString(schema) {
		return fmt.Errorf("pgschema: %q is not a schema name this package makes", schema)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	defer tx.Rollback()
	// CREATE … IF NOT EXISTS alone is not safe against a concurrent
	// create (a unique violation in the catalogue): the lock comes first.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClass, schema); err != nil {
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	// What exists is not created again, so that a role without the
	// right to create schemas or tables starts on a database migrated
	// already.
	var haveSchema, haveVersion bool
	err = tx.QueryRowContext(ctx, `SELECT to_regnamespace($1) IS NOT NULL, to_regclass($1 || '.schema_version') IS NOT NULL`, schema).
		Scan(&haveSchema, &haveVersion)
	if err != nil {
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	var steps []string
	if !haveSchema {
		steps = append(steps, `CREATE SCHEMA `+schema)
	}
	steps = append(steps, `SET LOCAL search_path TO `+schema)
	if !haveVersion {
		steps = append(steps, `CREATE TABLE schema_version (version INTEGER NOT NULL)`)
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
		}
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case err == sql.ErrNoRows:
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
		}
	case err != nil:
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("pgschema: schema %s is at version %d, newer than this binary's %d; use a newer binary or another database", schema, v, len(migrations))
	}
	if v == len(migrations) {
		return tx.Commit()
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("pgschema: %s migration %d: %w", schema, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = $1`, len(migrations)); err != nil {
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgschema: migrate %s: %w", schema, err)
	}
	return nil
}

// Version returns how many migrations schema has applied; an error if it
// was never migrated.
func Version(ctx context.Context, db *sql.DB, schema string) (int, error) {
	if !validName.MatchString(schema) {
		return 0, fmt.Errorf("pgschema: %q is not a schema name this package makes", schema)
	}
	var v int
	err := db.QueryRowContext(ctx, `SELECT version FROM `+schema+`.schema_version`).Scan(&v)
	return v, err
}

// Bind numbers the ? placeholders of q ($1, $2, …), as PostgreSQL wants
// them, when numbered; queries written once for SQLite and PostgreSQL use
// ?, and none of them has a ? other than a placeholder.
func Bind(q string, numbered bool) string {
	if !numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Millis is t as the stores written for SQLite and PostgreSQL keep an
// instant, Unix milliseconds; 0 for the zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the instant Millis kept, in UTC; the zero time for 0.
func FromMillis(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

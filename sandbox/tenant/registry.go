package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"hpsandbox/internal/pgschema"
	"hpsandbox/sqlitefile"
)

// FileName is the registry's database file inside a data directory.
const FileName = "tenants.db"

// SQLRegistry is the Registry in an SQL database: an SQLite file
// (tenants.db beside the FHIR store, OpenSQLiteRegistry) or a PostgreSQL
// schema (OpenPostgresRegistry). Sandboxes, apps, initial access tokens,
// accounts, test requests and sealed reports are a table each, the apps
// and tokens removed with their sandbox by foreign key cascade. The
// queries are the same on both engines (written with ? placeholders,
// numbered for PostgreSQL); the schemas differ only in their types, and
// PostgreSQL's tables that are listed in order of insertion have a column
// rowid of their own, standing for SQLite's.
type SQLRegistry struct {
	db   conn
	path string
}

// SQLiteRegistry is the name SQLRegistry had when SQLite was its only
// engine; code written against it still compiles.
type SQLiteRegistry = SQLRegistry

// conn is the database with the registry's queries written for its
// engine.
type conn struct {
	*sql.DB
	numbered bool
}

func (c conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, pgschema.Bind(q, c.numbered), args...)
}

func (c conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.DB.QueryContext(ctx, pgschema.Bind(q, c.numbered), args...)
}

func (c conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.DB.QueryRowContext(ctx, pgschema.Bind(q, c.numbered), args...)
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS sandbox (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		supplier TEXT NOT NULL,
		settings TEXT NOT NULL,
		seed_patients INTEGER NOT NULL,
		seed INTEGER NOT NULL,
		created INTEGER NOT NULL,
		reset_at INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS app (
		client_id TEXT PRIMARY KEY,
		sandbox TEXT NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,
		body TEXT NOT NULL,
		secret_hash BLOB
	)`,
	`CREATE INDEX IF NOT EXISTS app_sandbox ON app (sandbox)`,
	`CREATE TABLE IF NOT EXISTS account (
		username TEXT PRIMARY KEY,
		body TEXT NOT NULL,
		password_hash BLOB,
		oidc_key TEXT UNIQUE
	)`,
	registrationTokenSchema,
	`CREATE INDEX IF NOT EXISTS registration_token_sandbox ON registration_token (sandbox)`,
	testRequestSchema,
	`CREATE INDEX IF NOT EXISTS test_request_supplier ON test_request (supplier)`,
	sealedReportSchema,
	settingSchema,
}

var _ Registry = (*SQLRegistry)(nil)

// OpenSQLiteRegistry opens (creating if needed) the registry file at path,
// or an in-memory registry when path is empty.
func OpenSQLiteRegistry(ctx context.Context, path string) (*SQLRegistry, error) {
	// Writes are rare and small: one connection serialises them without
	// SQLITE_BUSY, and keeps an in-memory registry alive.
	db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{ForeignKeys: true, MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("tenant: registry: %w", err)
	}
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("tenant: schema of %s: %w", path, err)
		}
	}
	return &SQLRegistry{db: conn{DB: db}, path: path}, nil
}

func (r *SQLRegistry) Close() error { return r.db.Close() }

// isUnique reports whether err is a violation of a primary key or a
// unique constraint, on either engine.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
}

// --- sandboxes

// CreateSandbox implements SandboxStore.
func (r *SQLRegistry) CreateSandbox(ctx context.Context, sb *Sandbox) error {
	settings, _ := json.Marshal(sb.Settings)
	_, err := r.db.ExecContext(ctx, `INSERT INTO sandbox (id, name, supplier, settings, seed_patients, seed, created, reset_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sb.ID, sb.Name, sb.Supplier, string(settings), sb.SeedPatients, sb.Seed, pgschema.Millis(sb.Created), pgschema.Millis(sb.ResetAt))
	if isUnique(err) {
		return fmt.Errorf("%w: sandbox %q", ErrExists, sb.ID)
	}
	return err
}

// UpdateSandbox implements SandboxStore.
func (r *SQLRegistry) UpdateSandbox(ctx context.Context, sb *Sandbox) error {
	settings, _ := json.Marshal(sb.Settings)
	res, err := r.db.ExecContext(ctx, `UPDATE sandbox SET name = ?, settings = ?, seed_patients = ?, seed = ?, reset_at = ? WHERE id = ?`,
		sb.Name, string(settings), sb.SeedPatients, sb.Seed, pgschema.Millis(sb.ResetAt), sb.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: sandbox %q", ErrNotFound, sb.ID)
	}
	return nil
}

const sandboxCols = `id, name, supplier, settings, seed_patients, seed, created, reset_at`

func scanSandbox(row interface{ Scan(...any) error }) (*Sandbox, error) {
	var sb Sandbox
	var settings string
	var created, reset int64
	if err := row.Scan(&sb.ID, &sb.Name, &sb.Supplier, &settings, &sb.SeedPatients, &sb.Seed, &created, &reset); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &sb.Settings); err != nil {
		return nil, fmt.Errorf("tenant: settings of sandbox %s: %w", sb.ID, err)
	}
	sb.Created, sb.ResetAt = pgschema.FromMillis(created), pgschema.FromMillis(reset)
	return &sb, nil
}

// Sandbox implements SandboxStore.
func (r *SQLRegistry) Sandbox(ctx context.Context, id string) (*Sandbox, error) {
	sb, err := scanSandbox(r.db.QueryRowContext(ctx, `SELECT `+sandboxCols+` FROM sandbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: sandbox %q", ErrNotFound, id)
	}
	return sb, err
}

// Sandboxes lists sandboxes by id, those of supplier only when it is not
// empty.
func (r *SQLRegistry) Sandboxes(ctx context.Context, supplier string) ([]*Sandbox, error) {
	q, args := `SELECT `+sandboxCols+` FROM sandbox ORDER BY id`, []any{}
	if supplier != "" {
		q, args = `SELECT `+sandboxCols+` FROM sandbox WHERE supplier = ? ORDER BY id`, []any{supplier}
	}
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Sandbox
	for rows.Next() {
		sb, err := scanSandbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sb)
	}
	return out, rows.Err()
}

// DeleteSandbox removes the sandbox and, by cascade, its apps and initial
// access tokens.
func (r *SQLRegistry) DeleteSandbox(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM sandbox WHERE id = ?`, id)
	return err
}

// --- apps

// CreateApp implements AppStore.
func (r *SQLRegistry) CreateApp(ctx context.Context, a *App) error {
	body, _ := json.Marshal(a)
	_, err := r.db.ExecContext(ctx, `INSERT INTO app (client_id, sandbox, body, secret_hash) VALUES (?, ?, ?, ?)`,
		a.ClientID, a.Sandbox, string(body), a.SecretHash)
	if isUnique(err) {
		return fmt.Errorf("%w: app %q", ErrExists, a.ClientID)
	}
	return err
}

func scanApp(row interface{ Scan(...any) error }) (*App, error) {
	var body string
	var hash []byte
	if err := row.Scan(&body, &hash); err != nil {
		return nil, err
	}
	var a App
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("tenant: stored app: %w", err)
	}
	a.SecretHash = hash
	return &a, nil
}

// App implements AppStore.
func (r *SQLRegistry) App(ctx context.Context, clientID string) (*App, error) {
	a, err := scanApp(r.db.QueryRowContext(ctx, `SELECT body, secret_hash FROM app WHERE client_id = ?`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: app %q", ErrNotFound, clientID)
	}
	return a, err
}

// Apps implements AppStore.
func (r *SQLRegistry) Apps(ctx context.Context, sandbox string) ([]*App, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT body, secret_hash FROM app WHERE sandbox = ? ORDER BY client_id`, sandbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteApp implements AppStore.
func (r *SQLRegistry) DeleteApp(ctx context.Context, sandbox, clientID string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM app WHERE client_id = ? AND sandbox = ?`, clientID, sandbox)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: app %q", ErrNotFound, clientID)
	}
	return nil
}

// --- accounts

func oidcKey(a *Account) any {
	if a.OIDCIssuer == "" || a.OIDCSubject == "" {
		return nil
	}
	return strings.TrimRight(a.OIDCIssuer, "/") + " " + a.OIDCSubject
}

// CreateAccount implements AccountStore.
func (r *SQLRegistry) CreateAccount(ctx context.Context, a *Account) error {
	body, _ := json.Marshal(a)
	_, err := r.db.ExecContext(ctx, `INSERT INTO account (username, body, password_hash, oidc_key) VALUES (?, ?, ?, ?)`,
		a.Username, string(body), a.PasswordHash, oidcKey(a))
	if isUnique(err) {
		return fmt.Errorf("%w: account %q or its OpenID Connect identity", ErrExists, a.Username)
	}
	return err
}

// UpdateAccount implements AccountStore.
func (r *SQLRegistry) UpdateAccount(ctx context.Context, a *Account) error {
	body, _ := json.Marshal(a)
	res, err := r.db.ExecContext(ctx, `UPDATE account SET body = ?, password_hash = ?, oidc_key = ? WHERE username = ?`,
		string(body), a.PasswordHash, oidcKey(a), a.Username)
	if isUnique(err) {
		return fmt.Errorf("%w: the OpenID Connect identity of %q belongs to another account", ErrExists, a.Username)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: account %q", ErrNotFound, a.Username)
	}
	return nil
}

func scanAccount(row interface{ Scan(...any) error }) (*Account, error) {
	var body string
	var hash []byte
	if err := row.Scan(&body, &hash); err != nil {
		return nil, err
	}
	var a Account
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("tenant: stored account: %w", err)
	}
	a.PasswordHash = hash
	return &a, nil
}

func (r *SQLRegistry) account(ctx context.Context, where string, arg any) (*Account, error) {
	a, err := scanAccount(r.db.QueryRowContext(ctx, `SELECT body, password_hash FROM account WHERE `+where+` = ?`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// Account returns the account username.
func (r *SQLRegistry) Account(ctx context.Context, username string) (*Account, error) {
	return r.account(ctx, "username", username)
}

// AccountByOIDC returns the account linked to subject at issuer.
func (r *SQLRegistry) AccountByOIDC(ctx context.Context, issuer, subject string) (*Account, error) {
	return r.account(ctx, "oidc_key", oidcKey(&Account{OIDCIssuer: issuer, OIDCSubject: subject}))
}

// Accounts implements AccountStore.
func (r *SQLRegistry) Accounts(ctx context.Context) ([]*Account, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT body, password_hash FROM account ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAccount implements AccountStore.
func (r *SQLRegistry) DeleteAccount(ctx context.Context, username string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM account WHERE username = ?`, username)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: account %q", ErrNotFound, username)
	}
	return nil
}

// --- initial access tokens

const registrationTokenSchema = `CREATE TABLE IF NOT EXISTS registration_token (
		id TEXT PRIMARY KEY,
		sandbox TEXT NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,
		hash BLOB NOT NULL UNIQUE,
		body TEXT NOT NULL,
		expires INTEGER NOT NULL,
		max_uses INTEGER NOT NULL,
		uses INTEGER NOT NULL
	)`

// CreateRegistrationToken implements RegistrationTokenStore.
func (r *SQLRegistry) CreateRegistrationToken(ctx context.Context, t *RegistrationToken, hash []byte) error {
	body, _ := json.Marshal(t)
	_, err := r.db.ExecContext(ctx, `INSERT INTO registration_token (id, sandbox, hash, body, expires, max_uses, uses)
		VALUES (?, ?, ?, ?, ?, ?, 0)`, t.ID, t.Sandbox, hash, string(body), pgschema.Millis(t.Expires), t.MaxUses)
	if isUnique(err) {
		return fmt.Errorf("%w: initial access token %q", ErrExists, t.ID)
	}
	return err
}

func scanRegistrationToken(row interface{ Scan(...any) error }) (*RegistrationToken, error) {
	var body string
	var uses int
	if err := row.Scan(&body, &uses); err != nil {
		return nil, err
	}
	var t RegistrationToken
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("tenant: stored initial access token: %w", err)
	}
	t.Uses = uses
	return &t, nil
}

// RegistrationTokenByHash implements RegistrationTokenStore.
func (r *SQLRegistry) RegistrationTokenByHash(ctx context.Context, hash []byte) (*RegistrationToken, error) {
	t, err := scanRegistrationToken(r.db.QueryRowContext(ctx, `SELECT body, uses FROM registration_token WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return t, err
}

// RegistrationTokens implements RegistrationTokenStore.
func (r *SQLRegistry) RegistrationTokens(ctx context.Context, sandbox string) ([]*RegistrationToken, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT body, uses FROM registration_token WHERE sandbox = ? ORDER BY rowid DESC`, sandbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*RegistrationToken{}
	for rows.Next() {
		t, err := scanRegistrationToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UseRegistrationToken counts one registration against the token with
// hash, if it is still of sandbox, unexpired and not used up at now; a
// single statement, so that two registrations racing for a token's last
// use cannot both have it.
func (r *SQLRegistry) UseRegistrationToken(ctx context.Context, sandbox string, hash []byte, now time.Time) error {
	res, err := r.db.ExecContext(ctx, `UPDATE registration_token SET uses = uses + 1
		WHERE hash = ? AND sandbox = ? AND expires > ? AND (max_uses = 0 OR uses < max_uses)`, hash, sandbox, pgschema.Millis(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrBadRegistrationToken
	}
	return nil
}

// DeleteRegistrationToken implements RegistrationTokenStore.
func (r *SQLRegistry) DeleteRegistrationToken(ctx context.Context, sandbox, id string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM registration_token WHERE id = ? AND sandbox = ?`, id, sandbox)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: initial access token %q", ErrNotFound, id)
	}
	return nil
}

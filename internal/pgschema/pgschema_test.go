package pgschema_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"

	"hpsandbox/internal/pgschema"
	"hpsandbox/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var migrations = []string{
	`CREATE TABLE t (id INTEGER PRIMARY KEY)`,
	`ALTER TABLE t ADD COLUMN name TEXT; INSERT INTO t (id, name) VALUES (1, 'one')`,
}

// Gateways starting at once against an empty database all start, and the
// schema is made once: one version row, each migration applied once (a
// second run of the INSERT would violate the key).
func TestOpen_ConcurrentStartsOnEmptyDatabase_MigrateOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	const n = 6
	dbs := make([]*sql.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = pgschema.Open(ctx, dsn, pgschema.Store{Schema: "hps_test", Migrations: migrations, MaxConns: 2})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	var rows, versions int
	if err := dbs[0].QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("rows of t: %d, %v; want 1", rows, err)
	}
	if err := dbs[0].QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&versions); err != nil || versions != 1 {
		t.Errorf("version rows: %d, %v; want 1", versions, err)
	}
	if v, err := pgschema.Version(ctx, dbs[n-1], "hps_test"); err != nil || v != 2 {
		t.Errorf("Version = %d, %v; want 2", v, err)
	}
}

// A new binary applies only the migrations added since; an old binary
// refuses a schema a newer one migrated.
func TestMigrate_AppliesNewOnes_RefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	db, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: "hps_test", Migrations: migrations[:1], MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id) VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := pgschema.Migrate(ctx, db, "hps_test", migrations); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Errorf("rows after the second migration: %d, %v; want the 7 kept and 1 added", n, err)
	}
	err = pgschema.Migrate(ctx, db, "hps_test", migrations[:1])
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("an older binary's migrate: %v, want a refusal", err)
	}
}

// Stores in different schemas of one database do not see each other's
// tables.
func TestOpen_SchemasAreSeparate(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	a, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: "hps_a", Migrations: migrations, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: "hps_b", Migrations: migrations[:1], MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var n int
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 0 {
		t.Errorf("hps_b's t: %d rows, %v; want its own, empty", n, err)
	}
}

func TestOpen_RefusesBadSchemaNameAndDSN(t *testing.T) {
	ctx := context.Background()
	for _, schema := range []string{"", "Public", "a;drop", "a-b", strings.Repeat("a", 64)} {
		if _, err := pgschema.Open(ctx, "postgres://127.0.0.1:1/x", pgschema.Store{Schema: schema, Migrations: nil, MaxConns: 1}); err == nil {
			t.Errorf("schema %q accepted", schema)
		}
	}
	if _, err := pgschema.Open(ctx, "postgres://%zz", pgschema.Store{Schema: "hps_a", Migrations: nil, MaxConns: 1}); err == nil {
		t.Error("bad DSN accepted")
	}
}

// A role that may not create schemas or tables starts on a database
// migrated already: nothing that exists is created again.
func TestOpen_MigratedSchema_NeedsNoRightToCreate(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	owner, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: "hps_test", Migrations: migrations, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	role := "hps_gateway_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	role = role[:min(len(role), 60)]
	for _, stmt := range []string{
		`CREATE ROLE ` + role + ` LOGIN PASSWORD 'gateway'`,
		`GRANT USAGE ON SCHEMA hps_test TO ` + role,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA hps_test TO ` + role,
		`REVOKE CREATE ON DATABASE ` + currentDatabase(t, owner) + ` FROM PUBLIC`,
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
	} {
		if _, err := owner.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		owner.ExecContext(ctx, `DROP OWNED BY `+role)
		owner.ExecContext(ctx, `DROP ROLE `+role)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "gateway")
	db, err := pgschema.Open(ctx, u.String(), pgschema.Store{Schema: "hps_test", Migrations: migrations, MaxConns: 1})
	if err != nil {
		t.Fatalf("the gateway's role: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the gateway reads t: %d, %v", n, err)
	}
	// A new migration needs the right to create, and says so.
	if _, err := pgschema.Open(ctx, u.String(), pgschema.Store{Schema: "hps_test", Migrations: append(migrations, `CREATE TABLE u (id INTEGER)`), MaxConns: 1}); err == nil {
		t.Error("a migration without the right to create tables succeeded")
	}
}

func currentDatabase(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name string
	if err := db.QueryRowContext(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestBind_NumbersPlaceholdersOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		q        string
		numbered bool
		want     string
	}{
		{"SELECT a FROM t WHERE b = ? AND c IN (?, ?)", true, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		{"SELECT a FROM t WHERE b = ?", false, "SELECT a FROM t WHERE b = ?"},
		{"SELECT 1", true, "SELECT 1"},
		{"UPDATE t SET ø = ? WHERE id = ?", true, "UPDATE t SET ø = $1 WHERE id = $2"},
	} {
		if got := pgschema.Bind(tc.q, tc.numbered); got != tc.want {
			t.Errorf("Bind(%q, %v) = %q, want %q", tc.q, tc.numbered, got, tc.want)
		}
	}
}

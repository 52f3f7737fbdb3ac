package sqlitefile_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/sqlitefile"
)

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpen_SetsThePragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "x.db")
	w, err := sqlitefile.Open(ctx, path, sqlitefile.Options{ForeignKeys: true, ImmediateTx: true, CacheKiB: 32000, AutoCheckpointPages: 10000, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := sqlitefile.Open(ctx, path, sqlitefile.Options{ReadOnly: true, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []struct {
		db         *sql.DB
		name, want string
	}{
		{w, "busy_timeout", "10000"},
		{w, "journal_mode", "wal"},
		{w, "synchronous", "1"}, // NORMAL
		{w, "foreign_keys", "1"},
		{w, "cache_size", "-32000"},
		{w, "wal_autocheckpoint", "10000"},
		{w, "query_only", "0"},
		{w, "temp_store", "2"}, // MEMORY
		{r, "busy_timeout", "10000"},
		{r, "journal_mode", "wal"},
		{r, "synchronous", "1"},
		{r, "foreign_keys", "0"},
		{r, "query_only", "1"},
	} {
		if got := pragma(t, c.db, c.name); got != c.want {
			t.Errorf("PRAGMA %s = %q, want %q", c.name, got, c.want)
		}
	}
	if st := w.Stats(); st.MaxOpenConnections != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", st.MaxOpenConnections)
	}
	if _, err := r.ExecContext(ctx, `CREATE TABLE t (x)`); err == nil {
		t.Error("a read-only pool created a table")
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (x)`); err != nil {
		t.Errorf("the writer cannot create a table: %v", err)
	}
}

func TestOpen_EmptyPathIsOneInMemoryDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitefile.Open(ctx, "", sqlitefile.Options{ForeignKeys: true, MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := pragma(t, db, "foreign_keys"); got != "1" {
		t.Errorf("foreign_keys = %q, want 1", got)
	}
	if st := db.Stats(); st.MaxOpenConnections != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1 (each :memory: connection is its own database)", st.MaxOpenConnections)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatalf("the table is gone on the next use: %v", err)
	}
}

func TestOpen_BadPathSaysWhichFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"directory is a file":    filepath.Join(file, "x.db"),
		"path is a directory":    dir,
		"not an SQLite database": file,
	} {
		t.Run(name, func(t *testing.T) {
			db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", path)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

// Package sqlite is the embedded backend of fhirstore: pure-Go SQLite
// (modernc.org/sqlite, no cgo) in WAL mode, one file in the data directory.
// Schema and queries are fhirstore/sqlstore's; this package only opens the
// database well.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"hpsandbox/fhirstore/sqlstore"
)

// Dialect is SQLite's flavour of the shared schema.
var Dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Blob:       "BLOB",
	AutoID:     "INTEGER PRIMARY KEY",
	Checkpoint: "PRAGMA wal_checkpoint(PASSIVE)",
}

// FileName is the database file inside a data directory.
const FileName = "fhir.db"

// Open opens (creating if needed) the store in the directory dir.
//
// Writes go through one connection, so writers queue in Go instead of
// failing with SQLITE_BUSY; reads use a pool of read-only connections that
// WAL lets run beside the writer. synchronous=NORMAL keeps every committed
// write across a crash of the process; a power cut may lose the last
// transactions, which a sandbox can afford for the write speed it buys.
func Open(ctx context.Context, dir string, opts sqlstore.Options) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	write, err := open(path, false)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL, which
	// the read-only connections then rely on.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err := open(path, true)
	if err != nil {
		write.Close()
		return nil, err
	}
	n := 2 * runtime.GOMAXPROCS(0)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	s, err := sqlstore.New(ctx, read, write, Dialect, opts)
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	return s, nil
}

func open(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "cache_size(-32000)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
		// The store checkpoints beside the writer (Dialect.Checkpoint); the
		// writer itself only when that falls behind by 10,000 pages.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

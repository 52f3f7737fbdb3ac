// Package sqlite is the embedded backend of fhirstore: pure-Go SQLite
// (modernc.org/sqlite, no cgo) in WAL mode, one file in the data directory.
// Schema and queries are fhirstore/sqlstore's; this package only opens the
// database well.
package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sqlitefile"
)

// Dialect is SQLite's flavour of the shared schema.
var Dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Blob:       "BLOB",
	AutoID:     "INTEGER PRIMARY KEY",
	Checkpoint: "PRAGMA wal_checkpoint(PASSIVE)",
	FreshBlobs: true,
}

// FileName is the database file inside a data directory.
const FileName = "fhir.db"

// Open opens (creating if needed) the store in the directory dir.
//
// Writes go through one connection, so writers queue in Go instead of
// failing with SQLITE_BUSY; reads use pools of read-only connections that
// WAL lets run beside the writer, one for searches and one for reads by id. synchronous=NORMAL keeps every committed
// write across a crash of the process; a power cut may lose the last
// transactions, which a sandbox can afford for the write speed it buys.
func Open(ctx context.Context, dir string, opts sqlstore.Options) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The writer opens first: it creates the file and switches it to WAL,
	// which the read-only connections then rely on. The store checkpoints
	// beside the writer (Dialect.Checkpoint); the writer itself only when
	// that falls behind by 10,000 pages.
	write, err := sqlitefile.Open(ctx, path, sqlitefile.Options{
		ForeignKeys: true, ImmediateTx: true, CacheKiB: 32000, AutoCheckpointPages: 10000, MaxOpenConns: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read, err := sqlitefile.Open(ctx, path, sqlitefile.Options{
		ReadOnly: true, ForeignKeys: true, CacheKiB: 32000, MaxOpenConns: 2 * runtime.GOMAXPROCS(0),
	})
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Reads by id have a pool of their own (Options.Lookups): a search
	// holds its connection for milliseconds, a read by id for tens of
	// microseconds, and under load the reads would otherwise wait for
	// connections behind the searches.
	lookups, err := sqlitefile.Open(ctx, path, sqlitefile.Options{
		ReadOnly: true, ForeignKeys: true, CacheKiB: 8000, MaxOpenConns: runtime.GOMAXPROCS(0),
	})
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	opts.Lookups = lookups
	s, err := sqlstore.New(ctx, read, write, Dialect, opts)
	if err != nil {
		lookups.Close()
		read.Close()
		write.Close()
		return nil, err
	}
	return s, nil
}

// Package sqlitefile opens the project's SQLite files (the FHIR store, the
// tenant registry, the request log) with the settings they share: pure-Go
// SQLite (modernc.org/sqlite, no cgo), WAL, synchronous=NORMAL and a busy
// timeout. What differs between them is an Option.
//
// It is not a query layer: callers get a *sql.DB and keep their own schema
// and SQL.
package sqlitefile

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// BusyTimeoutMS is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY.
const BusyTimeoutMS = 10000

// Options say how one opening of a file differs from the shared settings.
// The zero value is a writable pool with deferred transactions and
// foreign keys off, as SQLite itself defaults.
type Options struct {
	// ReadOnly makes every connection query_only: a pool of readers that
	// WAL lets run beside the writer. The file must exist (open a writer
	// first).
	ReadOnly bool
	// ForeignKeys turns on foreign key enforcement (ON DELETE CASCADE).
	ForeignKeys bool
	// ImmediateTx begins transactions with BEGIN IMMEDIATE, so that a
	// writer takes the lock at the start instead of failing on upgrade.
	ImmediateTx bool
	// CacheKiB is the page cache per connection; 0 keeps SQLite's default.
	CacheKiB int
	// AutoCheckpointPages is the WAL size, in pages, at which a commit
	// checkpoints; 0 keeps SQLite's default.
	AutoCheckpointPages int
	// MaxOpenConns bounds the pool; 1 makes the one writer connection
	// through which writes queue in Go rather than on SQLITE_BUSY. 0 leaves
	// the pool unbounded.
	MaxOpenConns int
}

// Open opens the SQLite file at path, creating it and its directory unless
// ReadOnly, and checks that it can be used. An empty path opens a private
// in-memory database (for tests), which lives on one connection that is
// never closed while the *sql.DB is open.
func Open(ctx context.Context, path string, o Options) (*sql.DB, error) {
	name := "file::memory:"
	if path != "" {
		if !o.ReadOnly {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return nil, fmt.Errorf("sqlitefile: directory of %s: %w", path, err)
			}
		}
		name = "file:" + path
	}
	db, err := sql.Open("sqlite", name+"?"+dsnQuery(o).Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitefile: open %s: %w", describe(path), err)
	}
	n := o.MaxOpenConns
	if path == "" {
		// Every connection to :memory: is a database of its own.
		n = 1
	}
	if n > 0 {
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	}
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitefile: open %s: %w", describe(path), err)
	}
	return db, nil
}

func dsnQuery(o Options) url.Values {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(BusyTimeoutMS)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// A committed write survives a crash of the process; a power cut may
	// lose the last transactions, which a sandbox can afford for the
	// write speed it buys.
	q.Add("_pragma", "synchronous(NORMAL)")
	if o.ForeignKeys {
		q.Add("_pragma", "foreign_keys(ON)")
	}
	// Temporary files in memory: above all the sub-journal of savepoints,
	// which group commit opens for every write and which SQLite would
	// otherwise write to a file page by page.
	q.Add("_pragma", "temp_store(MEMORY)")
	if o.CacheKiB > 0 {
		q.Add("_pragma", "cache_size(-"+strconv.Itoa(o.CacheKiB)+")")
	}
	if o.ReadOnly {
		q.Add("_pragma", "query_only(ON)")
	}
	if o.AutoCheckpointPages > 0 {
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(o.AutoCheckpointPages)+")")
	}
	if o.ImmediateTx {
		q.Set("_txlock", "immediate")
	}
	return q
}

func describe(path string) string {
	if path == "" {
		return "in-memory database"
	}
	return path
}

// Package sqlstore is the SQL layer shared by the relational backends of
// fhirstore: one schema, one set of queries, written once with "?"
// placeholders and rebound for the dialect. A backend package opens the
// database, chooses the Dialect and hands both here.
//
// It is not a general ORM; it knows only the tables of fhirstore.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// Dialect holds what differs between SQL engines.
type Dialect struct {
	// Name identifies the engine in errors, e.g. "sqlite".
	Name string
	// NumberedPlaceholders selects $1, $2 … instead of ?.
	NumberedPlaceholders bool
	// Blob is the column type for resource bodies (BLOB, BYTEA).
	Blob string
	// AutoID is the column definition of an integer key assigned by the
	// engine (INTEGER PRIMARY KEY, BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY).
	AutoID string
	// Text is the column type of text: TEXT, or one with a collation
	// that compares bytes (as SQLite does), which the starts-with ranges
	// of search (see prefix) and the order of sorts rely on.
	Text string
	// TextSortKeys: the engine's columns hold values of one type, so the
	// sort keys of idx_sort, which are text or numbers by parameter, are
	// stored as text (see sortKeyValue).
	TextSortKeys bool
	// MigrationLock, when set, is run first in the migration's
	// transaction to keep concurrent migrations of one database (several
	// gateways starting at once) apart: the second waits for the first
	// and finds the schema current.
	MigrationLock string
	// InsertReturning: the engine's INSERT returns the new row's rid
	// (RETURNING), for drivers without LastInsertId.
	InsertReturning bool
	// RowLock is appended to the read of the row a write replaces (FOR
	// UPDATE), for engines whose concurrent transactions could otherwise
	// both read the version they replace; SQLite has one writer.
	RowLock string
	// WritePerRequest is the engine's default of Options.WritePerRequest.
	WritePerRequest bool
	// TxIsolation is the isolation of a Store.Tx run per request. Its
	// reads decide its writes (a conditional create searches first), so
	// beside other writers it needs SERIALIZABLE; single writes lock the
	// row they replace (RowLock) and need no more than the default.
	TxIsolation sql.IsolationLevel
	// Retryable, when set, reports whether a write failed only because a
	// concurrent transaction (another gateway's) got in its way, so that
	// running it again may succeed (see single).
	Retryable func(error) bool
	// Analyze, when set, refreshes the planner's statistics (ANALYZE);
	// the store runs it beside the writers after much was written (see
	// analyzer).
	Analyze string
	// Checkpoint, when set, copies a write-ahead log into the database
	// without blocking writers (SQLite: PRAGMA wal_checkpoint(PASSIVE)). The
	// store runs it on a read connection after commits, so that the writer
	// connection can leave checkpoints to it (see checkpointer).
	Checkpoint string
	// FreshBlobs: the driver hands each row's blobs in memory of their
	// own, never reused for a later row (modernc.org/sqlite copies them out
	// of SQLite), so that a read keeps the body it is handed instead of
	// copying it once more (see body).
	FreshBlobs bool
	// CopyFrom, when set, streams rows into table within the transaction
	// open on driverConn (what sql.Conn.Raw hands over), as PostgreSQL's
	// COPY does: a bulk load writes index rows so (see copyIndex).
	CopyFrom func(ctx context.Context, driverConn any, table string, cols []string, rows [][]any) error
}

// Options configure a Store.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID makes server-assigned ids; fhirstore.NewID when nil.
	NewID func() string
	// WritePerRequest runs each single write (and Store.Tx) in a
	// transaction of its own instead of sharing group transactions: for
	// engines with many writers, where group commit only queues writes
	// behind one connection. The dialect's choice when unset
	// (Dialect.WritePerRequest).
	WritePerRequest *bool
	// SearchTimeout is the time budget of one search: past it the search
	// is stopped (its statement interrupted) and fails as outcome.Busy.
	// DefaultSearchTimeout when zero; a negative budget is none.
	SearchTimeout time.Duration
	// Lookups is a pool for reads by id (Read, VRead), so that they never
	// wait for a connection behind searches, which take longer and may
	// hold every connection of the read pool under load; the read pool
	// when nil. Store.Close closes it.
	Lookups *sql.DB
}

// DefaultSearchTimeout is the time budget of a search when Options sets
// none: far more than a search within the limits of package search takes on
// a sandbox's data, and short enough that no search holds a read connection
// for long.
const DefaultSearchTimeout = 5 * time.Second

// Store implements fhirstore.Store over database/sql. Reads go to read and
// writes to write, which may be the same pool; SQLite uses one writer
// connection so that writers queue in Go rather than fail as busy.
type Store struct {
	read, write *sql.DB
	// lookups serves reads by id (Options.Lookups); lst are prepared on
	// it when it is not the read pool, and lstmts keeps the confinement
	// checks of its reads prepared (nil when it is the read pool, whose
	// stmts do).
	lookups *sql.DB
	lst     [numStmts]*sql.Stmt
	lstmts  *stmtCache
	d       Dialect
	now     func() time.Time
	newID   func() string
	// searchTimeout is the budget of a search (see Options); <= 0: none.
	searchTimeout time.Duration
	// rst are prepared on the read pool, wst on the write pool (and bound
	// into each transaction).
	rst, wst [numStmts]*sql.Stmt
	// stmts keeps search statements prepared on the read pool, wstmts
	// those a write transaction runs, prepared on the write pool (see
	// txStmt); nil when the pools are one, as PostgreSQL's are, whose
	// driver (pgx) keeps the statements of each connection prepared.
	stmts, wstmts *stmtCache
	clock         stampClock
	// extracting bounds the index extractions running beside writers.
	extracting chan struct{}
	cp         *checkpointer // nil without Dialect.Checkpoint
	az         *analyzer     // nil without Dialect.Analyze
	gc         *committer    // group commit of single writes
	observers  observers     // told of each commit (observe.go)
	// groupCommit: single writes share group transactions (see
	// Options.WritePerRequest).
	groupCommit bool
}

var _ fhirstore.Store = (*Store)(nil)

// stampClock issues lastUpdated stamps (milliseconds) and history
// snapshots so that a snapshot covers every version stamped before it and
// no version stamped after it: a write after a snapshot is stamped later
// than the snapshot even within the same millisecond.
type stampClock struct {
	mu        sync.Mutex
	maxIssued int64 // newest stamp given to a write
	floor     int64 // no stamp may be below this (a snapshot + 1)
}

// stamp returns the stamp for a write at nowMS replacing a version stamped
// prev (0 for none): never below the floor, always after prev.
func (c *stampClock) stamp(nowMS, prev int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := max(nowMS, c.floor)
	if prev != 0 && ms <= prev {
		ms = prev + 1
	}
	c.maxIssued = max(c.maxIssued, ms)
	return ms
}

// snapshot returns a bound covering every stamp issued so far and raises
// the floor above it.
func (c *stampClock) snapshot(nowMS int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := max(nowMS, c.maxIssued)
	c.floor = max(c.floor, snap+1)
	return snap
}

// New migrates the schema and returns a Store.
func New(ctx context.Context, read, write *sql.DB, d Dialect, opts Options) (*Store, error) {
	s := &Store{read: read, write: write, d: d, now: opts.Now, newID: opts.NewID,
		searchTimeout: opts.SearchTimeout, extracting: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if s.searchTimeout == 0 {
		s.searchTimeout = DefaultSearchTimeout
	}
	s.groupCommit = !d.WritePerRequest
	if opts.WritePerRequest != nil {
		s.groupCommit = !*opts.WritePerRequest
	}
	s.stmts = newStmtCache(read, stmtCacheSize)
	if write != read {
		s.wstmts = newStmtCache(write, stmtCacheSize)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = fhirstore.NewID
	}
	if err := migrate(ctx, write, d); err != nil {
		return nil, fmt.Errorf("%s: migrate: %w", d.Name, err)
	}
	if _, err := s.ensureIndexes(ctx); err != nil { // see bulkload.go
		return nil, err
	}
	var err error
	if s.rst, err = prepare(ctx, read, d); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if s.wst, err = prepare(ctx, write, d); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	s.lookups, s.lst = read, s.rst
	if opts.Lookups != nil && opts.Lookups != read {
		s.lookups = opts.Lookups
		if s.lst, err = prepare(ctx, s.lookups, d); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		s.lstmts = newStmtCache(s.lookups, lookupStmtCacheSize)
	}
	s.startCheckpointer()
	s.startAnalyzer()
	s.startCommitter()
	return s, nil
}

// rebind turns ? placeholders into $n for engines that need them.
func rebind(d Dialect, q string) string {
	if !d.NumberedPlaceholders {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Close closes the statements and both pools.
func (s *Store) Close() error {
	s.stopCommitter()
	s.stopCheckpointer()
	s.stopAnalyzer()
	err := s.stmts.close()
	if s.wstmts != nil {
		err = errors.Join(err, s.wstmts.close())
	}
	if s.lstmts != nil {
		err = errors.Join(err, s.lstmts.close())
	}
	for i := range s.rst {
		sts := []*sql.Stmt{s.rst[i], s.wst[i]}
		if s.lookups != s.read {
			sts = append(sts, s.lst[i])
		}
		for _, st := range sts {
			if st != nil {
				err = errors.Join(err, st.Close())
			}
		}
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.lookups != nil && s.lookups != s.read {
		err = errors.Join(err, s.lookups.Close())
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx runs fn as one transaction: all of its writes land or none. It
// shares the database transaction with concurrent writers (group commit,
// see groupcommit.go) inside a savepoint of its own, and returns once that
// transaction committed. fn runs on the committer's goroutine; a panic in
// it rolls back its writes and is raised again in the caller's goroutine.
// Written per request (Options.WritePerRequest) it is a transaction of its
// own at Dialect.TxIsolation, run again when Dialect.Retryable says so.
func (s *Store) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	return s.singleAt(ctx, s.d.TxIsolation, func(_ context.Context, t *tx) error { return fn(groupTx{t}) })
}

// Read implements fhirstore.Reader.
func (s *Store) Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	return (&tx{s: s, q: s.lookups, lookup: true}).Read(ctx, sandbox, typ, id)
}

// VRead implements fhirstore.Reader.
func (s *Store) VRead(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64) (*fhirstore.Resource, error) {
	return (&tx{s: s, q: s.lookups, lookup: true}).VRead(ctx, sandbox, typ, id, version)
}

// History implements fhirstore.Reader.
func (s *Store) History(ctx context.Context, sandbox fhirstore.Sandbox, q fhirstore.HistoryQuery) (*fhirstore.HistoryPage, error) {
	return (&tx{s: s, q: s.read}).History(ctx, sandbox, q)
}

// Search implements fhirstore.Reader.
func (s *Store) Search(ctx context.Context, sandbox fhirstore.Sandbox, q fhirstore.SearchQuery) (*fhirstore.SearchPage, error) {
	return (&tx{s: s, q: s.read}).Search(ctx, sandbox, q)
}

// Create implements fhirstore.Writer; the write shares a transaction with
// concurrent single writes (group commit) and returns once it committed.
func (s *Store) Create(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, id string) (res *fhirstore.Resource, err error) {
	pre := preExtract(r)
	err = s.single(ctx, func(ctx context.Context, t *tx) error {
		t.pre = pre
		defer func() { t.pre = nil }()
		res, err = t.Create(ctx, sandbox, r, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Update implements fhirstore.Writer by group commit (see Create).
func (s *Store) Update(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (res *fhirstore.Resource, created bool, err error) {
	pre := preExtract(r)
	err = s.single(ctx, func(ctx context.Context, t *tx) error {
		t.pre = pre
		defer func() { t.pre = nil }()
		res, created, err = t.Update(ctx, sandbox, r, opts)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return res, created, nil
}

// ReplaceMeta implements fhirstore.Writer by group commit (see Create).
func (s *Store) ReplaceMeta(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	return s.single(ctx, func(ctx context.Context, t *tx) error {
		return t.ReplaceMeta(ctx, sandbox, typ, id, version, body)
	})
}

// Delete implements fhirstore.Writer by group commit (see Create).
func (s *Store) Delete(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (res *fhirstore.Resource, err error) {
	err = s.single(ctx, func(ctx context.Context, t *tx) error {
		res, err = t.Delete(ctx, sandbox, typ, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

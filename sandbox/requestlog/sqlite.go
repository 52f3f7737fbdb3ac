package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQLiteStore is a Store in an SQLite file of its own (the gateway keeps
// it at <data>/requestlog.db), so that the log's writes never contend
// with the FHIR store's.
//
// The bound per sandbox is kept exactly and cheaply: a count per sandbox
// is updated in the same transaction as each batch, and only the entries
// beyond the bound, the oldest, are deleted.
type SQLiteStore struct {
	db    *sql.DB
	bound int
	// mu serialises this process's writers, which would otherwise only
	// wait on each other inside SQLite's busy timeout.
	mu sync.Mutex
}

var _ Store = (*SQLiteStore)(nil)

// schemaVersion is the PRAGMA user_version of the schema below.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	id             INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so cursors stay valid
	sandbox        TEXT    NOT NULL,
	time           INTEGER NOT NULL, -- Unix nanoseconds
	client_id      TEXT    NOT NULL,
	method         TEXT    NOT NULL,
	path           TEXT    NOT NULL,
	query          TEXT    NOT NULL,
	status         INTEGER NOT NULL,
	latency        INTEGER NOT NULL, -- nanoseconds
	request_bytes  INTEGER NOT NULL,
	response_bytes INTEGER NOT NULL,
	issues         TEXT,             -- JSON array of storedIssue, NULL when none
	scopes         TEXT    NOT NULL,
	request_id     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_sandbox_id ON entries (sandbox, id);
CREATE TABLE IF NOT EXISTS counts (
	sandbox TEXT PRIMARY KEY,
	n       INTEGER NOT NULL
) WITHOUT ROWID;
`

// OpenSQLite opens or creates the log at path, keeping the newest
// perSandboxMax entries of each sandbox (DefaultPerSandboxMax if it is not
// positive). A smaller bound than the file was kept with applies from the
// next append on.
func OpenSQLite(ctx context.Context, path string, perSandboxMax int) (*SQLiteStore, error) {
	if perSandboxMax <= 0 {
		perSandboxMax = DefaultPerSandboxMax
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// The log is evidence, not a record of care: losing the last
	// transactions in a power cut is acceptable, an fsync per batch is not.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &SQLiteStore{db: db, bound: perSandboxMax}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLiteStore) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("the file has schema version %d, newer than this binary's %d; use a newer binary or another file", v, schemaVersion)
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion))
	return err
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// Append implements Store.
func (s *SQLiteStore) Append(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	defer tx.Rollback()
	ids, err := s.insert(ctx, tx, entries)
	if err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	if err := s.trim(ctx, tx, entries); err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	for i, id := range ids {
		entries[i].ID = id
	}
	return nil
}

func (s *SQLiteStore) insert(ctx context.Context, tx *sql.Tx, entries []Entry) ([]int64, error) {
	ids := make([]int64, 0, len(entries))
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, rowsPerInsert*entryColumns)
	for rest := entries; len(rest) > 0; {
		chunk := rest[:min(len(rest), rowsPerInsert)]
		rest = rest[len(chunk):]
		// Every chunk but the last is full, so one statement serves them.
		if stmt == nil || len(chunk) < rowsPerInsert {
			if stmt != nil {
				stmt.Close()
			}
			var err error
			if stmt, err = tx.PrepareContext(ctx, insertRows(len(chunk))); err != nil {
				return nil, err
			}
		}
		args = args[:0]
		for i := range chunk {
			e := &chunk[i]
			issues, err := encodeIssues(e.Issues)
			if err != nil {
				return nil, err
			}
			args = append(args, e.Sandbox, unixNano(e.Time), e.ClientID, e.Method,
				e.Path, e.Query, e.Status, int64(e.Latency), e.RequestBytes, e.ResponseBytes,
				issues, e.Scopes, e.RequestID)
		}
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		// The rows of one INSERT under the write lock take consecutive
		// AUTOINCREMENT ids, the last of which SQLite reports.
		for i := range chunk {
			ids = append(ids, last-int64(len(chunk)-1-i))
		}
	}
	return ids, nil
}

// An INSERT writes up to rowsPerInsert entries, well below SQLite's limit
// of 32766 parameters: one statement per row would cost more than the row.
const (
	rowsPerInsert = 64
	entryColumns  = 13
)

// insertRows is the INSERT of n entries.
func insertRows(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO entries (sandbox, time, client_id, method, path, query,
	status, latency, request_bytes, response_bytes, issues, scopes, request_id) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// trim adds the batch to the counts of its sandboxes and deletes, from any
// sandbox now over its bound, the oldest entries beyond it.
func (s *SQLiteStore) trim(ctx context.Context, tx *sql.Tx, entries []Entry) error {
	added := map[string]int{}
	for i := range entries {
		added[entries[i].Sandbox]++
	}
	for sandbox, n := range added {
		var count int
		err := tx.QueryRowContext(ctx, `INSERT INTO counts (sandbox, n) VALUES (?, ?)
			ON CONFLICT (sandbox) DO UPDATE SET n = n + excluded.n RETURNING n`, sandbox, n).Scan(&count)
		if err != nil {
			return err
		}
		if count <= s.bound {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE id IN
			(SELECT id FROM entries WHERE sandbox = ? ORDER BY id LIMIT ?)`, sandbox, count-s.bound); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE counts SET n = ? WHERE sandbox = ?`, s.bound, sandbox); err != nil {
			return err
		}
	}
	return nil
}

// Query implements Store.
func (s *SQLiteStore) Query(ctx context.Context, f Filter) (Page, error) {
	f, err := f.Normalized()
	if err != nil {
		return Page{}, err
	}
	var q strings.Builder
	q.WriteString(`SELECT id, time, client_id, method, path, query, status, latency,
		request_bytes, response_bytes, issues, scopes, request_id
		FROM entries WHERE sandbox = ?`)
	args := []any{f.Sandbox}
	where := func(cond string, arg ...any) {
		q.WriteString(" AND " + cond)
		args = append(args, arg...)
	}
	if f.Before > 0 {
		where("id < ?", f.Before)
	}
	if f.ClientID != "" {
		where("client_id = ?", f.ClientID)
	}
	if f.Method != "" {
		where("method = ?", f.Method)
	}
	if f.Status != 0 {
		where("status = ?", f.Status)
	}
	if f.StatusClass != 0 {
		where("status >= ? AND status < ?", f.StatusClass*100, (f.StatusClass+1)*100)
	}
	if f.PathContains != "" {
		// instr, not LIKE: no wildcards to escape, and case-sensitive.
		where("instr(path, ?) > 0", f.PathContains)
	}
	if !f.Since.IsZero() {
		where("time >= ?", unixNano(f.Since))
	}
	if !f.Until.IsZero() {
		where("time < ?", unixNano(f.Until))
	}
	// One more than the page, to know whether a next page exists.
	q.WriteString(" ORDER BY id DESC LIMIT ?")
	args = append(args, f.Limit+1)

	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		if len(p.Entries) == f.Limit {
			p.Next = p.Entries[len(p.Entries)-1].ID
			break
		}
		e := Entry{Sandbox: f.Sandbox}
		var t, latency int64
		var issues sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.ClientID, &e.Method, &e.Path, &e.Query, &e.Status,
			&latency, &e.RequestBytes, &e.ResponseBytes, &issues, &e.Scopes, &e.RequestID); err != nil {
			return Page{}, fmt.Errorf("requestlog: query: %w", err)
		}
		e.Time = time.Unix(0, t).UTC()
		e.Latency = time.Duration(latency)
		if e.Issues, err = decodeIssues(issues); err != nil {
			return Page{}, fmt.Errorf("requestlog: query: entry %d: %w", e.ID, err)
		}
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	return p, nil
}

// DeleteSandbox implements Store.
func (s *SQLiteStore) DeleteSandbox(ctx context.Context, sandbox string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("requestlog: delete sandbox: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range []string{`DELETE FROM entries WHERE sandbox = ?`, `DELETE FROM counts WHERE sandbox = ?`} {
		if _, err := tx.ExecContext(ctx, stmt, sandbox); err != nil {
			return fmt.Errorf("requestlog: delete sandbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("requestlog: delete sandbox: %w", err)
	}
	return nil
}

// storedIssue is an Issue as stored, apart from the exported type so that
// renaming a field cannot change the file format.
type storedIssue struct {
	Severity    string `json:"severity,omitempty"`
	Code        string `json:"code,omitempty"`
	Diagnostics string `json:"diagnostics,omitempty"`
	Expression  string `json:"expression,omitempty"`
}

func encodeIssues(issues []Issue) (sql.NullString, error) {
	if len(issues) == 0 {
		return sql.NullString{}, nil
	}
	stored := make([]storedIssue, len(issues))
	for i, is := range issues {
		stored[i] = storedIssue(is)
	}
	b, err := json.Marshal(stored)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodeIssues(s sql.NullString) ([]Issue, error) {
	if !s.Valid {
		return nil, nil
	}
	var stored []storedIssue
	if err := json.Unmarshal([]byte(s.String), &stored); err != nil {
		return nil, err
	}
	issues := make([]Issue, len(stored))
	for i, is := range stored {
		issues[i] = Issue(is)
	}
	return issues, nil
}

// unixNano is t in Unix nanoseconds, clamped to what an int64 holds, so
// that a filter far in the past or future still compares correctly.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

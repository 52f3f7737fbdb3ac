package requestlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"hpsandbox/internal/pgschema"
	"hpsandbox/sqlitefile"
)

// SQLStore is a Store in an SQL database: an SQLite file of its own
// (OpenSQLite; the gateway keeps it at <data>/requestlog.db), so that the
// log's writes never contend with the FHIR store's, or a schema of the
// PostgreSQL database that gateways share (OpenPostgres). The queries are
// the same on both engines.
//
// Entries are written a chunk at a time: one row holds the entries of one
// sandbox from one Append, encoded together. The writer's cost per entry is
// then an encoding, not a row with a dozen bound columns and an index
// entry, which keeps the log's share of the CPU small beside the requests
// it records. A query decodes chunks newest first and filters in Go; a
// sandbox holds at most its bound of entries, so that stays cheap.
//
// The bound per sandbox is kept exactly: a count per sandbox is updated in
// the same transaction as each chunk; whole chunks beyond the bound are
// deleted, and a floor id hides the oldest entries of a chunk that is only
// partly beyond it.
type SQLStore struct {
	db    conn
	bound int
	// mu serialises this process's writers, which would otherwise only
	// wait on each other inside the database.
	mu sync.Mutex
}

// conn is the database with the log's queries written for its engine.
type conn struct {
	*sql.DB
	// numbered: placeholders are $1, $2, … (PostgreSQL), not ?.
	numbered bool
	// snapshot is the isolation of a query's transaction, under which
	// the floor and the chunks it reads are of one moment; SQLite's
	// transactions are serializable whatever is asked.
	snapshot sql.IsolationLevel
}

func (c conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, pgschema.Bind(q, c.numbered), args...)
}

// tx is a transaction of conn.
type tx struct {
	*sql.Tx
	numbered bool
}

func (c conn) begin(ctx context.Context, opts *sql.TxOptions) (tx, error) {
	t, err := c.DB.BeginTx(ctx, opts)
	return tx{Tx: t, numbered: c.numbered}, err
}

func (t tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, pgschema.Bind(q, t.numbered), args...)
}

func (t tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, pgschema.Bind(q, t.numbered), args...)
}

func (t tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, pgschema.Bind(q, t.numbered), args...)
}

// SQLiteStore is the name SQLStore had when SQLite was its only engine;
// code written against it still compiles.
type SQLiteStore = SQLStore

var _ Store = (*SQLStore)(nil)

// schemaVersion is the PRAGMA user_version of the schema below. Version 1
// (a row per entry) never left development; a file of it is started anew.
const schemaVersion = 2

const schema = `
DROP TABLE IF EXISTS entries;
DROP TABLE IF EXISTS counts;
CREATE TABLE IF NOT EXISTS chunks (
	rowid    INTEGER PRIMARY KEY,
	sandbox  TEXT    NOT NULL,
	last_id  INTEGER NOT NULL, -- the newest entry's id
	ids      BLOB    NOT NULL, -- the entries' ids, uvarint deltas
	body     BLOB    NOT NULL  -- the entries, a JSON array of storedEntry, oldest first
);
CREATE INDEX IF NOT EXISTS chunks_sandbox_last ON chunks (sandbox, last_id);
CREATE TABLE IF NOT EXISTS sandboxes (
	sandbox TEXT PRIMARY KEY,
	visible INTEGER NOT NULL, -- entries at or above floor
	floor   INTEGER NOT NULL  -- entries below it are beyond the bound
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (k, v) VALUES ('last_id', 0);
`

// OpenSQLite opens or creates the log at path, keeping the newest
// perSandboxMax entries of each sandbox (DefaultPerSandboxMax if it is not
// positive). A smaller bound than the file was kept with applies from the
// next append on.
func OpenSQLite(ctx context.Context, path string, perSandboxMax int) (*SQLStore, error) {
	if perSandboxMax <= 0 {
		perSandboxMax = DefaultPerSandboxMax
	}
	// The log is evidence, not a record of care: losing the last
	// transactions in a power cut is acceptable (sqlitefile's
	// synchronous=NORMAL), an fsync per batch is not.
	db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{ImmediateTx: true, MaxOpenConns: 4})
	if err != nil {
		return nil, fmt.Errorf("requestlog: %w", err)
	}
	s := &SQLStore{db: conn{DB: db}, bound: perSandboxMax}
	if err := s.migrateSQLite(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLStore) migrateSQLite(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("the file has schema version %d, newer than this binary's %d; use a newer binary or another file", v, schemaVersion)
	}
	if v == schemaVersion {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion))
	return err
}

// Close closes the database.
func (s *SQLStore) Close() error { return s.db.Close() }

// storedEntry is an Entry as stored, apart from the exported type so that
// renaming a field cannot change the file format. The id and sandbox are
// the chunk's.
type storedEntry struct {
	Time          int64         `json:"t"`
	ClientID      string        `json:"c,omitempty"`
	Method        string        `json:"m"`
	Path          string        `json:"p"`
	Query         string        `json:"q,omitempty"`
	Status        int           `json:"s"`
	Latency       int64         `json:"l"`
	RequestBytes  int64         `json:"i,omitempty"`
	ResponseBytes int64         `json:"o,omitempty"`
	Issues        []storedIssue `json:"x,omitempty"`
	Scopes        string        `json:"g,omitempty"`
	RequestID     string        `json:"r,omitempty"`
	// Connector and Channel came after the format: chunks written before
	// them lack the keys and read as the FHIR API's exchanges, "" both.
	Connector string `json:"k,omitempty"`
	Channel   string `json:"n,omitempty"`
	// Accept, Preconditions and OAuth came later still.
	Accept        string       `json:"h,omitempty"`
	Preconditions string       `json:"w,omitempty"`
	RetryAfter    int64        `json:"y,omitempty"` // seconds
	OAuth         *storedOAuth `json:"a,omitempty"`
	// Verdicts came last.
	Verdicts []storedVerdict `json:"v,omitempty"`
}

// storedVerdict is a Verdict as stored.
type storedVerdict struct {
	Check   string `json:"c"`
	Pass    bool   `json:"p,omitempty"`
	Message string `json:"m,omitempty"`
}

// storedOAuth is an OAuth as stored; it has OAuth's fields, so that
// each converts to the other.
type storedOAuth struct {
	Endpoint          string `json:"e"`
	ResponseType      string `json:"rt,omitempty"`
	PKCEMethod        string `json:"pm,omitempty"`
	Challenge         bool   `json:"pc,omitempty"`
	StateLen          int    `json:"sl,omitempty"`
	StateBits         int    `json:"sb,omitempty"`
	RedirectURI       string `json:"ru,omitempty"`
	RedirectExact     bool   `json:"rx,omitempty"`
	Scope             string `json:"sc,omitempty"`
	Aud               string `json:"au,omitempty"`
	AudMatches        bool   `json:"am,omitempty"`
	Launch            bool   `json:"la,omitempty"`
	GrantType         string `json:"gt,omitempty"`
	ClientAuth        string `json:"ca,omitempty"`
	Verifier          bool   `json:"cv,omitempty"`
	AssertionAlg      string `json:"aa,omitempty"`
	AssertionLifetime int64  `json:"al,omitempty"`
	AssertionIssSub   bool   `json:"ai,omitempty"`
	AssertionJTI      bool   `json:"aj,omitempty"`
	JTIReplayed       bool   `json:"jr,omitempty"`
	Error             string `json:"er,omitempty"`
}

// storedIssue is an Issue as stored.
type storedIssue struct {
	Severity    string `json:"severity,omitempty"`
	Code        string `json:"code,omitempty"`
	Diagnostics string `json:"diagnostics,omitempty"`
	Expression  string `json:"expression,omitempty"`
}

// Append implements Store.
func (s *SQLStore) Append(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	defer tx.Rollback()
	// Taking the ids first locks the counter until commit: appends of
	// gateways sharing a database commit in the order of their ids, so
	// that a cursor (Filter.Before) never has newer entries appear below
	// it.
	var last int64
	if err := tx.QueryRowContext(ctx, `UPDATE meta SET v = v + ? WHERE k = 'last_id' RETURNING v`, len(entries)).Scan(&last); err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	last -= int64(len(entries))
	ids := make([]int64, len(entries))
	order := []string{}
	bySandbox := map[string][]int{}
	for i := range entries {
		last++
		ids[i] = last
		sb := entries[i].Sandbox
		if _, ok := bySandbox[sb]; !ok {
			order = append(order, sb)
		}
		bySandbox[sb] = append(bySandbox[sb], i)
	}
	for _, sb := range order {
		if err := s.appendChunk(ctx, tx, sb, entries, ids, bySandbox[sb]); err != nil {
			return fmt.Errorf("requestlog: append: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("requestlog: append: %w", err)
	}
	for i, id := range ids {
		entries[i].ID = id
	}
	return nil
}

// appendChunk writes the entries at idx (all of sandbox) as one chunk and
// trims the sandbox to its bound.
func (s *SQLStore) appendChunk(ctx context.Context, tx tx, sandbox string, entries []Entry, ids []int64, idx []int) error {
	stored := make([]storedEntry, len(idx))
	var idBuf []byte
	prev := int64(0)
	for j, i := range idx {
		e := &entries[i]
		se := storedEntry{Time: e.Time.UnixNano(), ClientID: e.ClientID, Method: e.Method, Path: e.Path, Query: e.Query,
			Status: e.Status, Latency: int64(e.Latency), RequestBytes: e.RequestBytes, ResponseBytes: e.ResponseBytes,
			Scopes: e.Scopes, RequestID: e.RequestID, Connector: e.Connector, Channel: e.Channel,
			Accept: e.Accept, Preconditions: e.Preconditions, RetryAfter: int64(e.RetryAfter / time.Second)}
		if e.OAuth != nil {
			o := storedOAuth(*e.OAuth)
			se.OAuth = &o
		}
		for _, is := range e.Issues {
			se.Issues = append(se.Issues, storedIssue(is))
		}
		for _, v := range e.Verdicts {
			se.Verdicts = append(se.Verdicts, storedVerdict(v))
		}
		stored[j] = se
		idBuf = binary.AppendUvarint(idBuf, uint64(ids[i]-prev))
		prev = ids[i]
	}
	body, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO chunks (sandbox, last_id, ids, body) VALUES (?, ?, ?, ?)`,
		sandbox, prev, idBuf, body); err != nil {
		return err
	}
	var visible, floor int64
	err = tx.QueryRowContext(ctx, `INSERT INTO sandboxes (sandbox, visible, floor) VALUES (?, ?, 0)
		ON CONFLICT (sandbox) DO UPDATE SET visible = sandboxes.visible + excluded.visible RETURNING visible, floor`,
		sandbox, len(idx)).Scan(&visible, &floor)
	if err != nil {
		return err
	}
	if visible <= int64(s.bound) {
		return nil
	}
	return s.trim(ctx, tx, sandbox, visible-int64(s.bound), floor)
}

// trim hides the excess oldest visible entries of sandbox: whole chunks
// are deleted, and the floor rises into a chunk that keeps some.
func (s *SQLStore) trim(ctx context.Context, tx tx, sandbox string, excess, floor int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT rowid, ids FROM chunks WHERE sandbox = ? ORDER BY last_id`, sandbox)
	if err != nil {
		return err
	}
	var drop []int64
	for excess > 0 && rows.Next() {
		var rowid int64
		var idBuf []byte
		if err := rows.Scan(&rowid, &idBuf); err != nil {
			rows.Close()
			return err
		}
		chunkIDs, err := decodeIDs(idBuf)
		if err != nil {
			rows.Close()
			return err
		}
		var vis []int64
		for _, id := range chunkIDs {
			if id >= floor {
				vis = append(vis, id)
			}
		}
		if int64(len(vis)) <= excess {
			drop = append(drop, rowid)
			excess -= int64(len(vis))
			continue
		}
		floor = vis[excess]
		excess = 0
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	rows.Close()
	for _, rowid := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE rowid = ?`, rowid); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE sandboxes SET visible = ?, floor = ? WHERE sandbox = ?`, s.bound, floor, sandbox)
	return err
}

func decodeIDs(b []byte) ([]int64, error) {
	var ids []int64
	prev := int64(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("requestlog: corrupt chunk ids")
		}
		prev += int64(d)
		ids = append(ids, prev)
		b = b[n:]
	}
	return ids, nil
}

// Query implements Store.
func (s *SQLStore) Query(ctx context.Context, f Filter) (Page, error) {
	f, err := f.Normalized()
	if err != nil {
		return Page{}, err
	}
	tx, err := s.db.begin(ctx, &sql.TxOptions{Isolation: s.db.snapshot, ReadOnly: true})
	if err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	defer tx.Rollback()
	var floor int64
	err = tx.QueryRowContext(ctx, `SELECT floor FROM sandboxes WHERE sandbox = ?`, f.Sandbox).Scan(&floor)
	if errors.Is(err, sql.ErrNoRows) {
		return Page{}, nil
	}
	if err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	q, args := `SELECT ids, body FROM chunks WHERE sandbox = ? ORDER BY last_id DESC`, []any{f.Sandbox}
	if f.Before > 0 {
		// Chunks of a sandbox hold disjoint id ranges: those wholly below
		// the cursor, and the one (the oldest with last_id at or above it)
		// that may hold some below it.
		q = `SELECT ids, body FROM chunks WHERE sandbox = ? AND rowid IN (SELECT rowid FROM chunks WHERE sandbox = ? AND last_id < ?
			UNION SELECT rowid FROM (SELECT rowid FROM chunks WHERE sandbox = ? AND last_id >= ? ORDER BY last_id LIMIT 1) AS oldest) ORDER BY last_id DESC`
		args = []any{f.Sandbox, f.Sandbox, f.Before, f.Sandbox, f.Before}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		var idBuf, body []byte
		if err := rows.Scan(&idBuf, &body); err != nil {
			return Page{}, fmt.Errorf("requestlog: query: %w", err)
		}
		ids, err := decodeIDs(idBuf)
		if err != nil {
			return Page{}, err
		}
		var stored []storedEntry
		if err := json.Unmarshal(body, &stored); err != nil || len(stored) != len(ids) {
			return Page{}, fmt.Errorf("requestlog: query: corrupt chunk: %v", err)
		}
		for i := len(stored) - 1; i >= 0; i-- {
			if ids[i] < floor || (f.Before > 0 && ids[i] >= f.Before) {
				continue
			}
			e := stored[i].entry(f.Sandbox, ids[i])
			if !f.Match(&e) {
				continue
			}
			if len(p.Entries) == f.Limit {
				p.Next = p.Entries[len(p.Entries)-1].ID
				return p, nil
			}
			p.Entries = append(p.Entries, e)
		}
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("requestlog: query: %w", err)
	}
	return p, nil
}

func (se *storedEntry) entry(sandbox string, id int64) Entry {
	e := Entry{ID: id, Sandbox: sandbox, Time: time.Unix(0, se.Time).UTC(), ClientID: se.ClientID, Method: se.Method,
		Path: se.Path, Query: se.Query, Status: se.Status, Latency: time.Duration(se.Latency),
		RequestBytes: se.RequestBytes, ResponseBytes: se.ResponseBytes, Scopes: se.Scopes, RequestID: se.RequestID,
		Connector: se.Connector, Channel: se.Channel, Accept: se.Accept, Preconditions: se.Preconditions,
		RetryAfter: time.Duration(se.RetryAfter) * time.Second}
	if se.OAuth != nil {
		o := OAuth(*se.OAuth)
		e.OAuth = &o
	}
	for _, v := range se.Verdicts {
		e.Verdicts = append(e.Verdicts, Verdict(v))
	}
	if len(se.Issues) > 0 {
		e.Issues = make([]Issue, len(se.Issues))
		for i, is := range se.Issues {
			e.Issues[i] = Issue(is)
		}
	}
	return e
}

// DeleteSandbox implements Store.
func (s *SQLStore) DeleteSandbox(ctx context.Context, sandbox string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("requestlog: delete sandbox: %w", err)
	}
	defer tx.Rollback()
	// The sandbox's count first, as Append locks it before it trims
	// chunks: two gateways never wait on each other's locks.
	for _, stmt := range []string{`DELETE FROM sandboxes WHERE sandbox = ?`, `DELETE FROM chunks WHERE sandbox = ?`} {
		if _, err := tx.ExecContext(ctx, stmt, sandbox); err != nil {
			return fmt.Errorf("requestlog: delete sandbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("requestlog: delete sandbox: %w", err)
	}
	return nil
}

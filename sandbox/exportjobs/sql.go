package exportjobs

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"hpsandbox/internal/pgschema"
	"hpsandbox/sqlitefile"
)

// SQLStore is a Store in an SQL database: an SQLite file (OpenSQLite) or
// a schema of a PostgreSQL database (OpenPostgres). The queries are the
// same on both engines. A file is rows of ChunkBytes (the last shorter),
// written as the export writes it and read one row at a time.
type SQLStore struct {
	db       *sql.DB
	numbered bool
}

var _ Store = (*SQLStore)(nil)

// ChunkBytes is the size of one stored piece of a file.
const ChunkBytes = 256 << 10

// PostgresSchema is the schema of the jobs' tables in the database that
// --store names.
const PostgresSchema = "hps_exports"

// postgresMigrations are the schema's versions, applied in order by
// pgschema; a released entry is never edited, a change is a new one.
// Times are Unix milliseconds, 0 for none.
var postgresMigrations = []string{
	`CREATE TABLE jobs (
		id               TEXT COLLATE "C" PRIMARY KEY,
		sandbox          TEXT COLLATE "C" NOT NULL,
		request          TEXT   NOT NULL,
		state            TEXT   NOT NULL,
		types_done       INTEGER NOT NULL,
		types_all        INTEGER NOT NULL,
		transaction_time BIGINT NOT NULL,
		error            TEXT   NOT NULL,
		files            TEXT   NOT NULL, -- JSON array of bulkexport.File
		owner            TEXT   NOT NULL,
		heartbeat        BIGINT NOT NULL,
		created          BIGINT NOT NULL,
		expires          BIGINT NOT NULL
	);
	CREATE INDEX jobs_expires ON jobs (expires);
	CREATE TABLE chunks (
		job  TEXT COLLATE "C" NOT NULL,
		name TEXT COLLATE "C" NOT NULL,
		seq  INTEGER NOT NULL,
		data BYTEA NOT NULL,
		PRIMARY KEY (job, name, seq)
	)`,
}

// sqliteVersion is the PRAGMA user_version of sqliteSchema.
const sqliteVersion = 1

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS jobs (
	id               TEXT PRIMARY KEY,
	sandbox          TEXT    NOT NULL,
	request          TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	types_done       INTEGER NOT NULL,
	types_all        INTEGER NOT NULL,
	transaction_time INTEGER NOT NULL,
	error            TEXT    NOT NULL,
	files            TEXT    NOT NULL,
	owner            TEXT    NOT NULL,
	heartbeat        INTEGER NOT NULL,
	created          INTEGER NOT NULL,
	expires          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_expires ON jobs (expires);
CREATE TABLE IF NOT EXISTS chunks (
	job  TEXT    NOT NULL,
	name TEXT    NOT NULL,
	seq  INTEGER NOT NULL,
	data BLOB    NOT NULL,
	PRIMARY KEY (job, name, seq)
) WITHOUT ROWID;
`

// OpenSQLite opens or creates the jobs' file at path (the gateway keeps it
// at <data>/exports.db); an empty path is a private in-memory database.
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	db, err := sqlitefile.Open(ctx, path, sqlitefile.Options{ImmediateTx: true, MaxOpenConns: 4})
	if err != nil {
		return nil, fmt.Errorf("exportjobs: %w", err)
	}
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("exportjobs: %w", err)
	}
	switch {
	case v > sqliteVersion:
		db.Close()
		return nil, fmt.Errorf("exportjobs: %s has schema version %d, newer than this binary's %d; use a newer binary or another file", path, v, sqliteVersion)
	case v < sqliteVersion:
		if _, err := db.ExecContext(ctx, sqliteSchema+fmt.Sprintf(`PRAGMA user_version = %d;`, sqliteVersion)); err != nil {
			db.Close()
			return nil, fmt.Errorf("exportjobs: %w", err)
		}
	}
	return &SQLStore{db: db}, nil
}

// OpenPostgres opens the jobs in the PostgreSQL database at dsn (a
// postgres:// URL), in the schema PostgresSchema, creating or migrating
// its tables first.
func OpenPostgres(ctx context.Context, dsn string) (*SQLStore, error) {
	db, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: PostgresSchema, Migrations: postgresMigrations, MaxConns: 4})
	if err != nil {
		return nil, fmt.Errorf("exportjobs: %w", err)
	}
	return &SQLStore{db: db, numbered: true}, nil
}

// Close implements Store.
func (s *SQLStore) Close() error { return s.db.Close() }

func (s *SQLStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, pgschema.Bind(q, s.numbered), args...)
}

func (s *SQLStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, pgschema.Bind(q, s.numbered), args...)
}

func filesJSON(j *Job) string {
	if len(j.Files) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(j.Files)
	return string(b)
}

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, j *Job) error {
	_, err := s.exec(ctx, `INSERT INTO jobs (id, sandbox, request, state, types_done, types_all, transaction_time, error, files,
		owner, heartbeat, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.Sandbox, j.Request, string(j.State), j.TypesDone, j.TypesAll, pgschema.Millis(j.TransactionTime), j.Error, filesJSON(j),
		j.Owner, pgschema.Millis(j.Heartbeat), pgschema.Millis(j.Created), pgschema.Millis(j.Expires))
	if err != nil {
		return fmt.Errorf("exportjobs: create: %w", err)
	}
	return nil
}

// Job implements Store.
func (s *SQLStore) Job(ctx context.Context, sandbox, id string) (*Job, error) {
	j := &Job{ID: id, Sandbox: sandbox}
	var (
		state, files                    string
		tx, heartbeat, created, expires int64
	)
	err := s.queryRow(ctx, `SELECT request, state, types_done, types_all, transaction_time, error, files, owner, heartbeat, created, expires
		FROM jobs WHERE id = ? AND sandbox = ? AND expires > ?`, id, sandbox, time.Now().UnixMilli()).
		Scan(&j.Request, &state, &j.TypesDone, &j.TypesAll, &tx, &j.Error, &files, &j.Owner, &heartbeat, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("exportjobs: job: %w", err)
	}
	if err := json.Unmarshal([]byte(files), &j.Files); err != nil {
		return nil, fmt.Errorf("exportjobs: job %s: files: %w", id, err)
	}
	j.State = State(state)
	j.TransactionTime, j.Heartbeat, j.Created, j.Expires = pgschema.FromMillis(tx), pgschema.FromMillis(heartbeat), pgschema.FromMillis(created), pgschema.FromMillis(expires)
	return j, nil
}

// Save implements Store.
func (s *SQLStore) Save(ctx context.Context, j *Job) error {
	res, err := s.exec(ctx, `UPDATE jobs SET state = ?, types_done = ?, types_all = ?, transaction_time = ?, error = ?, files = ?,
		heartbeat = ?, expires = ? WHERE id = ? AND owner = ? AND state = ?`,
		string(j.State), j.TypesDone, j.TypesAll, pgschema.Millis(j.TransactionTime), j.Error, filesJSON(j),
		pgschema.Millis(j.Heartbeat), pgschema.Millis(j.Expires), j.ID, j.Owner, string(Running))
	return affected(res, err, "save")
}

// Abandon implements Store.
func (s *SQLStore) Abandon(ctx context.Context, id string, heartbeat time.Time, reason string, expires time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE jobs SET state = ?, error = ?, expires = ? WHERE id = ? AND state = ? AND heartbeat = ?`,
		string(Failed), reason, pgschema.Millis(expires), id, string(Running), pgschema.Millis(heartbeat))
	switch err := affected(res, err, "abandon"); {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("exportjobs: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("exportjobs: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateFile implements Store.
func (s *SQLStore) CreateFile(ctx context.Context, id, name string) (io.WriteCloser, error) {
	// A file written again (a runner retrying) starts over.
	if _, err := s.exec(ctx, `DELETE FROM chunks WHERE job = ? AND name = ?`, id, name); err != nil {
		return nil, fmt.Errorf("exportjobs: create file: %w", err)
	}
	return &chunkWriter{s: s, ctx: ctx, id: id, name: name}, nil
}

// chunkWriter stores what is written in rows of ChunkBytes.
type chunkWriter struct {
	s        *SQLStore
	ctx      context.Context
	id, name string
	seq      int
	buf      bytes.Buffer
	err      error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		room := ChunkBytes - w.buf.Len()
		k := min(room, len(p))
		w.buf.Write(p[:k])
		p = p[k:]
		if w.buf.Len() == ChunkBytes {
			if w.err = w.flush(); w.err != nil {
				return 0, w.err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	if _, err := w.s.exec(w.ctx, `INSERT INTO chunks (job, name, seq, data) VALUES (?, ?, ?, ?)`, w.id, w.name, w.seq, w.buf.Bytes()); err != nil {
		return fmt.Errorf("exportjobs: write %s: %w", w.name, err)
	}
	w.seq++
	w.buf.Reset()
	return nil
}

func (w *chunkWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.flush()
	if w.err == nil {
		w.err = errors.New("exportjobs: file closed")
		return nil
	}
	return w.err
}

// OpenFile implements Store.
func (s *SQLStore) OpenFile(ctx context.Context, id, name string) (io.ReadCloser, int64, error) {
	var n, size int64
	if err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM chunks WHERE job = ? AND name = ?`, id, name).
		Scan(&n, &size); err != nil {
		return nil, 0, fmt.Errorf("exportjobs: open file: %w", err)
	}
	if n == 0 {
		return nil, 0, ErrNotFound
	}
	return &chunkReader{s: s, ctx: ctx, id: id, name: name, n: int(n)}, size, nil
}

// chunkReader reads a file a row at a time, holding one in memory.
type chunkReader struct {
	s        *SQLStore
	ctx      context.Context
	id, name string
	seq, n   int
	cur      []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.seq == r.n {
			return 0, io.EOF
		}
		if err := r.s.queryRow(r.ctx, `SELECT data FROM chunks WHERE job = ? AND name = ? AND seq = ?`, r.id, r.name, r.seq).
			Scan(&r.cur); err != nil {
			return 0, fmt.Errorf("exportjobs: read %s: %w", r.name, err)
		}
		r.seq++
	}
	k := copy(p, r.cur)
	r.cur = r.cur[k:]
	return k, nil
}

func (r *chunkReader) Close() error { return nil }

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, sandbox, id string) error {
	res, err := s.exec(ctx, `DELETE FROM jobs WHERE id = ? AND sandbox = ?`, id, sandbox)
	if err := affected(res, err, "delete"); err != nil {
		return err
	}
	if _, err := s.exec(ctx, `DELETE FROM chunks WHERE job = ?`, id); err != nil {
		return fmt.Errorf("exportjobs: delete: %w", err)
	}
	return nil
}

// Sweep implements Store.
func (s *SQLStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM jobs WHERE expires < ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("exportjobs: sweep: %w", err)
	}
	n, _ := res.RowsAffected()
	// The files of jobs gone: expired now, or deleted while their runner
	// still wrote.
	if _, err := s.exec(ctx, `DELETE FROM chunks WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = chunks.job)`); err != nil {
		return int(n), fmt.Errorf("exportjobs: sweep: %w", err)
	}
	return int(n), nil
}

package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// tx runs the store's operations on one querier: a transaction for writes,
// the read pool for plain reads.
type tx struct {
	s     *Store
	q     querier
	sqlTx *sql.Tx // nil for reads on the read pool
	// lookup: a read by id, on the lookups pool (Options.Lookups).
	lookup bool
	bound  [numStmts]*sql.Stmt
	// txStmts are the search statements bound into the transaction, by
	// their text (see txStmt).
	txStmts map[string]*sql.Stmt
	// unprepared are the search statements the transaction ran without
	// a prepared statement, to be prepared once it ended.
	unprepared []string
	// pending are the writes whose index rows wait to be inserted; rows is
	// the flush's buffer of those rows, per table (see writeIndex).
	pending  []*pendingIndex
	rows     [numIndexTables][]any
	flushErr error
	// pre is the index of the resource the running single write stores,
	// extracted before the write was queued (see preExtract); the write's
	// writeIndex takes it instead of extracting the body again.
	pre *searchparam.Index
	// changes are the versions written, in order, for the commit
	// observers (observe.go).
	changes []fhirstore.Change
	// chainWindowed says the last page was found by walking the type
	// (walkPage), whose search leaves the default total out.
	chainWindowed bool
	// plan is the indexed search plan of the query planned (see
	// indexedPlan), which its page and its count share.
	plan    *indexPlan
	planned *search.Query
	// written counts the versions the transaction wrote (see analyze).
	written int
	// copy, when set, streams index rows into their tables (a bulk load's
	// transaction; see copyIndex).
	copy copyFunc
}

// flushing is the querier of a write transaction: before any statement it
// inserts the queued index rows, so that what the transaction reads (its
// searches above all) includes what it wrote.
type flushing struct{ t *tx }

func (f flushing) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := f.t.flushIndex(ctx); err != nil {
		return nil, err
	}
	return f.t.sqlTx.ExecContext(ctx, query, args...)
}

func (f flushing) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := f.t.flushIndex(ctx); err != nil {
		return nil, err
	}
	return f.t.sqlTx.QueryContext(ctx, query, args...)
}

// QueryRowContext cannot return the error of a failed flush; the error
// sticks and fails the commit, so nothing read without the rows can land.
func (f flushing) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	_ = f.t.flushIndex(ctx)
	return f.t.sqlTx.QueryRowContext(ctx, query, args...)
}

// stmt returns a prepared statement usable by this tx: the write pool's
// bound into the transaction, or the read pool's.
func (t *tx) stmt(ctx context.Context, which stmt) *sql.Stmt {
	if t.sqlTx == nil {
		if t.lookup {
			return t.s.lst[which]
		}
		return t.s.rst[which]
	}
	if t.bound[which] == nil {
		t.bound[which] = t.sqlTx.StmtContext(ctx, t.s.wst[which])
	}
	return t.bound[which]
}

func (t *tx) wrap(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", t.s.d.Name, op, err)
}

func scanVersion(sc interface{ Scan(...any) error }) (*fhirstore.Resource, error) {
	var r fhirstore.Resource
	var ms int64
	var method string
	if err := sc.Scan(&r.Type, &r.ID, &r.Version, &ms, &method, &r.Body); err != nil {
		return nil, err
	}
	r.LastUpdated = time.UnixMilli(ms).UTC()
	r.Method = fhirstore.Method(method)
	return &r, nil
}

// body scans a resource body into *dst: the driver's bytes themselves
// when they are fresh (Dialect.FreshBlobs), else a copy, as database/sql
// makes one for a *[]byte.
type body struct {
	dst   *[]byte
	fresh bool
}

func (b body) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		if !b.fresh {
			v = bytes.Clone(v)
		}
		*b.dst = v
	case string:
		*b.dst = []byte(v)
	case nil:
		*b.dst = nil
	default:
		return fmt.Errorf("resource body of type %T", src)
	}
	return nil
}

// scanKeyed scans a row of keyedCols: a version of typ/id.
func (t *tx) scanKeyed(sc interface{ Scan(...any) error }, typ, id string) (*fhirstore.Resource, error) {
	r := &fhirstore.Resource{Type: typ, ID: id}
	var ms int64
	var method string
	if err := sc.Scan(&r.Version, &ms, &method, body{&r.Body, t.s.d.FreshBlobs}); err != nil {
		return nil, err
	}
	r.LastUpdated = time.UnixMilli(ms).UTC()
	r.Method = fhirstore.Method(method)
	return r, nil
}

func (t *tx) Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	if conf := search.ConfinementOf(ctx); conf.Limits(typ) {
		return t.readConfined(ctx, string(sandbox), typ, id, conf)
	}
	qctx := ctx
	if t.sqlTx == nil {
		// A read by id on a pool takes microseconds: interrupting it
		// would save nothing, while a cancellable context costs every
		// read a goroutine of database/sql's and a callback of the
		// driver's that watch it. A context ended before fails it as
		// before.
		if err := ctx.Err(); err != nil {
			return nil, t.wrap("read", err)
		}
		qctx = context.WithoutCancel(ctx)
	}
	r, err := t.scanKeyed(t.stmt(ctx, stRead).QueryRowContext(qctx, string(sandbox), typ, id), typ, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fhirstore.ErrNotFound
	}
	if err != nil {
		return nil, t.wrap("read", err)
	}
	if r.Deleted() {
		return nil, &fhirstore.GoneError{Resource: r}
	}
	return r, nil
}

// readConfined is Read under a confinement that limits typ: the current
// version and whether the confinement lets it be seen, in one statement
// (one snapshot, one round). The check reads the version's index rows
// only, as a search's of one id would; a deletion is answered as such
// whatever it says.
func (t *tx) readConfined(ctx context.Context, sandbox, typ, id string, conf *search.Confinement) (*fhirstore.Resource, error) {
	c := &compiler{d: t.s.d, sandbox: sandbox, confine: conf, probe: true, correlate: true}
	c.w(`SELECT ` + keyedCols + `, (SELECT COUNT(*) FROM resource r WHERE sandbox = ? AND type = ? AND id = ?`)
	c.args = append(c.args, sandbox, typ, id)
	c.confinedRows("r", []string{typ})
	c.w(`) FROM resource WHERE sandbox = ? AND type = ? AND id = ?`)
	c.args = append(c.args, sandbox, typ, id)
	rows, release, err := t.searchQuery(ctx, rebind(t.s.d, c.b.String()), c.args)
	if err != nil {
		return nil, t.wrap("read confined", err)
	}
	defer release()
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, t.wrap("read confined", err)
		}
		return nil, fhirstore.ErrNotFound
	}
	var visible int
	r, err := t.scanKeyed(scanWith{rows, &visible}, typ, id)
	if err != nil {
		return nil, t.wrap("read confined", err)
	}
	switch {
	case r.Deleted():
		return nil, &fhirstore.GoneError{Resource: r}
	case visible == 0:
		return nil, fmt.Errorf("%s/%s: %w", typ, id, fhirstore.ErrNotVisible)
	}
	return r, nil
}

// scanWith scans a row into the destinations it is given and then more.
type scanWith struct {
	sc   interface{ Scan(...any) error }
	more any
}

func (s scanWith) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.more)...) }

func (t *tx) VRead(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64) (*fhirstore.Resource, error) {
	r, err := t.scanKeyed(t.stmt(ctx, stVRead).QueryRowContext(ctx, string(sandbox), typ, id, version, string(sandbox), typ, id, version), typ, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fhirstore.ErrNotFound
	}
	if err != nil {
		return nil, t.wrap("vread", err)
	}
	// Under a confinement a version it does not let be seen is not there.
	if ok, err := t.versionVisible(ctx, string(sandbox), typ, id, version); err != nil || !ok {
		if err == nil {
			err = fhirstore.ErrNotFound
		}
		return nil, err
	}
	return r, nil
}

// current is the part of the current row a write needs.
type current struct {
	rid         int64
	version     int64
	lastUpdated int64
	method      fhirstore.Method
}

func (t *tx) current(ctx context.Context, sandbox, typ, id string) (*current, error) {
	var c current
	var method string
	err := t.stmt(ctx, stReadForUpdate).QueryRowContext(ctx, sandbox, typ, id).Scan(&c.rid, &c.version, &c.lastUpdated, &method)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, t.wrap("read current", err)
	}
	c.method = fhirstore.Method(method)
	return &c, nil
}

// stampTime returns the write's lastUpdated in milliseconds: now, but always
// after the version it replaces (so a resource's versions never share or
// reverse a timestamp) and after any history snapshot already taken.
func (t *tx) stampTime(prev *current) int64 {
	var p int64
	if prev != nil {
		p = prev.lastUpdated
	}
	return t.s.clock.stamp(t.s.now().UnixMilli(), p)
}

// Create inserts without looking first: the INSERT skips a row whose key is
// taken, and a row not inserted is ErrExists. Most creates carry an id that
// was just made (a transaction's POST entries), which a look-up would only
// confirm is free.
func (t *tx) Create(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, id string) (*fhirstore.Resource, error) {
	if id == "" {
		id = t.s.newID()
	}
	return t.insert(ctx, string(sandbox), r, id, fhirstore.MethodCreate)
}

// insert writes version 1 of a resource; ErrExists when its id is taken
// (also by a deletion).
func (t *tx) insert(ctx context.Context, sandbox string, r *fhirjson.Resource, id string, m fhirstore.Method) (*fhirstore.Resource, error) {
	ms := t.stampTime(nil)
	res, err := t.stamped(r, id, 1, ms, m)
	if err != nil {
		return nil, err
	}
	if t.s.d.InsertReturning {
		var rid int64
		err := t.stmt(ctx, stInsert).QueryRowContext(ctx, sandbox, r.Type, id, int64(1), ms, string(m), res.Body).Scan(&rid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s/%s: %w", r.Type, id, fhirstore.ErrExists)
		}
		if err != nil {
			return nil, t.wrap("insert", err)
		}
		if err := t.writeIndex(ctx, sandbox, rid, res.Type, res.Body); err != nil {
			return nil, err
		}
		t.changed(ctx, sandbox, res)
		return res, nil
	}
	result, err := t.stmt(ctx, stInsert).ExecContext(ctx, sandbox, r.Type, id, int64(1), ms, string(m), res.Body)
	if err != nil {
		return nil, t.wrap("insert", err)
	}
	n, err := result.RowsAffected()
	if err != nil {
		return nil, t.wrap("insert", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s/%s: %w", r.Type, id, fhirstore.ErrExists)
	}
	rid, err := result.LastInsertId()
	if err != nil {
		// Engines without LastInsertId: read the key back.
		c, err := t.current(ctx, sandbox, r.Type, id)
		if err != nil || c == nil {
			return nil, t.wrap("insert rid", fmt.Errorf("row not found after insert: %w", err))
		}
		rid = c.rid
	}
	if err := t.writeIndex(ctx, sandbox, rid, res.Type, res.Body); err != nil {
		return nil, err
	}
	t.changed(ctx, sandbox, res)
	return res, nil
}

func (t *tx) stamped(r *fhirjson.Resource, id string, version, ms int64, m fhirstore.Method) (*fhirstore.Resource, error) {
	lu := time.UnixMilli(ms).UTC()
	body, err := fhirjson.Stamp(r.Body, id, version, lu)
	if err != nil {
		return nil, fmt.Errorf("stamp %s/%s: %w", r.Type, id, err)
	}
	return &fhirstore.Resource{Type: r.Type, ID: id, Version: version, LastUpdated: lu, Method: m, Body: body}, nil
}

func (t *tx) Update(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (*fhirstore.Resource, bool, error) {
	if r.ID == "" {
		return nil, false, errors.New("sqlstore: update of a resource without id")
	}
	c, err := t.current(ctx, string(sandbox), r.Type, r.ID)
	if err != nil {
		return nil, false, err
	}
	if opts.IfMatch != 0 && (c == nil || c.version != opts.IfMatch) {
		return nil, false, fmt.Errorf("%s/%s: expected version %d: %w", r.Type, r.ID, opts.IfMatch, fhirstore.ErrVersionConflict)
	}
	if c == nil {
		res, err := t.insert(ctx, string(sandbox), r, r.ID, fhirstore.MethodUpdate)
		if !errors.Is(err, fhirstore.ErrExists) {
			return res, err == nil, err
		}
		// Another writer's transaction (another gateway's) created the
		// resource since it was looked up, and has committed: this update
		// replaces what it wrote.
		if c, err = t.current(ctx, string(sandbox), r.Type, r.ID); err != nil {
			return nil, false, err
		}
		if c == nil {
			return nil, false, t.wrap("update", fmt.Errorf("%s/%s neither inserted nor found", r.Type, r.ID))
		}
	}
	ms := t.stampTime(c)
	res, err := t.stamped(r, r.ID, c.version+1, ms, fhirstore.MethodUpdate)
	if err != nil {
		return nil, false, err
	}
	if err := t.replace(ctx, string(sandbox), c, res); err != nil {
		return nil, false, err
	}
	t.changed(ctx, string(sandbox), res)
	return res, c.method == fhirstore.MethodDelete, nil
}

// replace moves the current row to history, writes res in its place and
// replaces the row's search index (a deletion has none).
func (t *tx) replace(ctx context.Context, sandbox string, c *current, res *fhirstore.Resource) error {
	var x *searchparam.Index
	if c.method != fhirstore.MethodDelete {
		var old []byte
		if err := t.stmt(ctx, stReadBody).QueryRowContext(ctx, c.rid).Scan(&old); err != nil {
			return t.wrap("read old body", err)
		}
		var err error
		if x, err = t.dropIndex(ctx, sandbox, c.rid, res.Type, old); err != nil {
			return err
		}
	}
	if _, err := t.stmt(ctx, stArchive).ExecContext(ctx, c.rid); err != nil {
		return t.wrap("archive", err)
	}
	if x != nil {
		if err := t.archiveIndex(ctx, versionKey{sandbox, res.Type, res.ID, c.version}, x); err != nil {
			return err
		}
	}
	var body any
	if res.Body != nil {
		body = res.Body
	}
	if _, err := t.stmt(ctx, stReplace).ExecContext(ctx, res.Version, res.LastUpdated.UnixMilli(), string(res.Method), body, c.rid); err != nil {
		return t.wrap("replace", err)
	}
	if res.Body == nil {
		return nil
	}
	return t.writeIndex(ctx, sandbox, c.rid, res.Type, res.Body)
}

func (t *tx) Delete(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	c, err := t.current(ctx, string(sandbox), typ, id)
	if err != nil || c == nil || c.method == fhirstore.MethodDelete {
		return nil, err
	}
	ms := t.stampTime(c)
	res := &fhirstore.Resource{Type: typ, ID: id, Version: c.version + 1,
		LastUpdated: time.UnixMilli(ms).UTC(), Method: fhirstore.MethodDelete}
	if err := t.replace(ctx, string(sandbox), c, res); err != nil {
		return nil, err
	}
	t.changed(ctx, string(sandbox), res)
	return res, nil
}

func (t *tx) History(ctx context.Context, sandbox fhirstore.Sandbox, hq fhirstore.HistoryQuery) (*fhirstore.HistoryPage, error) {
	conds := []string{"sandbox = ?"}
	args := []any{string(sandbox)}
	if hq.Type != "" {
		conds = append(conds, "type = ?")
		args = append(args, hq.Type)
	}
	if hq.ID != "" {
		conds = append(conds, "id = ?")
		args = append(args, hq.ID)
	}
	if !hq.Since.IsZero() {
		conds = append(conds, "last_updated >= ?")
		args = append(args, hq.Since.UnixMilli())
	}
	unbounded := hq.Before.IsZero()
	snapshot := hq.Before.UnixMilli()
	if unbounded {
		snapshot = t.s.clock.snapshot(t.s.now().UnixMilli())
	}
	conds = append(conds, "last_updated <= ?")
	args = append(args, snapshot)
	where := strings.Join(conds, " AND ")
	// Under a confinement, only the versions it lets be seen.
	var types []string
	if hq.Type != "" {
		types = []string{hq.Type}
	}
	cur, curArgs, past, pastArgs := confinedVersions(string(sandbox), search.ConfinementOf(ctx), types, hq.ID != "")
	both := append(append(append(append([]any{}, args...), curArgs...), args...), pastArgs...)
	page := &fhirstore.HistoryPage{Snapshot: time.UnixMilli(snapshot).UTC()}
	count := rebind(t.s.d, `SELECT (SELECT COUNT(*) FROM resource r WHERE `+where+cur+`) + (SELECT COUNT(*) FROM resource_history h WHERE `+where+past+`)`)
	if err := t.q.QueryRowContext(ctx, count, both...).Scan(&page.Total); err != nil {
		return nil, t.wrap("history count", err)
	}
	if hq.ID != "" && page.Total == 0 && hq.Since.IsZero() && unbounded {
		return nil, fhirstore.ErrNotFound
	}
	if hq.Count <= 0 || page.Total == 0 {
		return page, nil
	}
	list := rebind(t.s.d, `SELECT `+versionCols+` FROM resource r WHERE `+where+cur+
		` UNION ALL SELECT `+versionCols+` FROM resource_history h WHERE `+where+past+
		` ORDER BY last_updated DESC, type, id, version DESC LIMIT ? OFFSET ?`)
	rows, err := t.q.QueryContext(ctx, list, append(both, hq.Count, hq.Offset)...)
	if err != nil {
		return nil, t.wrap("history", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanVersion(rows)
		if err != nil {
			return nil, t.wrap("history scan", err)
		}
		page.Versions = append(page.Versions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, t.wrap("history rows", err)
	}
	return page, nil
}

func (t *tx) ReplaceMeta(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	c, err := t.current(ctx, string(sandbox), typ, id)
	if err != nil {
		return err
	}
	if c != nil && c.version == version {
		if c.method == fhirstore.MethodDelete {
			return fhirstore.ErrNotFound
		}
		var old []byte
		if err := t.stmt(ctx, stReadBody).QueryRowContext(ctx, c.rid).Scan(&old); err != nil {
			return t.wrap("read old body", err)
		}
		if _, err := t.dropIndex(ctx, string(sandbox), c.rid, typ, old); err != nil {
			return err
		}
		q := rebind(t.s.d, `UPDATE resource SET body = ? WHERE rid = ?`)
		if _, err := t.q.ExecContext(ctx, q, body, c.rid); err != nil {
			return t.wrap("replace meta", err)
		}
		return t.writeIndex(ctx, string(sandbox), c.rid, typ, body)
	}
	q := rebind(t.s.d, `UPDATE resource_history SET body = ? WHERE sandbox = ? AND type = ? AND id = ? AND version = ? AND body IS NOT NULL`)
	res, err := t.q.ExecContext(ctx, q, body, sandbox, typ, id, version)
	if err != nil {
		return t.wrap("replace meta", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fhirstore.ErrNotFound
	}
	return t.reindexVersion(ctx, versionKey{string(sandbox), typ, id, version}, body)
}

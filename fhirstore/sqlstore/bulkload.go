package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// The bulk path (fhirstore.BulkLoader) fills an empty sandbox. Each
// resource goes in as version 1 by insert (the same insert, stamp and
// index rows as Create's), without first looking for a current version: in
// an empty sandbox there is none, and one that appears all the same (an
// id repeated in the input, another writer) makes the insert do nothing,
// after which the resource is written as Update writes it.
//
// When the whole store is empty (a fresh SQLite file), the secondary
// indexes — those no write reads — are dropped for the load and built in
// one pass at its end, which costs a fraction of keeping them up to date
// row by row. A load that never reaches its end (a crash) leaves them
// missing; New builds any missing one when the store opens
// (ensureIndexes).
//
// Where a SQLite bulk load's time goes (sandbox seed --patients 9500,
// 200,720 resources, 3.06 million index rows, --cpuprofile, 30.6 CPU-s):
// generating the fixtures 1.0 s, stamping meta 0.9 s and extracting index
// rows 3.9 s (beside the writer), inserting resources 1.5 s and index rows
// 12.6 s (about 4 µs a row: binding, the interpreted VDBE, B-tree
// inserts), commits 2.3 s, checkpoints 1.4 s (beside the writer), the
// deferred indexes at the end 6.3 s, garbage collection 1.1 s. Tried and
// not kept, as they did not pay on that measure: inserting each flush's
// rows sorted by key (the B-tree seeks got 1.5 s cheaper, the sort cost
// 2.5 s on the writer), keeping the indexes the load appends to (those led
// by rid, those of resource) instead of building them at the end (0.5 to
// 0.9 s more on the writer for 0.4 s less at the end), a 96 MiB page cache
// (no gain above the noise, 100 MB more memory) and the sorter's helper
// threads for the build at the end (no gain above the noise).

var _ fhirstore.BulkLoader = (*Store)(nil)

// BeginBulk implements fhirstore.BulkLoader: ok is false, and nothing
// changed, when sandbox already holds a resource or a past version.
func (s *Store) BeginBulk(ctx context.Context, sandbox fhirstore.Sandbox) (fhirstore.Bulk, bool, error) {
	empty, err := s.emptyOf(ctx, string(sandbox))
	if err != nil || !empty {
		return nil, false, err
	}
	b := &bulk{s: s, sandbox: string(sandbox)}
	if !s.defersIndexes() {
		return b, true, nil
	}
	err = s.Tx(ctx, func(ftx fhirstore.Tx) error {
		t := ftx.(groupTx).tx
		if whole, err := t.storeEmpty(ctx); err != nil || !whole {
			return err
		}
		for _, ix := range secondaryIndexes(s.d) {
			if _, err := t.sqlTx.ExecContext(ctx, `DROP INDEX IF EXISTS `+ix.name); err != nil {
				return t.wrap("bulk load: drop index "+ix.name, err)
			}
		}
		b.dropped = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// defersIndexes says whether a bulk load into an empty store builds the
// secondary indexes at its end. SQLite builds an index from a sorted pass
// over its table, far faster than by the inserts of the load; PostgreSQL's
// indexes are left alone, as other gateways may be reading the database.
func (s *Store) defersIndexes() bool { return s.d.Name == "sqlite" }

// emptyOf reports whether sandbox has neither resources nor history.
func (s *Store) emptyOf(ctx context.Context, sandbox string) (bool, error) {
	var n int
	q := rebind(s.d, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM resource WHERE sandbox = ? LIMIT 1) a)
		+ (SELECT COUNT(*) FROM (SELECT 1 FROM resource_history WHERE sandbox = ? LIMIT 1) b)`)
	if err := s.read.QueryRowContext(ctx, q, sandbox, sandbox).Scan(&n); err != nil {
		return false, fmt.Errorf("%s: bulk load: %w", s.d.Name, err)
	}
	return n == 0, nil
}

// storeEmpty reports whether no sandbox of the store has anything.
func (t *tx) storeEmpty(ctx context.Context) (bool, error) {
	var n int
	err := t.sqlTx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM resource LIMIT 1) a)
		+ (SELECT COUNT(*) FROM (SELECT 1 FROM resource_history LIMIT 1) b)`).Scan(&n)
	if err != nil {
		return false, t.wrap("bulk load", err)
	}
	return n == 0, nil
}

// bulk is one bulk load.
type bulk struct {
	s       *Store
	sandbox string
	// dropped: the secondary indexes were dropped and End builds them.
	dropped bool
}

// Tx implements fhirstore.Bulk. Where single writes share group
// transactions (SQLite), it is a transaction of its own on the writer
// connection, which it holds meanwhile, without the savepoint a group
// gives each write: a savepoint keeps the pages it changes in a journal in
// memory (temp_store), which for a large transaction grows with the store.
// Where the engine can stream rows into a table (Dialect.CopyFrom), it is
// likewise a transaction of its own on a connection it holds, whose index
// rows are copied (see copyIndex). Elsewhere it is Store.Tx. As groupTx's
// writes, its inserts run without the caller's cancellation.
func (b *bulk) Tx(ctx context.Context, fn func(fhirstore.BulkTx) error) error {
	s := b.s
	if !s.groupCommit && s.d.CopyFrom == nil {
		return s.Tx(ctx, func(ftx fhirstore.Tx) error {
			bt := &bulkTx{t: ftx.(groupTx).tx, sandbox: b.sandbox, many: s.d.InsertReturning}
			if err := fn(bt); err != nil {
				return err
			}
			return bt.flush(context.WithoutCancel(ctx))
		})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.gc.mu.RLock() // Close waits for the transaction
	defer s.gc.mu.RUnlock()
	if s.gc.closed {
		return ErrClosed
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: bulk load: %w", s.d.Name, err)
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("%s: bulk load: begin: %w", s.d.Name, err)
	}
	t := &tx{s: s, sqlTx: sqlTx}
	t.q = flushing{t}
	many := false
	if s.d.CopyFrom != nil {
		t.copy = copier(conn, s.d.CopyFrom)
		many = s.d.InsertReturning
	}
	err = runGuarded(ctx, t, func(ctx context.Context, t *tx) error {
		bt := &bulkTx{t: t, sandbox: b.sandbox, many: many}
		if err := fn(bt); err != nil {
			return err
		}
		return bt.flush(context.WithoutCancel(ctx))
	})
	if err == nil {
		err = t.flushIndex(context.WithoutCancel(ctx))
	}
	t.settle()
	if err != nil {
		_ = sqlTx.Rollback()
		return unpanic(err)
	}
	turn := s.ticket()
	if err := sqlTx.Commit(); err != nil {
		s.settle(turn, nil)
		return fmt.Errorf("%s: bulk load: commit: %w", s.d.Name, err)
	}
	s.committed()
	s.settle(turn, t.changes)
	return nil
}

// End implements fhirstore.Bulk: it builds the indexes the load dropped.
// It runs to its end even when ctx is cancelled, since a store is slow to
// search without them (and builds them when it next opens anyway).
func (b *bulk) End(ctx context.Context) error {
	if !b.dropped {
		return nil
	}
	b.dropped = false
	_, err := b.s.ensureIndexes(context.WithoutCancel(ctx))
	return err
}

// bulkTx is the fhirstore.BulkTx of a bulk load's transaction.
type bulkTx struct {
	t       *tx
	sandbox string
	// many: resources are inserted bulkRows at a time, by one statement
	// whose RETURNING gives their rids (PostgreSQL, where each statement is
	// a round trip to the server); buf holds those not inserted yet.
	many bool
	buf  []*fhirjson.Resource
}

// bulkRows is the number of resources of one multi-row insert.
const bulkRows = 64

// Insert implements fhirstore.BulkTx. As groupTx's writes, it runs without
// its caller's cancellation (an interrupted write rolls back the group).
func (b *bulkTx) Insert(ctx context.Context, r *fhirjson.Resource) error {
	if r.ID == "" {
		return errors.New("sqlstore: bulk insert of a resource without id")
	}
	ctx = context.WithoutCancel(ctx)
	if b.many {
		b.buf = append(b.buf, r)
		if len(b.buf) < bulkRows {
			return nil
		}
		return b.flush(ctx)
	}
	_, err := b.t.insert(ctx, b.sandbox, r, r.ID, fhirstore.MethodUpdate)
	if errors.Is(err, fhirstore.ErrExists) {
		_, _, err = b.t.Update(ctx, fhirstore.Sandbox(b.sandbox), r, fhirstore.UpdateOptions{})
	}
	return err
}

// flush inserts the buffered resources in one statement, each as insert
// would, and writes those whose id was taken (also by an earlier one of the
// same statement) as Update does, in the order of the input.
func (b *bulkTx) flush(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	t := b.t
	rs := b.buf
	b.buf = b.buf[:0]
	stamped := make([]*fhirstore.Resource, len(rs))
	args := make([]any, 0, 7*len(rs))
	for i, r := range rs {
		res, err := t.stamped(r, r.ID, 1, t.stampTime(nil), fhirstore.MethodUpdate)
		if err != nil {
			return err
		}
		stamped[i] = res
		args = append(args, b.sandbox, r.Type, r.ID, int64(1), res.LastUpdated.UnixMilli(), string(res.Method), res.Body)
	}
	q := rebind(t.s.d, `INSERT INTO resource (sandbox, type, id, version, last_updated, method, body) VALUES `+
		strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(rs)-1)+`(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sandbox, type, id) DO NOTHING RETURNING rid, type, id`)
	// The insert reads no index rows: where they are copied, those of the
	// resources before it stay queued, to be copied with more at once
	// (the querier t.q would flush them first).
	var on querier = t.q
	if t.copy != nil {
		on = t.sqlTx
	}
	rows, err := on.QueryContext(ctx, q, args...)
	if err != nil {
		return t.wrap("bulk insert", err)
	}
	rids := make(map[[2]string]int64, len(rs))
	for rows.Next() {
		var rid int64
		var typ, id string
		if err := rows.Scan(&rid, &typ, &id); err != nil {
			rows.Close()
			return t.wrap("bulk insert", err)
		}
		rids[[2]string{typ, id}] = rid
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return t.wrap("bulk insert", err)
	}
	for i, r := range rs {
		key := [2]string{r.Type, r.ID}
		rid, ok := rids[key]
		if !ok {
			if _, _, err := t.Update(ctx, fhirstore.Sandbox(b.sandbox), r, fhirstore.UpdateOptions{}); err != nil {
				return fmt.Errorf("%s/%s: %w", r.Type, r.ID, err)
			}
			continue
		}
		delete(rids, key) // a later one of the same id is an update
		if err := t.writeIndex(ctx, b.sandbox, rid, r.Type, stamped[i].Body); err != nil {
			return err
		}
		t.changed(ctx, b.sandbox, stamped[i])
	}
	return nil
}

// secondaryIndex is one index of the schema that a bulk load may drop: not
// a key, and read by no write (an insert's conflict is found by the keys).
type secondaryIndex struct {
	name string
	// create creates it if it is missing.
	create string
}

var (
	createIndexRE = regexp.MustCompile(`^CREATE INDEX (?:IF NOT EXISTS )?(\w+) `)
	dropIndexRE   = regexp.MustCompile(`^DROP INDEX (?:IF EXISTS )?(\w+)`)
)

// secondaryIndexes are the indexes the migrations create (and do not drop
// again), in the dialect's words: CREATE INDEX, not CREATE UNIQUE INDEX or
// a table's key.
func secondaryIndexes(d Dialect) []secondaryIndex {
	sortKey := ""
	if d.TextSortKeys {
		sortKey = " TEXT"
	}
	r := strings.NewReplacer("{{AUTOID}}", d.AutoID, "{{BLOB}}", d.Blob, "{{CLUSTERED}}", clustered(d), "{{SORTKEY}}", sortKey)
	var out []secondaryIndex
	for _, m := range migrations {
		for _, stmt := range m {
			stmt = strings.TrimSpace(stmt)
			if g := dropIndexRE.FindStringSubmatch(stmt); g != nil {
				out = slicesDeleteName(out, g[1])
				continue
			}
			g := createIndexRE.FindStringSubmatch(stmt)
			if g == nil {
				continue
			}
			create := "CREATE INDEX IF NOT EXISTS " + g[1] + " " + stmt[len(g[0]):]
			out = append(slicesDeleteName(out, g[1]), secondaryIndex{name: g[1], create: withText(d, r.Replace(create))})
		}
	}
	return out
}

func slicesDeleteName(ixs []secondaryIndex, name string) []secondaryIndex {
	out := ixs[:0]
	for _, ix := range ixs {
		if ix.name != name {
			out = append(out, ix)
		}
	}
	return out
}

// createIndexes creates the secondary indexes that are missing and returns
// their names.
func (t *tx) createIndexes(ctx context.Context) ([]string, error) {
	have := map[string]bool{}
	rows, err := t.sqlTx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return nil, t.wrap("indexes", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, t.wrap("indexes", err)
		}
		have[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, t.wrap("indexes", err)
	}
	var made []string
	for _, ix := range secondaryIndexes(t.s.d) {
		if have[ix.name] {
			continue
		}
		if _, err := t.sqlTx.ExecContext(ctx, ix.create); err != nil {
			return made, t.wrap("create index "+ix.name, err)
		}
		made = append(made, ix.name)
	}
	return made, nil
}

// ensureIndexes builds the secondary indexes that are missing: at the end
// of a bulk load, and when the store opens, after a load that dropped them
// did not reach its end (the process ended), so that a store never stays
// without them. It returns the indexes it built.
//
// It takes the writer connection from the committer for the while, and
// sorts on temporary files rather than in memory (the connection's
// temp_store), so that building the indexes of a large store stays within
// the memory the page cache takes.
func (s *Store) ensureIndexes(ctx context.Context) (made []string, err error) {
	if !s.defersIndexes() {
		return nil, nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: indexes: %w", s.d.Name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return nil, fmt.Errorf("%s: indexes: %w", s.d.Name, err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`); rerr != nil && err == nil {
			err = fmt.Errorf("%s: indexes: %w", s.d.Name, rerr)
		}
	}()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: indexes: %w", s.d.Name, err)
	}
	defer sqlTx.Rollback()
	t := &tx{s: s, q: sqlTx, sqlTx: sqlTx}
	if made, err = t.createIndexes(ctx); err != nil || len(made) == 0 {
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: indexes: %w", s.d.Name, err)
	}
	return made, nil
}

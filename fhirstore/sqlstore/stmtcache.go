package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
)

// stmtCacheSize bounds the search statements kept prepared. Searches of
// one shape (the same parameters, modifiers and value counts) share their
// SQL text, so a few hundred cover what clients repeat.
const stmtCacheSize = 256

// lookupStmtCacheSize bounds the statements kept prepared on the pool of
// reads by id: the confinement checks of reads and vreads, one shape per
// kind of token confinement.
const lookupStmtCacheSize = 64

// stmtCache keeps search statements prepared on the read pool, by their
// SQL text, so that a search repeated with other values is not parsed and
// planned again: for small searches SQLite's parser and planner are most
// of the cost. database/sql prepares a Stmt on each connection it runs on,
// once. The least recently used statement leaves when the cache is full,
// and is closed when its last user is done with it.
type stmtCache struct {
	db  *sql.DB
	max int

	mu    sync.Mutex
	byKey map[string]*cachedStmt
	order *list.List // of *cachedStmt, most recently used first
	// prepared counts the statements prepared (the cache's misses).
	prepared atomic.Int64
}

type cachedStmt struct {
	key     string
	st      *sql.Stmt
	users   int
	evicted bool
	elem    *list.Element
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, byKey: map[string]*cachedStmt{}, order: list.New()}
}

// get returns the prepared statement of query and a release function the
// caller must call once it is done with the statement (its rows closed).
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, func(), error) {
	c.mu.Lock()
	if cs, ok := c.byKey[query]; ok {
		cs.users++
		c.order.MoveToFront(cs.elem)
		c.mu.Unlock()
		return cs.st, c.releaser(cs), nil
	}
	c.mu.Unlock()
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	c.prepared.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.byKey[query]; ok {
		// Prepared meanwhile by another search: keep that one.
		st.Close()
		cs.users++
		c.order.MoveToFront(cs.elem)
		return cs.st, c.releaser(cs), nil
	}
	cs := &cachedStmt{key: query, st: st, users: 1}
	cs.elem = c.order.PushFront(cs)
	c.byKey[query] = cs
	for c.order.Len() > c.max {
		old := c.order.Remove(c.order.Back()).(*cachedStmt)
		delete(c.byKey, old.key)
		old.evicted = true
		if old.users == 0 {
			old.st.Close()
		}
	}
	return st, c.releaser(cs), nil
}

// cached is get without preparing: ok is false when query has no
// statement in the cache.
func (c *stmtCache) cached(query string) (st *sql.Stmt, release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := c.byKey[query]
	if !ok {
		return nil, nil, false
	}
	cs.users++
	c.order.MoveToFront(cs.elem)
	return cs.st, c.releaser(cs), true
}

func (c *stmtCache) releaser(cs *cachedStmt) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			cs.users--
			if cs.evicted && cs.users == 0 {
				cs.st.Close()
			}
		})
	}
}

// close closes every statement; the cache must not be used afterwards.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, cs := range c.byKey {
		if e := cs.st.Close(); e != nil && err == nil {
			err = e
		}
	}
	c.byKey = map[string]*cachedStmt{}
	c.order.Init()
	return err
}

// searchQuery runs a search statement through a statement cache: on the
// read pool through the read pool's, in a write transaction through the
// write pool's, bound into the transaction (see txStmt). release must be
// called once the rows are closed.
func (t *tx) searchQuery(ctx context.Context, query string, args []any) (rows *sql.Rows, release func(), err error) {
	if t.sqlTx != nil && t.s.wstmts != nil {
		// What the transaction reads includes what it wrote (see flushing).
		if err := t.flushIndex(ctx); err != nil {
			return nil, nil, err
		}
		if st := t.txStmt(ctx, query); st != nil {
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = t.sqlTx.QueryContext(ctx, query, args...)
		}
		return rows, func() {}, err
	}
	// A read by id checks its confinement on the lookup pool, with
	// statements kept prepared there: parsing and planning the check
	// would cost more than running it.
	cache := t.s.stmts
	if t.lookup && t.s.lstmts != nil && t.q == querier(t.s.lookups) {
		cache = t.s.lstmts
	} else if t.q != querier(t.s.read) {
		cache = nil
	}
	if t.sqlTx != nil || cache == nil {
		rows, err = t.q.QueryContext(ctx, query, args...)
		return rows, func() {}, err
	}
	st, release, err := cache.get(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	rows, err = st.QueryContext(ctx, args...)
	if err != nil {
		release()
		return nil, nil, err
	}
	return rows, release, nil
}

// txStmt returns the statement of query bound into the write transaction,
// or nil when none is prepared yet. A statement is prepared once on the
// write pool, kept by the write pool's cache and bound once per
// transaction; SQLite's one writer connection keeps it prepared across
// transactions. A conditional create or update in a transaction searches
// with statements of few shapes, which SQLite would otherwise parse and
// plan for every search.
//
// The transaction holds the write pool's connection (SQLite's only one),
// so a statement cannot be prepared on the pool while it runs: the text is
// noted, runs unprepared this once, and is prepared after the transaction
// ended (prepareNoted).
//
// The cache's hold on the statement ends at once: the bound statement
// depends on it, and database/sql closes an evicted statement only after
// the transactions bound to it ended.
func (t *tx) txStmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.txStmts[query]; ok {
		return st
	}
	parent, release, ok := t.s.wstmts.cached(query)
	if !ok {
		if !slices.Contains(t.unprepared, query) {
			t.unprepared = append(t.unprepared, query)
		}
		return nil
	}
	defer release()
	st := t.sqlTx.StmtContext(ctx, parent)
	if t.txStmts == nil {
		t.txStmts = map[string]*sql.Stmt{}
	}
	t.txStmts[query] = st
	return st
}

// prepareNoted prepares on the write pool the statements an ended
// transaction ran unprepared (see txStmt), for the transactions after it.
// A statement that fails to prepare is left alone: it failed to run too.
func (s *Store) prepareNoted(t *tx) {
	for _, q := range t.unprepared {
		if _, release, err := s.wstmts.get(context.Background(), q); err == nil {
			release()
		}
	}
	t.unprepared = nil
}

// searchCount runs a search statement of one integer (a count).
func (t *tx) searchCount(ctx context.Context, query string, args []any) (int, error) {
	rows, release, err := t.searchQuery(ctx, query, args)
	if err != nil {
		return 0, err
	}
	defer release()
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"hpsandbox/fhirstore/searchparam"
)

// Past versions keep no search index: a search reads current resources
// only. A confinement (search.Confinement) judges past versions as well,
// since a history or a vread under it answers only what it may see, so an
// archived version keeps the few index facts a confinement reads of it:
// its references to Patients (the compartment) and its plain token values
// (SMART v2 constraints). They are keyed by the history row. A deletion
// has no body and no facts; it is judged by the version it deleted (see
// pastRows).

// historyIndexMigration creates the tables of past versions' index facts;
// fillHistoryIndex backfills them.
var historyIndexMigration = []string{
	`CREATE TABLE history_reference (sandbox TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
		version BIGINT NOT NULL, param TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL,
		PRIMARY KEY (sandbox, type, id, version, param, target_type, target_id, url)){{CLUSTERED}}`,
	`CREATE TABLE history_token (sandbox TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
		version BIGINT NOT NULL, param TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL,
		PRIMARY KEY (sandbox, type, id, version, param, code, system)){{CLUSTERED}}`,
}

// historyTables are the tables of past versions' facts.
var historyTables = [...]string{"history_reference", "history_token"}

// versionKey names one row of resource_history.
type versionKey struct {
	sandbox, typ, id string
	version          int64
}

// historyFacts are the rows of historyTables of versions, per table.
type historyFacts [len(historyTables)][]any

const (
	historyRefCols   = 8
	historyTokenCols = 7
)

// add appends the facts of version k, whose index is x: references to
// Patients, and token values with a code or a system, of plain (not
// composite) parameters.
func (f *historyFacts) add(k versionKey, x *searchparam.Index) {
	for _, r := range x.References {
		if r.TargetType == "Patient" && r.TargetID != "" {
			f[0] = append(f[0], k.sandbox, k.typ, k.id, k.version, r.Param, r.TargetType, r.TargetID, r.URL)
		}
	}
	for _, r := range x.Tokens {
		if r.Group == 0 && (r.Code != "" || r.System != "") {
			f[1] = append(f[1], k.sandbox, k.typ, k.id, k.version, r.Param, r.System, r.Code)
		}
	}
}

// historyInsertStmt is the prepared INSERT of insertSizes[size] rows of
// facts into historyTables[table].
func historyInsertStmt(table, size int) stmt {
	return stHistoryInsert + stmt(table*len(insertSizes)+size)
}

// historyWidth is the number of columns of a row of historyTables[tab].
func historyWidth(tab int) int {
	return [...]int{historyRefCols, historyTokenCols}[tab]
}

// write inserts the facts, a fact already there skipped, by exec: the
// INSERT of n rows into table tab, one of insertSizes, with args.
func (f *historyFacts) write(exec func(tab, size int, args []any) error) error {
	for tab := range f {
		width := historyWidth(tab)
		vals := f[tab]
		for len(vals) > 0 {
			n := len(vals) / width
			j := 0
			for insertSizes[j] > n {
				j++
			}
			if err := exec(tab, j, vals[:insertSizes[j]*width]); err != nil {
				return fmt.Errorf("%s: %w", historyTables[tab], err)
			}
			vals = vals[insertSizes[j]*width:]
		}
	}
	return nil
}

// historyInsertSQL is the INSERT of n rows of facts into table tab, with
// "?" placeholders.
func historyInsertSQL(d Dialect, tab, n int) string {
	cols := "sandbox, type, id, version, param, target_type, target_id, url"
	if tab == 1 {
		cols = "sandbox, type, id, version, param, system, code"
	}
	one := "(" + strings.Repeat("?, ", historyWidth(tab)-1) + "?)"
	verb, tail := "INSERT OR IGNORE INTO ", ""
	if d.Name != "sqlite" {
		verb, tail = "INSERT INTO ", " ON CONFLICT DO NOTHING"
	}
	return verb + historyTables[tab] + " (" + cols + ") VALUES " + strings.Repeat(one+", ", n-1) + one + tail
}

// archiveIndex writes the facts of the archived version k, whose index
// (extracted to drop its rows from the current index) is x.
func (t *tx) archiveIndex(ctx context.Context, k versionKey, x *searchparam.Index) error {
	var f historyFacts
	f.add(k, x)
	err := f.write(func(tab, size int, args []any) error {
		_, err := t.stmt(ctx, historyInsertStmt(tab, size)).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return t.wrap("archive index", err)
	}
	return nil
}

// reindexVersion replaces the facts of the archived version k by those of
// body (its meta rewritten).
func (t *tx) reindexVersion(ctx context.Context, k versionKey, body []byte) error {
	for _, table := range historyTables {
		q := rebind(t.s.d, `DELETE FROM `+table+` WHERE sandbox = ? AND type = ? AND id = ? AND version = ?`)
		if _, err := t.q.ExecContext(ctx, q, k.sandbox, k.typ, k.id, k.version); err != nil {
			return t.wrap("reindex version", err)
		}
	}
	x, err := extract(k.typ, body)
	if err != nil {
		return t.wrap("reindex version", err)
	}
	return t.archiveIndex(ctx, k, x)
}

// historyFillBatch is how many archived versions the backfill reads,
// extracts and writes at a time.
const historyFillBatch = 512

// fillHistoryIndex writes the facts of every archived version already
// stored, at the migration that creates their tables: each body is
// extracted once, on every core.
func fillHistoryIndex(ctx context.Context, q *sql.Tx, d Dialect) error {
	next := rebind(d, `SELECT sandbox, type, id, version, body FROM resource_history
		WHERE (sandbox, type, id, version) > (?, ?, ?, ?) AND body IS NOT NULL
		ORDER BY sandbox, type, id, version LIMIT ?`)
	// The INSERTs are prepared once, on the transaction.
	var insert [len(historyTables) * len(insertSizes)]*sql.Stmt
	defer func() {
		for _, st := range insert {
			if st != nil {
				st.Close()
			}
		}
	}()
	exec := func(tab, size int, args []any) error {
		i := tab*len(insertSizes) + size
		if insert[i] == nil {
			st, err := q.PrepareContext(ctx, rebind(d, historyInsertSQL(d, tab, insertSizes[size])))
			if err != nil {
				return err
			}
			insert[i] = st
		}
		_, err := insert[i].ExecContext(ctx, args...)
		return err
	}
	var last versionKey
	for {
		keys, bodies, err := readVersions(ctx, q, next, last)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		idx := make([]*searchparam.Index, len(keys))
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(keys); i += workers {
					idx[i], errs[i] = extract(keys[i].typ, bodies[i])
				}
			}()
		}
		wg.Wait()
		var f historyFacts
		for i, k := range keys {
			if errs[i] != nil {
				// A body the extractor no longer reads keeps no facts:
				// a confinement that limits its type does not see it.
				continue
			}
			f.add(k, idx[i])
		}
		if err := f.write(exec); err != nil {
			return err
		}
		last = keys[len(keys)-1]
	}
}

// readVersions reads the next batch of archived versions after last.
func readVersions(ctx context.Context, q *sql.Tx, next string, last versionKey) ([]versionKey, [][]byte, error) {
	rows, err := q.QueryContext(ctx, next, last.sandbox, last.typ, last.id, last.version, historyFillBatch)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var keys []versionKey
	var bodies [][]byte
	for rows.Next() {
		var k versionKey
		var body []byte
		if err := rows.Scan(&k.sandbox, &k.typ, &k.id, &k.version, &body); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		bodies = append(bodies, body)
	}
	return keys, bodies, rows.Err()
}

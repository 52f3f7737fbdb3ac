package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// migrations are applied in order, each once; a migration is never edited
// after it has shipped, only followed by another. {{AUTOID}}, {{BLOB}},
// {{CLUSTERED}} and {{SORTKEY}} are replaced per dialect, and so is the
// type TEXT where the dialect names its own (see Dialect.Text).
var migrations = [][]string{
	{
		// The current version of every resource. Deleted resources keep a
		// row with method DELETE and no body, so a read can answer 410.
		`CREATE TABLE resource (
			rid {{AUTOID}},
			sandbox TEXT NOT NULL,
			type TEXT NOT NULL,
			id TEXT NOT NULL,
			version BIGINT NOT NULL,
			last_updated BIGINT NOT NULL,
			method TEXT NOT NULL,
			body {{BLOB}}
		)`,
		`CREATE UNIQUE INDEX resource_key ON resource (sandbox, type, id)`,
		`CREATE INDEX resource_sandbox_updated ON resource (sandbox, last_updated)`,
		`CREATE INDEX resource_type_updated ON resource (sandbox, type, last_updated)`,
		// Every earlier version, moved here when a newer one replaces it.
		`CREATE TABLE resource_history (
			sandbox TEXT NOT NULL,
			type TEXT NOT NULL,
			id TEXT NOT NULL,
			version BIGINT NOT NULL,
			last_updated BIGINT NOT NULL,
			method TEXT NOT NULL,
			body {{BLOB}},
			PRIMARY KEY (sandbox, type, id, version)
		)`,
		`CREATE INDEX history_sandbox_updated ON resource_history (sandbox, last_updated)`,
		`CREATE INDEX history_type_updated ON resource_history (sandbox, type, last_updated)`,
	},
	// Search index: one table per kind of index row (see index.go). Rows
	// name the current resource row by rid, which updates keep, so a search
	// joins on an integer. The key of each table is its value index and ends
	// in rid: a search reads matching rids in order straight from it and
	// pages by rid. In SQLite the tables are clustered on that key ({{CLUSTERED}}),
	// which halves the b-tree writes of indexing. A secondary index of such
	// a table repeats the whole key, so only the tables that _include and
	// _sort read by rid have one; an update deletes the old rows by their
	// key, extracted again from the old body.
	{
		`CREATE TABLE idx_string (` + indexCommonCols + `, norm TEXT, exact TEXT,
			PRIMARY KEY (sandbox, type, param, norm, rid, grp, comp, exact)){{CLUSTERED}}`,
		`CREATE INDEX idx_string_rid ON idx_string (rid, param)`,
		`CREATE TABLE idx_token (` + indexCommonCols + `, system TEXT, code TEXT, text TEXT,
			type_system TEXT, type_code TEXT,
			PRIMARY KEY (sandbox, type, param, code, system, rid, grp, comp, text, type_system, type_code)){{CLUSTERED}}`,
		`CREATE TABLE idx_reference (` + indexCommonCols + `, target_type TEXT, target_id TEXT,
			version TEXT, url TEXT, id_system TEXT, id_value TEXT,
			PRIMARY KEY (sandbox, type, param, target_id, target_type, rid, grp, comp, version, url, id_system, id_value)){{CLUSTERED}}`,
		// _include goes from rid to targets; reverse lookups (_revinclude,
		// _has, chains) from a target to its referrers use the key.
		`CREATE INDEX idx_reference_rid ON idx_reference (rid, param, target_type, target_id)`,
		// span is 0 for ranges of a day or less (see search_date.go).
		`CREATE TABLE idx_date (` + indexCommonCols + `, span INTEGER, low BIGINT, high BIGINT,
			PRIMARY KEY (sandbox, type, param, span, low, high, rid, grp, comp)){{CLUSTERED}}`,
		`CREATE INDEX idx_date_rid ON idx_date (rid, param)`,
		`CREATE TABLE idx_number (` + indexCommonCols + `, value DOUBLE PRECISION,
			low DOUBLE PRECISION, high DOUBLE PRECISION,
			PRIMARY KEY (sandbox, type, param, low, high, rid, grp, comp)){{CLUSTERED}}`,
		`CREATE TABLE idx_quantity (` + indexCommonCols + `, value DOUBLE PRECISION,
			low DOUBLE PRECISION, high DOUBLE PRECISION, system TEXT, code TEXT, unit TEXT,
			PRIMARY KEY (sandbox, type, param, code, low, high, rid, grp, comp, system, unit)){{CLUSTERED}}`,
		`CREATE TABLE idx_uri (` + indexCommonCols + `, value TEXT,
			PRIMARY KEY (sandbox, type, param, value, rid, grp, comp)){{CLUSTERED}}`,
		// A search without filters pages a type in rid order.
		`CREATE INDEX resource_type_rid ON resource (sandbox, type, rid)`,
	},
	// Sort keys: one row per resource and parameter with its least and
	// greatest value (see sortRows), filled from the index rows already
	// there. The key finds a resource's row of a parameter; the two indexes
	// give a type's resources in the order of either, so that the first page
	// of a sort reads no more rows than it returns. (Sorting read
	// idx_string and idx_date by rid before; their rid indexes stay for
	// any composite join of their rows by rid.)
	append(append([]string{
		`CREATE TABLE idx_sort (` + indexCommonCols + `, lo{{SORTKEY}}, hi{{SORTKEY}},
			PRIMARY KEY (rid, param)){{CLUSTERED}}`,
	}, sortBackfill()...),
		`CREATE INDEX idx_sort_lo ON idx_sort (sandbox, type, param, lo, rid)`,
		`CREATE INDEX idx_sort_hi ON idx_sort (sandbox, type, param, hi, rid)`,
	),
	// Index facts of past versions (see history_index.go), filled from
	// the stored history by fillHistoryIndex.
	historyIndexMigration,
	// Partial indexes of few rows, which the engine keeps without a
	// statement of the write path. The deleted rows of a type, alone: its
	// count of resources is its rows in resource_type_rid less these, both
	// read from an index (see countType). The Ranges of number and
	// quantity parameters by their high bound: a search of values greater
	// than one reads the points past it from the key and the Ranges that
	// reach past it from these (see search_number.go). IF NOT EXISTS: a
	// store rewound to an earlier version (as tests of the fills of
	// earlier migrations do) runs them again over the same tables.
	{
		`CREATE INDEX IF NOT EXISTS resource_deleted ON resource (sandbox, type, rid) WHERE method = 'DELETE'`,
		`CREATE INDEX IF NOT EXISTS idx_number_range ON idx_number (sandbox, type, param, high, rid) WHERE value IS NULL`,
		`CREATE INDEX IF NOT EXISTS idx_quantity_range ON idx_quantity (sandbox, type, param, code, high, rid) WHERE value IS NULL`,
	},
	// A sort by a reference or URI reads the parameter's own rows (see
	// sortSource): idx_reference in this index's order, idx_uri in its
	// key's, a resource's rows found by rid (idx_reference_rid and this
	// idx_uri_rid). That costs one B-tree write per row where idx_sort took
	// three per parameter of every resource. The sort keys of references
	// and URIs that idx_sort held go; an update deletes a resource's rows
	// of idx_sort by rid, so none is left behind later either.
	{
		`CREATE INDEX IF NOT EXISTS idx_reference_sort ON idx_reference (sandbox, type, param, target_id, rid)`,
		`CREATE INDEX IF NOT EXISTS idx_uri_rid ON idx_uri (rid, param, value)`,
		`DELETE FROM idx_sort WHERE EXISTS (SELECT 1 FROM idx_reference x WHERE x.rid = idx_sort.rid AND x.param = idx_sort.param)`,
		`DELETE FROM idx_sort WHERE EXISTS (SELECT 1 FROM idx_uri x WHERE x.rid = idx_sort.rid AND x.param = idx_sort.param)`,
	},
	// A sort by a token reads idx_token too, whose key now puts rid right
	// after the code (rekeyToken): it gives a type's rows of a parameter in
	// the order of code and rid, and a search by a code reads its rids in
	// order whatever their systems. idx_token_rid finds a resource's rows.
	// That costs one B-tree write per token row where idx_sort took three
	// per token parameter of every resource; the tokens' sort keys go.
	{
		rekeyToken,
		`CREATE INDEX IF NOT EXISTS idx_token_rid ON idx_token (rid, param, code)`,
		`DELETE FROM idx_sort WHERE EXISTS (SELECT 1 FROM idx_token x WHERE x.rid = idx_sort.rid AND x.param = idx_sort.param)`,
	},
	// A search with several filters tests the broad ones on each rid by
	// the rid's own index rows (see planIndexed, walkPage): numbers and
	// quantities too, by these rid indexes, as the other tables' have.
	{
		`CREATE INDEX IF NOT EXISTS idx_number_rid ON idx_number (rid, param)`,
		`CREATE INDEX IF NOT EXISTS idx_quantity_rid ON idx_quantity (rid, param)`,
	},
}

// rekeyToken stands in a migration for the statements of rekeyTokenSQL.
const rekeyToken = "-- rekey idx_token"

// tokenKey is idx_token's key since migration 7: rid follows the code.
const tokenKey = `sandbox, type, param, code, rid, system, grp, comp, text, type_system, type_code`

// rekeyTokenSQL gives idx_token the key tokenKey. SQLite stores the table
// in its key's order (clustered), so the table is written again under the
// new key; another engine replaces the constraint. Either runs again over
// a table of the new key (a store rewound to an earlier version).
func rekeyTokenSQL(d Dialect) []string {
	if d.Name != "sqlite" {
		return []string{
			`ALTER TABLE idx_token DROP CONSTRAINT idx_token_pkey`,
			`ALTER TABLE idx_token ADD CONSTRAINT idx_token_pkey PRIMARY KEY (` + tokenKey + `)`,
		}
	}
	return []string{
		`CREATE TABLE idx_token_rekeyed (` + indexCommonCols + `, system TEXT, code TEXT, text TEXT,
			type_system TEXT, type_code TEXT, PRIMARY KEY (` + tokenKey + `))` + clustered(d),
		`INSERT INTO idx_token_rekeyed (sandbox, rid, type, param, grp, comp, system, code, text, type_system, type_code)
			SELECT sandbox, rid, type, param, grp, comp, system, code, text, type_system, type_code FROM idx_token`,
		`DROP TABLE idx_token`,
		`ALTER TABLE idx_token_rekeyed RENAME TO idx_token`,
	}
}

// migrationFills are the steps in Go that follow a migration's statements
// (by its number), in its transaction: backfills that need the extractor.
var migrationFills = map[int]func(context.Context, *sql.Tx, Dialect) error{
	4: fillHistoryIndex,
}

// sortBackfill fills idx_sort from the plain (group 0) rows of the other
// index tables, as sortRows would have written them.
func sortBackfill() []string {
	var out []string
	for tab, it := range indexTables[:tabSort] {
		lo, hi := sortColumn(tab, false), sortColumn(tab, true)
		out = append(out, sortBackfillVerb+` idx_sort (sandbox, rid, type, param, grp, comp, lo, hi)
			SELECT MIN(sandbox), rid, MIN(type), param, 0, 0, MIN(`+lo+`), MAX(`+hi+`)
			FROM `+it.name+` WHERE grp = 0 GROUP BY rid, param`)
	}
	return out
}

// sortBackfillVerb begins the statements of sortBackfill.
const sortBackfillVerb = "INSERT OR IGNORE INTO"

// textType matches the type TEXT in a migration's statement.
var textType = regexp.MustCompile(`\bTEXT\b`)

// withText gives the text columns of stmt the dialect's type of text.
func withText(d Dialect, stmt string) string {
	if d.Text == "" || d.Text == "TEXT" {
		return stmt
	}
	return textType.ReplaceAllLiteralString(stmt, d.Text)
}

// indexCommonCols start every index table: the row's sandbox, resource row
// and type, the parameter code, and for composite parameters the group of
// rows taken from one element and the component's position (0 otherwise).
const indexCommonCols = `sandbox TEXT, rid BIGINT, type TEXT,
	param TEXT, grp INTEGER, comp INTEGER`

// clustered is the table option that stores a table in the order of its
// primary key. Only SQLite has one; Dialect should say so once another
// engine needs it.
func clustered(d Dialect) string {
	if d.Name == "sqlite" {
		return " WITHOUT ROWID"
	}
	return ""
}

// orderedJoin is the inner join whose left table drives the plan. SQLite's
// planner keeps the order of a CROSS JOIN, which takes an ON clause as an
// inner join; elsewhere CROSS JOIN has no ON and the planner orders joins.
func (d Dialect) orderedJoin() string {
	if d.Name == "" || d.Name == "sqlite" {
		return "CROSS JOIN"
	}
	return "JOIN"
}

// migrate brings the schema to the newest version in one transaction.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.MigrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d); use a newer release", current, len(migrations))
	}
	sortKey := ""
	if d.TextSortKeys {
		sortKey = " TEXT" // the dialect's text (withText)
	}
	r := strings.NewReplacer("{{AUTOID}}", d.AutoID, "{{BLOB}}", d.Blob, "{{CLUSTERED}}", clustered(d), "{{SORTKEY}}", sortKey)
	for v := current; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if d.TextSortKeys && strings.HasPrefix(stmt, sortBackfillVerb) {
				// The backfill of sort keys is for SQLite files written
				// before them; a database of an engine with typed sort
				// keys started at a schema that had them, and its
				// tables are empty here.
				continue
			}
			stmts := []string{stmt}
			if stmt == rekeyToken {
				stmts = rekeyTokenSQL(d)
			}
			for _, stmt := range stmts {
				if _, err := tx.ExecContext(ctx, withText(d, r.Replace(stmt))); err != nil {
					return fmt.Errorf("migration %d: %w", v+1, err)
				}
			}
		}
		if fill := migrationFills[v+1]; fill != nil {
			if err := fill(ctx, tx, d); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, rebind(d, `INSERT INTO schema_version (version) VALUES (?)`), v+1); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// stmt names a prepared statement of the store.
type stmt int

const (
	stRead stmt = iota
	stReadForUpdate
	stVRead
	stInsert
	stArchive
	stReplace
	stReadBody
	// stIndexDelete is the first of one DELETE of a row by its key per index
	// table, in the order of indexTables.
	stIndexDelete
	// stIndexInsert is the first of the multi-row INSERTs into the index
	// tables: for table i and the j-th of insertSizes,
	// stIndexInsert + i*len(insertSizes) + j.
	stIndexInsert = stIndexDelete + numIndexTables
	// stHistoryInsert is the first of the multi-row INSERTs of past
	// versions' facts, for table i of historyTables and the j-th of
	// insertSizes: stHistoryInsert + i*len(insertSizes) + j.
	stHistoryInsert = stIndexInsert + numIndexTables*stmt(len(insertSizes))
	numStmts        = stHistoryInsert + stmt(len(historyTables)*len(insertSizes))
)

const versionCols = `type, id, version, last_updated, method, body`

// keyedCols are versionCols without the type and id, which a read by id
// names: reading them back would only copy what the caller holds (see
// scanKeyed).
const keyedCols = `version, last_updated, method, body`

// statementText returns the SQL of every statement, rebound for d.
func statementText(d Dialect) [numStmts]string {
	var q [numStmts]string
	q[stRead] = `SELECT ` + keyedCols + ` FROM resource WHERE sandbox = ? AND type = ? AND id = ?`
	q[stReadForUpdate] = `SELECT rid, version, last_updated, method FROM resource WHERE sandbox = ? AND type = ? AND id = ?` + d.RowLock
	q[stVRead] = `SELECT ` + keyedCols + ` FROM resource WHERE sandbox = ? AND type = ? AND id = ? AND version = ?
		UNION ALL SELECT ` + keyedCols + ` FROM resource_history WHERE sandbox = ? AND type = ? AND id = ? AND version = ?`
	// A taken key inserts nothing (RowsAffected 0), which Create reports as
	// ErrExists; only the key's conflict is skipped, any other is an error.
	q[stInsert] = `INSERT INTO resource (sandbox, type, id, version, last_updated, method, body) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sandbox, type, id) DO NOTHING`
	if d.InsertReturning {
		q[stInsert] += ` RETURNING rid`
	}
	q[stArchive] = `INSERT INTO resource_history (sandbox, type, id, version, last_updated, method, body)
		SELECT sandbox, type, id, version, last_updated, method, body FROM resource WHERE rid = ?`
	q[stReplace] = `UPDATE resource SET version = ?, last_updated = ?, method = ?, body = ? WHERE rid = ?`
	q[stReadBody] = `SELECT body FROM resource WHERE rid = ?`
	for i, it := range indexTables {
		q[stIndexDelete+stmt(i)] = it.deleteSQL()
		for j, n := range insertSizes {
			q[indexInsertStmt(i, j)] = it.insertSQL(d, n)
		}
	}
	for i := range historyTables {
		for j, n := range insertSizes {
			q[historyInsertStmt(i, j)] = historyInsertSQL(d, i, n)
		}
	}
	for i := range q {
		q[i] = rebind(d, q[i])
	}
	return q
}

// prepare prepares every statement on db.
func prepare(ctx context.Context, db *sql.DB, d Dialect) ([numStmts]*sql.Stmt, error) {
	var out [numStmts]*sql.Stmt
	for i, text := range statementText(d) {
		st, err := db.PrepareContext(ctx, text)
		if err != nil {
			return out, fmt.Errorf("prepare %q: %w", text, err)
		}
		out[i] = st
	}
	return out, nil
}

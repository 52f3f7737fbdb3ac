package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are applied in order, each once; a migration is never edited
// after it has shipped, only followed by another. {{AUTOID}} and {{BLOB}}
// are replaced per dialect.
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
}

// migrate brings the schema to the newest version in one transaction.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d); use a newer release", current, len(migrations))
	}
	r := strings.NewReplacer("{{AUTOID}}", d.AutoID, "{{BLOB}}", d.Blob)
	for v := current; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, r.Replace(stmt)); err != nil {
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
	stCount
	stList
	numStmts
)

const versionCols = `type, id, version, last_updated, method, body`

// statementText returns the SQL of every statement, rebound for d.
func statementText(d Dialect) [numStmts]string {
	var q [numStmts]string
	q[stRead] = `SELECT ` + versionCols + ` FROM resource WHERE sandbox = ? AND type = ? AND id = ?`
	q[stReadForUpdate] = `SELECT rid, version, last_updated, method FROM resource WHERE sandbox = ? AND type = ? AND id = ?`
	q[stVRead] = `SELECT ` + versionCols + ` FROM resource WHERE sandbox = ? AND type = ? AND id = ? AND version = ?
		UNION ALL SELECT ` + versionCols + ` FROM resource_history WHERE sandbox = ? AND type = ? AND id = ? AND version = ?`
	q[stInsert] = `INSERT INTO resource (sandbox, type, id, version, last_updated, method, body) VALUES (?, ?, ?, ?, ?, ?, ?)`
	q[stArchive] = `INSERT INTO resource_history (sandbox, type, id, version, last_updated, method, body)
		SELECT sandbox, type, id, version, last_updated, method, body FROM resource WHERE rid = ?`
	q[stReplace] = `UPDATE resource SET version = ?, last_updated = ?, method = ?, body = ? WHERE rid = ?`
	q[stCount] = `SELECT COUNT(*) FROM resource WHERE sandbox = ? AND type = ? AND method <> 'DELETE'`
	q[stList] = `SELECT ` + versionCols + ` FROM resource WHERE sandbox = ? AND type = ? AND method <> 'DELETE'
		ORDER BY id LIMIT ? OFFSET ?`
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

package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"hpsandbox/internal/pgschema"
)

// Test requests outlive the sandbox they are bound to (a reviewer's
// decision is a record), so neither table refers to the sandbox table.
const (
	testRequestSchema = `CREATE TABLE IF NOT EXISTS test_request (
		id TEXT PRIMARY KEY,
		supplier TEXT NOT NULL,
		version INTEGER NOT NULL,
		body TEXT NOT NULL
	)`
	sealedReportSchema = `CREATE TABLE IF NOT EXISTS sealed_report (
		sandbox TEXT NOT NULL,
		run TEXT NOT NULL,
		request TEXT NOT NULL,
		sha256 TEXT NOT NULL,
		report BLOB NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (sandbox, run)
	)`
)

// CreateTestRequest implements TestRequestStore.
func (r *SQLRegistry) CreateTestRequest(ctx context.Context, t *TestRequest) error {
	body, _ := json.Marshal(t)
	_, err := r.db.ExecContext(ctx, `INSERT INTO test_request (id, supplier, version, body) VALUES (?, ?, ?, ?)`,
		t.ID, t.Supplier, t.Version, string(body))
	if isUnique(err) {
		return fmt.Errorf("%w: test request %q", ErrExists, t.ID)
	}
	return err
}

func scanTestRequest(row interface{ Scan(...any) error }) (*TestRequest, error) {
	var body string
	if err := row.Scan(&body); err != nil {
		return nil, err
	}
	var t TestRequest
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("tenant: stored test request: %w", err)
	}
	return &t, nil
}

// TestRequest implements TestRequestStore.
func (r *SQLRegistry) TestRequest(ctx context.Context, id string) (*TestRequest, error) {
	t, err := scanTestRequest(r.db.QueryRowContext(ctx, `SELECT body FROM test_request WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: test request %q", ErrNotFound, id)
	}
	return t, err
}

// TestRequests implements TestRequestStore.
func (r *SQLRegistry) TestRequests(ctx context.Context, supplier string) ([]*TestRequest, error) {
	q, args := `SELECT body FROM test_request ORDER BY rowid DESC`, []any{}
	if supplier != "" {
		q, args = `SELECT body FROM test_request WHERE supplier = ? ORDER BY rowid DESC`, []any{supplier}
	}
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*TestRequest{}
	for rows.Next() {
		t, err := scanTestRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTestRequest implements TestRequestStore: the version check, the
// write and the seal are one transaction.
func (r *SQLRegistry) UpdateTestRequest(ctx context.Context, t *TestRequest, seal *SealedReport) error {
	body, _ := json.Marshal(t)
	tx, err := r.db.BeginTx(ctx, nil)
	numbered := r.db.numbered
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, pgschema.Bind(`UPDATE test_request SET version = ?, body = ? WHERE id = ? AND version = ?`, numbered),
		t.Version, string(body), t.ID, t.Version-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var v int
		if err := tx.QueryRowContext(ctx, pgschema.Bind(`SELECT version FROM test_request WHERE id = ?`, numbered), t.ID).Scan(&v); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: test request %q", ErrNotFound, t.ID)
		}
		return fmt.Errorf("%w: test request %s changed meanwhile; read it again", ErrState, t.ID)
	}
	if seal != nil {
		_, err := tx.ExecContext(ctx, pgschema.Bind(`INSERT INTO sealed_report (sandbox, run, request, sha256, report, at) VALUES (?, ?, ?, ?, ?, ?)`, numbered),
			seal.Sandbox, seal.Run, seal.Request, seal.SHA256, seal.Canonical, pgschema.Millis(seal.At))
		if isUnique(err) {
			return fmt.Errorf("%w: the report of run %s is sealed already", ErrState, seal.Run)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// SealedReports implements TestRequestStore.
func (r *SQLRegistry) SealedReports(ctx context.Context, sandbox string) ([]*SealedReport, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT run, request, sha256, report, at FROM sealed_report WHERE sandbox = ? ORDER BY rowid`, sandbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*SealedReport{}
	for rows.Next() {
		sr := SealedReport{Sandbox: sandbox}
		var at int64
		if err := rows.Scan(&sr.Run, &sr.Request, &sr.SHA256, &sr.Canonical, &at); err != nil {
			return nil, err
		}
		sr.At = pgschema.FromMillis(at)
		out = append(out, &sr)
	}
	return out, rows.Err()
}

// SealedReport implements TestRequestStore.
func (r *SQLRegistry) SealedReport(ctx context.Context, sandbox, run string) (*SealedReport, error) {
	sr := SealedReport{Sandbox: sandbox, Run: run}
	var at int64
	err := r.db.QueryRowContext(ctx, `SELECT request, sha256, report, at FROM sealed_report WHERE sandbox = ? AND run = ?`, sandbox, run).
		Scan(&sr.Request, &sr.SHA256, &sr.Canonical, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: sealed report %q", ErrNotFound, run)
	}
	if err != nil {
		return nil, err
	}
	sr.At = pgschema.FromMillis(at)
	return &sr, nil
}

package sqlstore

import (
	"context"
	"fmt"

	"hpsandbox/fhirstore"
)

var (
	_ fhirstore.Eraser   = (*Store)(nil)
	_ fhirstore.Replacer = (*Store)(nil)
)

// eraseTables are the tables that hold a sandbox's rows.
func eraseTables() []string {
	tables := append([]string{"resource", "resource_history"}, historyTables[:]...)
	for _, it := range indexTables {
		tables = append(tables, it.name)
	}
	return tables
}

// ReplaceSandbox implements fhirstore.Replacer: the sandbox's rows are
// deleted and load's written in one write (its own savepoint of a group
// transaction), so readers, on their own snapshots, see all of the old
// or all of the new.
func (s *Store) ReplaceSandbox(ctx context.Context, sandbox fhirstore.Sandbox, load func(fhirstore.Tx) error) error {
	return s.singleAt(ctx, s.d.TxIsolation, func(ctx context.Context, t *tx) error {
		for _, table := range eraseTables() {
			if _, err := t.q.ExecContext(ctx, rebind(s.d, `DELETE FROM `+table+` WHERE sandbox = ?`), sandbox); err != nil {
				return fmt.Errorf("%s: erasing sandbox %s from %s: %w", s.d.Name, sandbox, table, err)
			}
		}
		return load(groupTx{t})
	})
}

// EraseSandbox implements fhirstore.Eraser. Every table's key starts with
// the sandbox, so each DELETE is a range of one index.
func (s *Store) EraseSandbox(ctx context.Context, sandbox fhirstore.Sandbox) error {
	tables := eraseTables()
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", s.d.Name, err)
	}
	for _, table := range tables {
		if _, err := sqlTx.ExecContext(ctx, rebind(s.d, `DELETE FROM `+table+` WHERE sandbox = ?`), sandbox); err != nil {
			_ = sqlTx.Rollback()
			return fmt.Errorf("%s: erasing sandbox %s from %s: %w", s.d.Name, sandbox, table, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", s.d.Name, err)
	}
	return nil
}

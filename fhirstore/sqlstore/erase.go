package sqlstore

import (
	"context"
	"fmt"

	"hpsandbox/fhirstore"
)

var _ fhirstore.Eraser = (*Store)(nil)

// EraseSandbox implements fhirstore.Eraser. Every table's key starts with
// the sandbox, so each DELETE is a range of one index.
func (s *Store) EraseSandbox(ctx context.Context, sandbox fhirstore.Sandbox) error {
	tables := append([]string{"resource", "resource_history"}, historyTables[:]...)
	for _, it := range indexTables {
		tables = append(tables, it.name)
	}
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

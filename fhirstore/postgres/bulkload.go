package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// copyFrom is Dialect.CopyFrom: COPY … FROM STDIN over the pgx connection
// under a database/sql connection, within the transaction open on it. A
// bulk load streams its index rows so, one COPY per table and flush,
// instead of an INSERT, and a round trip, per 16 rows.
func copyFrom(ctx context.Context, driverConn any, table string, cols []string, rows [][]any) error {
	c, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return fmt.Errorf("copy into %s: the connection is a %T, not pgx's", table, driverConn)
	}
	n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("copy into %s: %d of %d rows copied", table, n, len(rows))
	}
	return nil
}

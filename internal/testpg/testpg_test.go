package testpg_test

import (
	"context"
	"database/sql"
	"testing"

	"hpsandbox/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// Every test gets a database of its own: what one writes the other does
// not see.
func TestStart_GivesEachTestAFreshDatabase(t *testing.T) {
	ctx := context.Background()
	var names [2]string
	for i := range names {
		t.Run("db", func(t *testing.T) {
			db, err := sql.Open("pgx", testpg.Start(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("fresh database has %d tables (%v)", n, err)
			}
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (x int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
	if names[0] == names[1] {
		t.Fatalf("two tests shared database %s", names[0])
	}
}

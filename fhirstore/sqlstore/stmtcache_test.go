package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

func openScratch(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "scratch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scalar(t *testing.T, st *sql.Stmt, args ...any) int {
	t.Helper()
	var n int
	if err := st.QueryRowContext(context.Background(), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStmtCache_ReusesEvictsAndClosesWhenUnused(t *testing.T) {
	ctx := context.Background()
	c := newStmtCache(openScratch(t), 2)
	a, releaseA, err := c.get(ctx, "SELECT ? + 1")
	if err != nil {
		t.Fatal(err)
	}
	again, releaseAgain, _ := c.get(ctx, "SELECT ? + 1")
	if again != a {
		t.Error("the same text was prepared twice")
	}
	releaseAgain()
	releaseAgain() // twice is harmless
	b, releaseB, _ := c.get(ctx, "SELECT ? + 2")
	releaseB()
	// A third text evicts the least recently used one (a, still in use):
	// it keeps working until released, then is closed.
	_, releaseC, _ := c.get(ctx, "SELECT ? + 3")
	releaseC()
	if got := scalar(t, a, 1); got != 2 {
		t.Errorf("evicted statement in use answered %d", got)
	}
	releaseA()
	if err := a.QueryRowContext(ctx, 1).Scan(new(int)); err == nil {
		t.Error("an evicted statement was not closed after its last release")
	}
	if got := scalar(t, b, 1); got != 3 {
		t.Errorf("cached statement answered %d", got)
	}
	if _, ok := c.byKey["SELECT ? + 1"]; ok || c.order.Len() != 2 {
		t.Errorf("cache holds %d statements, want the 2 newest", c.order.Len())
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowContext(ctx, 1).Scan(new(int)); err == nil {
		t.Error("close left a statement open")
	}
}

func TestStmtCache_ConcurrentUseAcrossEvictions(t *testing.T) {
	ctx := context.Background()
	c := newStmtCache(openScratch(t), 4)
	defer c.close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % 10
				st, release, err := c.get(ctx, fmt.Sprintf("SELECT ? + %d", k))
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				err = st.QueryRowContext(ctx, 1).Scan(&n)
				release()
				if err != nil || n != k+1 {
					t.Errorf("SELECT 1 + %d = %d, %v", k, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c.order.Len() > 4 {
		t.Errorf("cache holds %d statements, bound 4", c.order.Len())
	}
}

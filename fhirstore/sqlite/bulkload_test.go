package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/sqlitefile"
)

func TestSQLite_BulkLoadAnswersAsTheOrdinaryLoad(t *testing.T) {
	storetest.BulkLoad(t, func(t *testing.T, now func() time.Time) fhirstore.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{Now: now, SearchTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// indexes lists the indexes of the store in dir, read beside it.
func indexes(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sqlitefile.Open(context.Background(), filepath.Join(dir, sqlite.FileName), sqlitefile.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func bulkPatient(t *testing.T, i int) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":"Bulk%d"}],"birthDate":"19%02d-01-01"}`, i, i, i%100)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Into an empty store a bulk load drops the secondary indexes and builds
// them at its end; into a store that holds anything (another sandbox) it
// leaves them alone.
func TestBulkLoad_DefersIndexesOnlyInAnEmptyStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := indexes(t, dir)
	if !slices.Contains(all, "idx_sort_lo") || !slices.Contains(all, "resource_key") {
		t.Fatalf("indexes of a new store: %v", all)
	}
	b, ok, err := s.BeginBulk(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("BeginBulk of an empty store: %v %v", ok, err)
	}
	during := indexes(t, dir)
	if slices.Contains(during, "idx_sort_lo") || slices.Contains(during, "resource_type_rid") || !slices.Contains(during, "resource_key") {
		t.Errorf("indexes during a bulk load into an empty store: %v (want the keys alone)", during)
	}
	err = b.Tx(ctx, func(tx fhirstore.BulkTx) error {
		for i := range 50 {
			if err := tx.Insert(ctx, bulkPatient(t, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.End(ctx); err != nil {
		t.Fatal(err)
	}
	if after := indexes(t, dir); !slices.Equal(after, all) {
		t.Errorf("indexes after the load: %v, want %v", after, all)
	}
	q := storetest.ParseQuery(t, "Patient", "birthdate=lt1910&_sort=-birthdate&_total=accurate")
	if p, err := s.Search(ctx, "a", fhirstore.SearchQuery{Type: "Patient", Query: q}); err != nil || p.Total != 10 {
		t.Errorf("search after the load: %+v %v", p, err)
	}

	// Another sandbox of a store that is not empty: the indexes stay.
	b, ok, err = s.BeginBulk(ctx, "b")
	if err != nil || !ok {
		t.Fatalf("BeginBulk of an empty sandbox: %v %v", ok, err)
	}
	if during := indexes(t, dir); !slices.Equal(during, all) {
		t.Errorf("indexes during a load beside another sandbox: %v, want %v", during, all)
	}
	if err := b.End(ctx); err != nil {
		t.Fatal(err)
	}
}

// crashBulkEnv names the data directory of the bulk-loading process that
// TestBulkLoad_KilledMidLoadStoreBuildsItsIndexesOnOpen kills.
const crashBulkEnv = "HPS_CRASH_BULK_DIR"

// A process killed during a bulk load into an empty store, its secondary
// indexes dropped, leaves a store that builds them when it next opens:
// every committed resource is there and found by searches.
func TestBulkLoad_KilledMidLoadStoreBuildsItsIndexesOnOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a loading process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	// The indexes of a new store, to compare with.
	ref := t.TempDir()
	rs, err := sqlite.Open(ctx, ref, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Close()
	want := indexes(t, ref)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBulkLoad_LoaderChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashBulkEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	sc := bufio.NewScanner(out)
	for committed < 3 && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			fmt.Sscanf(n, "%d", &committed)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if committed < 3 {
		t.Fatalf("the loader committed %d transactions before it ended", committed)
	}
	if got := indexes(t, dir); slices.Contains(got, "idx_sort_lo") {
		t.Fatalf("the killed load left its indexes (%v): it did not die mid-load", got)
	}

	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := indexes(t, dir); !slices.Equal(got, want) {
		t.Errorf("indexes after reopening: %v, want %v", got, want)
	}
	q := storetest.ParseQuery(t, "Patient", "family=bulk&_total=accurate")
	p, err := s.Search(ctx, "default", fhirstore.SearchQuery{Type: "Patient", Query: q})
	if err != nil || p.Total < committed*100 {
		t.Fatalf("after reopening: %d patients found, want at least %d committed (%v)", p.Total, committed*100, err)
	}
}

// TestBulkLoad_LoaderChild is the process the test above kills: it bulk
// loads transactions of 100 patients, saying after each that it committed,
// until it is killed.
func TestBulkLoad_LoaderChild(t *testing.T) {
	dir := os.Getenv(crashBulkEnv)
	if dir == "" {
		t.Skip("runs as the child of TestBulkLoad_KilledMidLoadStoreBuildsItsIndexesOnOpen")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.BeginBulk(ctx, "default")
	if err != nil || !ok {
		t.Fatalf("BeginBulk: %v %v", ok, err)
	}
	for n := 1; ; n++ {
		err := b.Tx(ctx, func(tx fhirstore.BulkTx) error {
			for i := range 100 {
				if err := tx.Insert(ctx, bulkPatient(t, n*100+i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", n)
	}
}

func BenchmarkLoadResources(b *testing.B) {
	for _, bulk := range []bool{false, true} {
		name := "ordinary"
		if bulk {
			name = "bulk"
		}
		b.Run(name, func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), b.TempDir(), sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchBulkLoad(b, s, bulk)
		})
	}
}

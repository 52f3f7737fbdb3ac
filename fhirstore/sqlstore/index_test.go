package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func bloodPressure(t *testing.T, systolic string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Observation","id":"bp","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"component":[
		 {"code":{"coding":[{"system":"http://loinc.org","code":"` + systolic + `"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},
		 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An update deletes the old version's index rows even when they carry other
// composite group numbers than extraction gives now, as rows written by an
// earlier release may.
func TestUpdate_DropsOldIndexRowsWhateverTheirGroup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Update(ctx, sb, bloodPressure(t, "8480-6"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() (n int) {
		t.Helper()
		err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM idx_token WHERE grp > 0) + (SELECT COUNT(*) FROM idx_quantity WHERE grp > 0)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	if before == 0 {
		t.Fatal("no composite rows written")
	}
	for _, table := range []string{"idx_token", "idx_quantity"} {
		if _, err := db.Exec(`UPDATE ` + table + ` SET grp = grp + 10 WHERE grp > 0`); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Update(ctx, sb, bloodPressure(t, "8480-7"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var stale int
	if err := db.QueryRow(`SELECT COUNT(*) FROM idx_token WHERE code = '8480-6' OR grp > 10`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 || count() != before {
		t.Errorf("after the update: %d stale token rows, %d composite rows (want 0 and %d)", stale, count(), before)
	}
}

// txFamilies searches by family inside a transaction.
func txFamilies(t *testing.T, tx fhirstore.Tx, family string) (ids []string, total int) {
	t.Helper()
	q, err := search.Parse("Patient", url.Values{"family": {family}, "_total": {"accurate"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := tx.Search(context.Background(), sb, fhirstore.SearchQuery{Type: "Patient", Query: q})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Matches {
		ids = append(ids, r.ID)
	}
	return ids, page.Total
}

// Index rows wait to be inserted many at a time, but a search in the
// transaction finds everything the transaction wrote before it.
func TestTx_SearchSeesTheTransactionsOwnWrites(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i, id := range []string{"a", "b", "c"} {
			if _, err := tx.Create(ctx, sb, patient(t, "Inside"), id); err != nil {
				return err
			}
			if ids, total := txFamilies(t, tx, "Inside"); len(ids) != i+1 || total != i+1 {
				t.Errorf("after %d creates the transaction finds %v (total %d)", i+1, ids, total)
			}
		}
		if _, _, err := tx.Update(ctx, sb, withID(t, patient(t, "Moved"), "a"), fhirstore.UpdateOptions{}); err != nil {
			return err
		}
		if ids, _ := txFamilies(t, tx, "Inside"); len(ids) != 2 {
			t.Errorf("after an update the transaction finds %v under the old name", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids := families(t, s, "Moved"); len(ids) != 1 || ids[0] != "a" {
		t.Errorf("after commit: Moved finds %v", ids)
	}
}

// A transaction that fails leaves no index rows, queued or inserted.
func TestTx_RolledBackWritesLeaveNoIndexRows(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	refused := errors.New("refused")
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := 0; i < 1000; i++ { // more rows than a transaction holds back
			if _, err := tx.Create(ctx, sb, patient(t, "Never"), ""); err != nil {
				return err
			}
		}
		if _, err := tx.Create(ctx, sb, patient(t, "Never"), ""); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatal(err)
	}
	if ids := families(t, s, "Never"); len(ids) != 0 {
		t.Errorf("rolled-back creates found: %d", len(ids))
	}
}

// A transaction larger than the queue of index rows indexes every resource.
func TestTx_LargeTransactionIndexesEveryResource(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	const n = 1500 // each Patient has several index rows
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := 0; i < n; i++ {
			if _, err := tx.Create(ctx, sb, patient(t, "Many"), ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.Parse("Patient", url.Values{"family": {"Many"}, "_total": {"accurate"}, "_count": {"1"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Search(ctx, sb, fhirstore.SearchQuery{Type: "Patient", Query: q})
	if err != nil || page.Total != n {
		t.Fatalf("total %v, %v; want %d", page, err, n)
	}
}

func withID(t *testing.T, r *fhirjson.Resource, id string) *fhirjson.Resource {
	t.Helper()
	body := append([]byte(`{"id":"`+id+`",`), r.Body[1:]...)
	out, err := fhirjson.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

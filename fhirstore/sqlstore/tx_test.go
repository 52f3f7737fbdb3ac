package sqlstore_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

const sb = "test"

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func patient(t *testing.T, family string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","name":[{"family":"` + family + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// families returns the ids of the patients a search by family finds.
func families(t *testing.T, s *sqlstore.Store, family string) []string {
	t.Helper()
	q, err := search.Parse("Patient", url.Values{"family": {family}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Type: "Patient", Query: q})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range page.Matches {
		ids = append(ids, r.ID)
	}
	return ids
}

// A create that names a taken id writes nothing, neither the row nor its
// index rows, and the transaction goes on: what it wrote before and after
// the refused create is committed.
func TestCreate_TakenIDInTransaction_ErrExistsAndTransactionGoesOn(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		if _, err := tx.Create(ctx, sb, patient(t, "First"), "p1"); err != nil {
			return err
		}
		if _, err := tx.Create(ctx, sb, patient(t, "Second"), "p1"); !errors.Is(err, fhirstore.ErrExists) {
			t.Errorf("second create of p1 in the transaction: %v, want ErrExists", err)
		}
		_, err := tx.Create(ctx, sb, patient(t, "Third"), "p2")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sb, patient(t, "Fourth"), "p2"); !errors.Is(err, fhirstore.ErrExists) {
		t.Errorf("create of committed p2: %v, want ErrExists", err)
	}
	for family, want := range map[string]int{"First": 1, "Second": 0, "Third": 1, "Fourth": 0} {
		if got := families(t, s, family); len(got) != want {
			t.Errorf("family %s finds %v, want %d match(es)", family, got, want)
		}
	}
	r, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil || r.Version != 1 {
		t.Fatalf("p1 after the refused create: %v, %v", r, err)
	}
}

// A deleted resource keeps its id: creating it again is ErrExists (an
// update brings it back).
func TestCreate_DeletedID_ErrExists(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, sb, patient(t, "Gone"), "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, sb, "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sb, patient(t, "Again"), "p1"); !errors.Is(err, fhirstore.ErrExists) {
		t.Fatalf("create of deleted p1: %v, want ErrExists", err)
	}
}

// A create with the same id in another sandbox or of another type is no
// conflict.
func TestCreate_SameIDOtherSandboxOrType_Creates(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, sb, patient(t, "A"), "x1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "other", patient(t, "B"), "x1"); err != nil {
		t.Errorf("same id in another sandbox: %v", err)
	}
	org, err := fhirjson.Parse([]byte(`{"resourceType":"Organization","name":"C"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sb, org, "x1"); err != nil {
		t.Errorf("same id of another type: %v", err)
	}
}

// A search inside a write transaction (a conditional create's) sees what
// the transaction wrote before it, and its statement is prepared once:
// later transactions searching alike, with other values, reuse it.
func TestTx_SearchInTransaction_SeesOwnWritesAndPreparesOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	byFamily := func(family string) *search.Query {
		q, err := search.Parse("Patient", url.Values{"family": {family}}, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	var first int64
	for i, family := range []string{"Aas", "Berg", "Dahl", "Eide"} {
		err := s.Tx(ctx, func(tx fhirstore.Tx) error {
			if _, err := tx.Create(ctx, sb, patient(t, family), ""); err != nil {
				return err
			}
			page, err := tx.Search(ctx, sb, fhirstore.SearchQuery{Type: "Patient", Query: byFamily(family)})
			if err != nil {
				return err
			}
			if len(page.Matches) != 1 {
				t.Errorf("search for %s in its transaction: %d matches, want 1", family, len(page.Matches))
			}
			page, err = tx.Search(ctx, sb, fhirstore.SearchQuery{Type: "Patient", Query: byFamily("Nobody")})
			if err == nil && len(page.Matches) != 0 {
				t.Errorf("search for Nobody: %d matches", len(page.Matches))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The first transaction's statements are prepared once it
		// ended, before the committer takes the next group.
		if i == 1 {
			first = sqlstore.WriteStatementsPrepared(s)
			if first == 0 {
				t.Fatal("the transaction's searches prepared no statement")
			}
		}
	}
	if got := sqlstore.WriteStatementsPrepared(s); got != first {
		t.Errorf("statements prepared after 4 transactions: %d, after 2: %d", got, first)
	}
	if got := families(t, s, "Dahl"); len(got) != 1 {
		t.Errorf("Dahl after commit: %v", got)
	}
}

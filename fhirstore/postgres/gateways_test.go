package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

// gateways opens n stores on one new database: n gateways sharing it,
// each with its own group commit.
func gateways(t *testing.T, n int) []*sqlstore.Store {
	t.Helper()
	dsn := testpg.Start(t)
	out := make([]*sqlstore.Store, n)
	for i := range out {
		s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// Updates with If-Match from two gateways at once: each version is
// replaced by exactly one of them, so no update is lost and the version
// count equals the updates that succeeded.
func TestGateways_ConcurrentIfMatch_NeverLoseAnUpdate(t *testing.T) {
	ctx := context.Background()
	gws := gateways(t, 2)
	if _, _, err := gws[0].Update(ctx, "default", storetest.Patient(t, "p1", "v"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 8, 10
	var ok atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := gws[w%len(gws)]
			for i := range rounds {
				cur, err := s.Read(ctx, "default", "Patient", "p1")
				if err != nil {
					t.Error(err)
					return
				}
				_, _, err = s.Update(ctx, "default", storetest.Patient(t, "p1", fmt.Sprintf("w%d-%d", w, i)), fhirstore.UpdateOptions{IfMatch: cur.Version})
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, fhirstore.ErrVersionConflict):
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cur, err := gws[1].Read(ctx, "default", "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 1+ok.Load() {
		t.Fatalf("version %d after %d successful updates of version 1: an update was lost", cur.Version, ok.Load())
	}
	h, err := gws[0].History(ctx, "default", fhirstore.HistoryQuery{Type: "Patient", ID: "p1", Count: 1000})
	if err != nil || int64(h.Total) != cur.Version {
		t.Fatalf("history holds %d versions (%v), want %d", h.Total, err, cur.Version)
	}
}

// An update that creates (PUT of a new id) from two gateways at once:
// one creates version 1, the other replaces it; neither fails.
func TestGateways_ConcurrentUpsert_OneCreatesTheOtherUpdates(t *testing.T) {
	ctx := context.Background()
	gws := gateways(t, 2)
	for round := range 20 {
		id := fmt.Sprintf("u%d", round)
		var created atomic.Int64
		var wg sync.WaitGroup
		for _, s := range gws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, c, err := s.Update(ctx, "default", storetest.Patient(t, id, "x"), fhirstore.UpdateOptions{})
				if err != nil {
					t.Errorf("%s: %v", id, err)
				}
				if c {
					created.Add(1)
				}
			}()
		}
		wg.Wait()
		r, err := gws[0].Read(ctx, "default", "Patient", id)
		if err != nil || r.Version != 2 || created.Load() != 1 {
			t.Fatalf("%s: version %v (%v), %d creations; want version 2 and one creation", id, r, err, created.Load())
		}
	}
}

// A transaction whose read decides its write (a conditional create: search
// for the identifier, create when there is none), run by two gateways at
// once, creates one resource: the transactions are serializable, and the
// one that loses is run again and then finds the other's resource.
func TestGateways_ConditionalCreate_CreatesOnce(t *testing.T) {
	ctx := context.Background()
	gws := gateways(t, 2)
	for round := range 10 {
		ident := fmt.Sprintf("n%d", round)
		v, _ := url.ParseQuery("identifier=urn:test|" + ident)
		q, err := search.Parse("Patient", v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, s := range gws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Tx(ctx, func(tx fhirstore.Tx) error {
					page, err := tx.Search(ctx, "default", fhirstore.SearchQuery{Query: q})
					if err != nil || len(page.Matches) > 0 {
						return err
					}
					r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"` + ident + `"}]}`))
					if err != nil {
						return err
					}
					_, err = tx.Create(ctx, "default", r, "")
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		page, err := gws[0].Search(ctx, "default", fhirstore.SearchQuery{Query: q})
		if err != nil || len(page.Matches) != 1 {
			t.Fatalf("%s: %d patients (%v), want 1", ident, len(page.Matches), err)
		}
	}
}

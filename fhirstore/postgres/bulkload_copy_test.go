package postgres_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
)

// A bulk load copies index rows (COPY has no ON CONFLICT): a resource that
// repeats a value, which extraction gives as two equal rows, loads, and
// searches find it once.
func TestPostgres_BulkLoadCopiesARepeatedValueOnce(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, testpg.Start(t), sqlstore.Options{SearchTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"twice",
		"identifier":[{"system":"urn:x","value":"1"},{"system":"urn:x","value":"1"}],
		"name":[{"family":"Twice"},{"family":"Twice"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.BeginBulk(ctx, "default")
	if err != nil || !ok {
		t.Fatalf("BeginBulk: %v %v", ok, err)
	}
	err = b.Tx(ctx, func(tx fhirstore.BulkTx) error { return tx.Insert(ctx, r) })
	if endErr := b.End(ctx); err == nil {
		err = endErr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"identifier=urn:x|1&_total=accurate", "family=twice&_total=accurate"} {
		v, _ := url.ParseQuery(q)
		sq, err := search.Parse("Patient", v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Search(ctx, "default", fhirstore.SearchQuery{Type: "Patient", Query: sq})
		if err != nil || p.Total != 1 {
			t.Errorf("%s: %+v %v, want the one patient", q, p, err)
		}
	}
}

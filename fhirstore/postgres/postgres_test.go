package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func TestPostgres_PassesStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) fhirstore.Store {
		s, err := postgres.Open(context.Background(), testpg.Start(t), sqlstore.Options{Now: now, SearchTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Gateways starting at once against a new database migrate it once: the
// advisory lock makes the others wait and find the schema current.
func TestOpen_ConcurrentStartsMigrateOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, dsn, sqlstore.Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if _, _, err := stores[0].Update(ctx, "default", storetest.Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if r, err := s.Read(ctx, "default", "Patient", "p1"); err != nil || r.Version != 1 {
			t.Fatalf("store %d reads %+v, %v", i, r, err)
		}
	}
}

func TestOpen_ReopensExistingData(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	s, err := postgres.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, "default", storetest.Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if r, err := s.Read(ctx, "default", "Patient", "p1"); err != nil || r.Version != 1 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
}

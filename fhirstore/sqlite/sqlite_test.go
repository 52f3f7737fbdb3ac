package sqlite_test

import (
	"context"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

func TestSQLite_PassesStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) fhirstore.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpen_ReopensExistingData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, "default", storetest.Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if r, err := s.Read(ctx, "default", "Patient", "p1"); err != nil || r.Version != 1 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
}

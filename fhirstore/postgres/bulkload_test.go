package postgres_test

import (
	"context"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

func TestPostgres_BulkLoadAnswersAsTheOrdinaryLoad(t *testing.T) {
	storetest.BulkLoad(t, func(t *testing.T, now func() time.Time) fhirstore.Store {
		s, err := postgres.Open(context.Background(), testpg.Start(t), sqlstore.Options{Now: now, SearchTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkLoadResources(b *testing.B) {
	for _, bulk := range []bool{false, true} {
		name := "ordinary"
		if bulk {
			name = "bulk"
		}
		b.Run(name, func(b *testing.B) { storetest.BenchBulkLoad(b, benchStore(b, sqlstore.Options{}), bulk) })
	}
}

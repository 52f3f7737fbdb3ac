package postgres_test

import (
	"context"
	"testing"

	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/internal/testpg"
)

// The core benchmarks, the same as fhirstore/sqlite's (storetest's), on a
// fresh database each.

func benchStore(b *testing.B, opts sqlstore.Options) *sqlstore.Store {
	s, err := postgres.Open(context.Background(), testpg.Start(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkCreate_Batched(b *testing.B) {
	storetest.BenchCreateBatched(b, benchStore(b, sqlstore.Options{}))
}

func BenchmarkRead_ByID(b *testing.B) { storetest.BenchReadByID(b, benchStore(b, sqlstore.Options{})) }

func BenchmarkLoad(b *testing.B) { storetest.BenchLoad(b, benchStore(b, sqlstore.Options{})) }

// BenchmarkCreate_Concurrent16 compares the two ways of running single
// writes: per request (each its own transaction, PostgreSQL's default) and
// group commit (SQLite's: one transaction of many writes at a time).
func BenchmarkCreate_Concurrent16(b *testing.B) {
	for _, mode := range []struct {
		name       string
		perRequest bool
	}{{"PerRequest", true}, {"GroupCommit", false}} {
		b.Run(mode.name, func(b *testing.B) {
			storetest.BenchCreateConcurrent16(b, benchStore(b, sqlstore.Options{WritePerRequest: &mode.perRequest}))
		})
	}
}

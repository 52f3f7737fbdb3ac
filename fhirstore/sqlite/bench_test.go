package sqlite_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

// The core benchmarks are storetest's, shared with the other backends
// (fhirstore/postgres runs the same).

func benchStore(b *testing.B) *sqlstore.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreate_Batched measures embedded create throughput, 1,000
// resources a transaction.
func BenchmarkCreate_Batched(b *testing.B) {
	s := benchStore(b)
	defer reportCPU(b)()
	storetest.BenchCreateBatched(b, s)
}

// BenchmarkRead_ByID measures the store's read by id, without HTTP.
func BenchmarkRead_ByID(b *testing.B) { storetest.BenchReadByID(b, benchStore(b)) }

// BenchmarkLoad measures bulk ingestion as seeding and `sandbox import` do
// it (fhirstore.Load).
func BenchmarkLoad(b *testing.B) { storetest.BenchLoad(b, benchStore(b)) }

// BenchmarkCreate_Concurrent16 measures single creates from 16 concurrent
// callers: what group commit is for.
func BenchmarkCreate_Concurrent16(b *testing.B) {
	s := benchStore(b)
	defer reportCPU(b)()
	storetest.BenchCreateConcurrent16(b, s)
}

// BenchmarkTx50_Concurrent16 measures transactions of 50 creates from 16
// concurrent callers, as Bundles of type transaction write them: the
// resources of one transaction are extracted beside the committer, and
// the transactions share group commits.
func BenchmarkTx50_Concurrent16(b *testing.B) {
	s := benchStore(b)
	defer reportCPU(b)()
	ctx := context.Background()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((16 + procs - 1) / procs)
	var seq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rs := make([]*fhirjson.Resource, 50)
			for i := range rs {
				r, err := fhirjson.Parse(storetest.BenchObservation(int(seq.Add(1))))
				if err != nil {
					b.Error(err)
					return
				}
				rs[i] = r
			}
			err := s.Tx(ctx, func(tx fhirstore.Tx) error {
				for _, r := range rs {
					if _, err := tx.Create(ctx, "bench", r, ""); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(50*b.N)/time.Since(start).Seconds(), "resources/s")
}

// reportCPU returns a func that reports the process's CPU time (user and
// system, all threads) per operation since reportCPU was called: on a
// shared machine wall-clock rates say little, CPU per write says what a
// change saves.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// The core benchmarks of a backend: each backend's bench_test.go runs them
// on a store of its own, so that the figures of backends compare.

// BenchObservation is a typical vital-sign Observation as suppliers post
// them.
func BenchObservation(i int) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Observation","status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
		`"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"2026-01-02T10:%02d:00+01:00",`+
		`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i%2000, i%60, 50+i%60))
}

// BenchCreateBatched measures create throughput: parsing, stamping and
// insert, 1,000 resources a transaction.
func BenchCreateBatched(b *testing.B, s fhirstore.Store) {
	ctx := context.Background()
	const batch = 1000
	bodies := make([][]byte, batch)
	for i := range bodies {
		bodies[i] = BenchObservation(i)
	}
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		err := s.Tx(ctx, func(tx fhirstore.Tx) error {
			for i := 0; i < n; i++ {
				r, err := fhirjson.Parse(bodies[i])
				if err != nil {
					return err
				}
				if _, err := tx.Create(ctx, "bench", r, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchReadByID measures the store's read by id, without HTTP, from
// parallel readers.
func BenchReadByID(b *testing.B, s fhirstore.Store) {
	ctx := context.Background()
	var ids []string
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := 0; i < 10000; i++ {
			r, _ := fhirjson.Parse(BenchObservation(i))
			v, err := tx.Create(ctx, "bench", r, "")
			if err != nil {
				return err
			}
			ids = append(ids, v.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Read(ctx, "bench", "Observation", ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

// BenchLoad measures bulk ingestion as seeding and `sandbox import` do it
// (fhirstore.Load): validation on every core, then writes in transactions
// of 1,000 with their search index rows.
func BenchLoad(b *testing.B, s fhirstore.Store) {
	ctx := context.Background()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		o := BenchObservation(i)
		bodies[i] = append([]byte(fmt.Sprintf(`{"id":"o%d",`, i)), o[1:]...)
	}
	b.ResetTimer()
	start := time.Now()
	if err := fhirstore.Load(ctx, s, "bench", bodies, fhirstore.LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchCreateConcurrent16 measures single creates (each its own request to
// the store, parsed by its caller) from 16 concurrent callers: what group
// commit is for. A store that groups reports its mean group size.
func BenchCreateConcurrent16(b *testing.B, s fhirstore.Store) {
	ctx := context.Background()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((16 + procs - 1) / procs)
	b.ResetTimer()
	start := time.Now()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := fhirjson.Parse(BenchObservation(int(seq.Add(1))))
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Create(ctx, "bench", r, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
	if gc, ok := s.(interface{ GroupCommits() (uint64, uint64) }); ok {
		if g, w := gc.GroupCommits(); g > 0 {
			b.ReportMetric(float64(w)/float64(g), "writes/commit")
		}
	}
}

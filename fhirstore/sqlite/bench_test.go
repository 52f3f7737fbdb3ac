package sqlite_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// observation is a typical vital-sign Observation as suppliers post them.
func observation(i int) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Observation","status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
		`"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"2026-01-02T10:%02d:00+01:00",`+
		`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i%2000, i%60, 50+i%60))
}

// BenchmarkCreate_Batched measures embedded create throughput: validation
// with google/fhir, stamping and insert, 1,000 resources a transaction.
func BenchmarkCreate_Batched(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 1000
	bodies := make([][]byte, batch)
	for i := range bodies {
		bodies[i] = observation(i)
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

// BenchmarkRead_ByID measures the store's read by id, without HTTP.
func BenchmarkRead_ByID(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var ids []string
	s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := 0; i < 10000; i++ {
			r, _ := fhirjson.Parse(observation(i))
			v, err := tx.Create(ctx, "bench", r, "")
			if err != nil {
				return err
			}
			ids = append(ids, v.ID)
		}
		return nil
	})
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

// BenchmarkLoad measures bulk ingestion as seeding and `sandbox import` do
// it (fhirstore.Load): validation on every core, then writes in
// transactions of 1,000 with their search index rows.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		o := observation(i)
		bodies[i] = append([]byte(fmt.Sprintf(`{"id":"o%d",`, i)), o[1:]...)
	}
	b.ResetTimer()
	start := time.Now()
	if err := fhirstore.Load(ctx, s, "bench", bodies, fhirstore.LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchmarkCreate_Concurrent16 measures single creates (each its own
// request to the store, parsed and validated by its caller) from 16
// concurrent callers: what group commit is for.
func BenchmarkCreate_Concurrent16(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism((16 + runtimeProcs() - 1) / runtimeProcs())
	b.ResetTimer()
	start := time.Now()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := fhirjson.Parse(observation(int(seq.Add(1))))
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
	if g, w := s.GroupCommits(); g > 0 {
		b.ReportMetric(float64(w)/float64(g), "writes/commit")
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

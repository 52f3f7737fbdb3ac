package tenant

import (
	"context"
	"testing"
)

// BenchmarkResetSandbox measures a reset of a sandbox with the default
// seed (the personas and DefaultSeedPatients generated patients) after a
// few writes: erase, generate, validate and load. Target: < 2 s.
func BenchmarkResetSandbox(b *testing.B) {
	for _, patients := range []int{DefaultSeedPatients, 100} {
		b.Run(map[int]string{DefaultSeedPatients: "default_seed", 100: "100_patients"}[patients], func(b *testing.B) {
			s, store := newService(b, Options{})
			ctx := context.Background()
			sb, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "bench", Name: "bench", SeedPatients: intp(patients)})
			if err != nil {
				b.Fatal(err)
			}
			resources := count(b, store, sb.ID, "")
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.ResetSandbox(ctx, supplierA, sb.ID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/reset")
			b.ReportMetric(float64(resources), "resources")
		})
	}
}

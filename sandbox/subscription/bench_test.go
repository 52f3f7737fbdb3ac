package subscription

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
)

// BenchmarkRestHookLatency measures the time from a write's commit (as the
// store reports it) to its rest-hook notification arriving at a receiver
// on loopback; it reports the p50 and p99 in ms.
func BenchmarkRestHookLatency(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, fastConfig())
	var mu sync.Mutex
	committed := map[string]time.Time{}
	stop := e.store.ObserveCommits(func(cs []fhirstore.Change) {
		now := time.Now()
		mu.Lock()
		for _, c := range cs {
			committed[c.Resource.ID] = now
		}
		mu.Unlock()
	})
	defer stop()
	arrived := make(chan time.Duration, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		t0 := committed[path.Base(r.URL.Path)]
		mu.Unlock()
		arrived <- now.Sub(t0)
	}))
	defer srv.Close()
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel(srv.URL, map[string]any{"payload": "application/fhir+json"}))
	for e.state("a", id).Status != StatusActive {
		time.Sleep(time.Millisecond)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		e.observation(ctx, "a", "", "p1", "vital-signs", 1)
		lat = append(lat, <-arrived)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

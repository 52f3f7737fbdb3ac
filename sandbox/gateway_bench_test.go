package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// openBenchGateway is the gateway `sandbox serve` runs (Open: metrics,
// traces making ids, the request log in its SQLite file) over a fresh
// store holding Patient/kari, logging nothing.
func openBenchGateway(b *testing.B) *Gateway {
	b.Helper()
	ctx := context.Background()
	cfg := Defaults()
	cfg.DataDir = b.TempDir()
	cfg.SeedPatients = 0
	store, err := sqlite.Open(ctx, cfg.DataDir, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g, err := Open(ctx, cfg, store, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close(); store.Close() })
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:8080/fhir/Patient/kari", bytes.NewReader([]byte(
		`{"resourceType":"Patient","id":"kari"`+benchPatient[len(`{"resourceType":"Patient"`):])))
	req.Header.Set("Content-Type", "application/fhir+json")
	w := newDiscardWriter()
	g.ServeHTTP(w, req)
	if w.status != http.StatusCreated {
		b.Fatalf("seed: status %d", w.status)
	}
	return g
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, reused across requests so that a benchmark counts the gateway's
// allocations and not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

// cpuTime is the CPU time this process has used, on every thread.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per request since start, on every
// thread (goroutines the request started, the collector, the request
// log's writer): on a shared machine it varies less than the wall time,
// and it is what bounds throughput once the cores are busy.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkGateway_ReadByID measures one read by id through the whole
// gateway as `sandbox serve` runs it, without the network: the time,
// bytes and allocations -benchmem reports are the gateway's and its
// store's per request (compare BenchmarkRead_HTTPVsBareHandler, which adds
// the HTTP stack on both sides).
func BenchmarkGateway_ReadByID(b *testing.B) {
	g := openBenchGateway(b)
	w := newDiscardWriter()
	// net/http serves each request under a context it cancels when the
	// client goes away; so does this one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8080/fhir/Patient/kari", nil)
	req.Header.Set("Accept", "application/fhir+json")
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		w.reset()
		g.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	reportCPU(b, cpu)
}

// benchCreateRequest is the i-th create of the create benchmarks: a heart
// rate Observation of Patient/kari, its minute and value varying with i.
func benchCreateRequest(ctx context.Context, i int64) *http.Request {
	body := fmt.Appendf(nil, `{"resourceType":"Observation","status":"final",`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
		`"subject":{"reference":"Patient/kari"},"effectiveDateTime":"2026-11-01T10:%02d:00+01:00",`+
		`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i%60, 50+i%60)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:8080/fhir/Observation", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	return req
}

// BenchmarkGateway_Create is BenchmarkGateway_ReadByID for a create of
// an Observation, one request at a time.
func BenchmarkGateway_Create(b *testing.B) {
	g := openBenchGateway(b)
	w := newDiscardWriter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		req := benchCreateRequest(ctx, int64(i))
		w.reset()
		g.ServeHTTP(w, req)
		if w.status != http.StatusCreated {
			b.Fatalf("status %d", w.status)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkGateway_CreateConcurrent is BenchmarkGateway_Create from 16
// clients at once, as the bench command's create workload sends them
// (without the network): the writes share group commits, and cpu-ns/op is
// what one create costs the process in all.
func BenchmarkGateway_CreateConcurrent(b *testing.B) {
	g := openBenchGateway(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		w := newDiscardWriter()
		for pb.Next() {
			i := n.Add(1)
			req := benchCreateRequest(ctx, i)
			w.reset()
			g.ServeHTTP(w, req)
			if w.status != http.StatusCreated {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	reportCPU(b, cpu)
}

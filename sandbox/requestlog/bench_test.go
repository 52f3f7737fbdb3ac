package requestlog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/requestlog"
)

// discardStore accepts everything at once, so that a benchmark measures
// the request path and not a store.
type discardStore struct{ countingStore }

func (*discardStore) Append(context.Context, []requestlog.Entry) error { return nil }

func sampleEntry() requestlog.Entry {
	return requestlog.Entry{Sandbox: "s1", Time: time.Now(), ClientID: "app-1", Method: "GET",
		Path: "/sandboxes/s1/fhir/Patient/123", Query: "_format=json", Status: 200,
		Latency: time.Millisecond, ResponseBytes: 512, Scopes: "patient/*.rs", RequestID: "abc"}
}

// BenchmarkRecord is the Recorder's cost on the request path: queueing an
// entry, or counting it when the queue is full.
func BenchmarkRecord(b *testing.B) {
	// dropped/op shows which path was measured: a loop that does nothing
	// but record outruns the writer, which a server does not.
	report := func(b *testing.B, r *requestlog.Recorder) {
		b.ReportMetric(float64(r.Dropped())/float64(b.N), "dropped/op")
	}
	b.Run("Queued", func(b *testing.B) {
		r := requestlog.New(&discardStore{}, requestlog.Options{QueueSize: 1 << 16})
		defer r.Close(context.Background())
		e := sampleEntry()
		b.ReportAllocs()
		for b.Loop() {
			r.Record(e)
		}
		report(b, r)
	})
	b.Run("QueuedParallel", func(b *testing.B) {
		r := requestlog.New(&discardStore{}, requestlog.Options{QueueSize: 1 << 16})
		defer r.Close(context.Background())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			e := sampleEntry()
			for pb.Next() {
				r.Record(e)
			}
		})
		report(b, r)
	})
	b.Run("QueueFull", func(b *testing.B) {
		store := newBlockingStore()
		r := requestlog.New(store, requestlog.Options{QueueSize: 1})
		defer func() {
			close(store.release)
			r.Close(context.Background())
		}()
		e := sampleEntry()
		r.Record(e)
		<-store.entered
		r.Record(e)
		b.ReportAllocs()
		for b.Loop() {
			r.Record(e)
		}
		report(b, r)
	})
}

// benchEngine serves a trivial read, with the request log or without.
func benchEngine(rec *requestlog.Recorder) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(func(c *gin.Context) {
		// As the gateway's request id middleware does.
		c.Set("request_id", "abc")
		c.Header("X-Request-Id", "abc")
		c.Next()
	})
	if rec != nil {
		e.Use(requestlog.Middleware(rec, func(c *gin.Context) string { return c.Param("sandbox") }))
	}
	body := []byte(`{"resourceType":"Patient","id":"123"}`)
	oo := []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/404 is not known"}]}`)
	e.GET("/sandboxes/:sandbox/fhir/Patient/:id", func(c *gin.Context) {
		if n := requestlog.NoteOf(c); n != nil {
			n.ClientID, n.Scopes = "app-1", "patient/*.rs"
		}
		if c.Param("id") == "404" {
			c.Data(http.StatusNotFound, "application/fhir+json", oo)
			return
		}
		c.Data(http.StatusOK, "application/fhir+json", body)
	})
	return e
}

// BenchmarkMiddleware compares a trivial read by id through gin without
// and with the request log. The two engines serve alternate blocks of
// requests, so that both see the same machine (other processes, GC), and
// the metrics are per request: off_ns, on_ns, overhead_ns and overhead_%
// (of the trivial handler's cost, so an upper bound on a real read's).
// ns/op and allocs/op are of a request averaged over both engines.
func BenchmarkMiddleware(b *testing.B) {
	for _, tt := range []struct{ name, path string }{
		{"Read", "/sandboxes/s1/fhir/Patient/123?_format=json"},
		{"NotFoundWithOutcome", "/sandboxes/s1/fhir/Patient/404"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			rec := requestlog.New(&discardStore{}, requestlog.Options{})
			defer rec.Close(context.Background())
			engines := [2]*gin.Engine{benchEngine(nil), benchEngine(rec)}
			req := httptest.NewRequest("GET", tt.path, nil)
			w := httptest.NewRecorder()
			const block = 64
			var spent [2]time.Duration
			var served [2]int
			k, n := 0, 0
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				w.Body.Reset()
				engines[k].ServeHTTP(w, req)
				if n++; n == block {
					now := time.Now()
					spent[k] += now.Sub(start)
					served[k] += n
					start, n, k = now, 0, 1-k
				}
			}
			spent[k] += time.Since(start)
			served[k] += n
			if served[0] == 0 || served[1] == 0 {
				return
			}
			off := float64(spent[0].Nanoseconds()) / float64(served[0])
			on := float64(spent[1].Nanoseconds()) / float64(served[1])
			b.ReportMetric(off, "off_ns/req")
			b.ReportMetric(on, "on_ns/req")
			b.ReportMetric(on-off, "overhead_ns/req")
			b.ReportMetric(100*(on-off)/off, "overhead_%")
		})
	}
}

// BenchmarkSQLiteAppend is the writer's capacity on the SQLite store, in
// batches of DefaultBatchSize at the per-sandbox bound (so every batch
// also trims): above the request rate, nothing is dropped.
func BenchmarkSQLiteAppend(b *testing.B) {
	s, err := requestlog.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "requestlog.db"), 4*requestlog.DefaultBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := make([]requestlog.Entry, requestlog.DefaultBatchSize)
	for i := range batch {
		batch[i] = sampleEntry()
	}
	ctx := context.Background()
	for range 5 { // fill to the bound
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "entries/s")
}

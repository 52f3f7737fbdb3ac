package ginlog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/ginlog"
)

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
		e.Use(ginlog.Middleware(rec, func(c *gin.Context) string { return c.Param("sandbox") }))
	}
	body := []byte(`{"resourceType":"Patient","id":"123"}`)
	oo := []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/404 is not known"}]}`)
	e.GET("/sandboxes/:sandbox/fhir/Patient/:id", func(c *gin.Context) {
		if n := ginlog.NoteOf(c); n != nil {
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

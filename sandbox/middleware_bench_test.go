package sandbox

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
)

// BenchmarkLogRequests measures the request line of one request, logged
// at INFO as `sandbox serve` logs it, around a handler that does nothing.
func BenchmarkLogRequests(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(requestID(), logRequests(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e.GET("/fhir/Patient/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/fhir/Patient/kari", nil)
	w := newDiscardWriter()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		w.reset()
		e.ServeHTTP(w, req)
	}
	reportCPU(b, cpu)
}

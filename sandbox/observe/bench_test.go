package observe

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// BenchmarkMiddleware is the cost the middleware adds to a request: an
// engine with it against one without.
func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.GET("/fhir/*path", func(c *gin.Context) { c.Status(http.StatusOK) })
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"observed", testEngine(NewMetrics(), nil, slog.New(slog.DiscardHandler))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/fhir/Patient/pat-a", nil)
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

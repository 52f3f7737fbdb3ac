package observe

import (
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Middleware counts and times each request in m and runs it inside a
// server span from tp, continuing the caller's W3C trace context. The
// span and the series are named by the route template (gin's FullPath,
// below a FHIR base the path's FHIRShape, or Unmatched), never by the raw
// path, which carries ids. sandboxOf, asked
// after the request was served, names the sandbox it reached when the
// gateway knows it, and "" otherwise (labelled NoSandbox). m may be nil.
func Middleware(m *Metrics, tp trace.TracerProvider, sandboxOf func(*gin.Context) string) gin.HandlerFunc {
	tr := tracer(tp)
	return func(c *gin.Context) {
		start := time.Now()
		route := routeOf(c)
		method := MethodLabel(c.Request.Method)
		ctx := Propagator.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		ctx, span := tr.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)

		c.Next()

		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, "")
		}
		sandbox := ""
		if sandboxOf != nil {
			sandbox = sandboxOf(c)
		}
		if sandbox == "" {
			sandbox = NoSandbox
		}
		span.SetAttributes(attribute.String("hps.sandbox", sandbox))
		m.Request(route, method, status, sandbox, time.Since(start))
	}
}

package observe

import (
	"net/http"
	"net/textproto"
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
	routes := &routeCache{m: m}
	serverKind := trace.WithSpanKind(trace.SpanKindServer)
	// The headers Propagator reads, under their canonical keys.
	var fields []string
	for _, f := range Propagator.Fields() {
		fields = append(fields, textproto.CanonicalMIMEHeaderKey(f))
	}
	return func(c *gin.Context) {
		start := time.Now()
		method := MethodLabel(c.Request.Method)
		l := routes.of(c, method)
		ctx := c.Request.Context()
		if h := c.Request.Header; carriesAny(h, fields) {
			// Without any of its headers the propagator leaves ctx as it is.
			ctx = Propagator.Extract(ctx, propagation.HeaderCarrier(h))
		}
		ctx, span := tr.Start(ctx, l.span, serverKind)
		defer span.End()
		// A span that records nothing (none is exported) is given no
		// attributes: building them is most of its cost.
		recording := span.IsRecording()
		if recording {
			span.SetAttributes(attribute.String("http.request.method", method), attribute.String("http.route", l.route))
		}
		c.Request = c.Request.WithContext(ctx)

		c.Next()

		status := c.Writer.Status()
		sandbox := ""
		if sandboxOf != nil {
			sandbox = sandboxOf(c)
		}
		if sandbox == "" {
			sandbox = NoSandbox
		}
		if recording {
			span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("hps.sandbox", sandbox))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
		}
		if m != nil {
			m.requests.WithLabelValues(l.route, method, statusLabel(status), sandbox).Inc()
			l.latency.Observe(time.Since(start).Seconds())
		}
	}
}

// carriesAny reports whether h has a value under any of keys.
func carriesAny(h http.Header, keys []string) bool {
	for _, k := range keys {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

package observe

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName names the gateway in exported spans (service.name).
const ServiceName = "hp-sandbox"

// tracerName is the instrumentation scope of the gateway's spans.
const tracerName = "hpsandbox/sandbox"

// Propagator reads and writes W3C trace context (traceparent,
// tracestate) and baggage headers.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Tracing returns the gateway's tracer provider and a function that
// flushes and stops it. With endpoint empty it samples nothing and exports
// nothing, but still makes trace and span ids (continuing an incoming
// traceparent), so that log lines can name them. With endpoint, an
// OTLP/HTTP base URL such as http://collector:4318 (the form of
// OTEL_EXPORTER_OTLP_ENDPOINT; /v1/traces is added when it has no path),
// it samples every request whose caller did not decide otherwise and sends
// the spans there in batches. The exporter reads the other
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression) as usual.
func Tracing(ctx context.Context, endpoint, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if endpoint == "" {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		return tp, tp.Shutdown, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("OTLP endpoint %q: want an http(s) URL such as http://collector:4318", endpoint)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", ServiceName),
		attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return tp, tp.Shutdown, nil
}

// tracer is the gateway's tracer from tp, or from a provider that makes
// ids but records nothing when tp is nil.
func tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = idsOnly
	}
	return tp.Tracer(tracerName)
}

// idsOnly makes trace ids and records nothing: the provider of parts
// built without one.
var idsOnly = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))

// Package observe is what an operator watches the gateway by: Prometheus
// metrics, OpenTelemetry traces, trace ids in the JSON logs, and the
// health (/healthz) and readiness (/readyz) answers.
//
// Metrics live in a Registry of their own (never the process-wide default,
// so that two gateways in one test do not share counters) and are served by
// Metrics.Handler, which the server exposes on a listener of its own
// (--metrics-addr): the series name sandboxes and routes, which the public
// listener has no business showing. Labels are bounded: the route is the
// gin route template (never the raw path), the method one of the HTTP
// methods or OTHER, the sandbox one the gateway knows or "none".
//
// Series:
//
//	http_requests_total{route,method,status,sandbox}      requests answered
//	http_request_duration_seconds{route,method}           their latency
//	hps_store_operation_duration_seconds{op}              FHIR store calls
//	hps_redis_command_duration_seconds{command}           Redis commands
//	hps_smart_tokens_issued_total{grant_type}             access tokens issued
//	hps_connector_messages_total{connector,verdict}       connector messages
//	hps_requestlog_dropped_total                          request-log entries dropped
//
// Traces: Tracing returns a tracer provider that exports over OTLP/HTTP
// when an endpoint is configured, and otherwise one that exports nothing
// but still gives every request a W3C trace context (continuing an incoming
// traceparent), so that log lines carry trace ids either way. Middleware
// starts one span per request named by its route template; Store adds a
// child span per store call of a sampled request (one not sampled would
// get a child that records nothing). LogHandler adds trace_id and span_id
// to every log record made with a request's context.
//
// The request path is measured (BenchmarkGateway_ReadByID in package
// sandbox): the labels, span name and latency series of a method and
// route template are made once and read without a lock, and a span that
// records nothing is given no attributes.
//
// It is not a metrics or tracing backend, and it keeps no state beyond the
// process.
package observe

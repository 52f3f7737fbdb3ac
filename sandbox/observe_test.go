package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"hpsandbox/connectors/example"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/observe"
	"hpsandbox/smart/redisstate/redistest"
)

// scrapeText returns m's exposition after checking that it parses.
func scrapeText(t *testing.T, m *observe.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String())); err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return rec.Body.String()
}

// The gateway's series name route templates, known sandboxes only, the
// tokens it issued and the store calls it made; never an id from a path.
func TestMetrics_GatewaySeries(t *testing.T) {
	m := observe.NewMetrics()
	env := newGatewayEnvWith(t, func(_ *Config, p *parts) { p.metrics = m })
	tok := env.backendToken(t, otherBackendID, "system/Patient.rs")
	if resp, _ := env.fhir(t, "GET", "/Patient/pat-a", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("read: %d", resp.StatusCode)
	}
	if resp, _ := env.fhirAt(t, env.srv.URL+"/sandboxes/"+otherSandbox+"/fhir", "GET", "/Patient?_count=1", tok, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("search in %s: %d", otherSandbox, resp.StatusCode)
	}
	if resp, _ := env.fhirAt(t, env.srv.URL+"/sandboxes/made-up-sandbox-77/fhir", "GET", "/Patient/pat-a", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a made-up sandbox: %d", resp.StatusCode)
	}
	text := scrapeText(t, m)
	for _, want := range []string{
		`http_requests_total{method="GET",route="/fhir/{type}/{id}",sandbox="default",status="200"} 1`,
		`http_requests_total{method="GET",route="/sandboxes/:sandbox/fhir/{type}",sandbox="` + otherSandbox + `",status="200"} 1`,
		`http_requests_total{method="GET",route="/sandboxes/:sandbox/fhir/{type}/{id}",sandbox="none",status="404"} 1`,
		`http_requests_total{method="POST",route="/auth/token",sandbox="none",status="200"} 1`,
		`hps_smart_tokens_issued_total{grant_type="client_credentials"} 1`,
		`hps_store_operation_duration_seconds_count{op="read"}`,
		`hps_store_operation_duration_seconds_count{op="search"}`,
		`hps_requestlog_dropped_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the exposition lacks %s", want)
		}
	}
	for _, raw := range []string{"pat-a", "made-up-sandbox-77", "_count=1"} {
		if strings.Contains(text, raw) {
			t.Errorf("the exposition holds %q from a request", raw)
		}
	}
}

// newObservedGateway is a gateway over a fresh SQLite store with a span
// recorder and a captured JSON log.
func newObservedGateway(t *testing.T, p parts) (h http.Handler, closeStore func(), spans *tracetest.SpanRecorder, logs *bytes.Buffer) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeStore = sync.OnceFunc(func() { store.Close() })
	t.Cleanup(closeStore)
	spans = tracetest.NewSpanRecorder()
	p.tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	p.keys = testKeys()
	p.track = func(c func() error) { t.Cleanup(func() { c() }) }
	logs = &bytes.Buffer{}
	cfg := Defaults()
	cfg.SeedPatients = -1
	b, err := build(cfg, store, slog.New(slog.NewJSONHandler(logs, nil)), p)
	if err != nil {
		t.Fatal(err)
	}
	return b.engine, closeStore, spans, logs
}

// The request's log line names the trace and span of its server span,
// and the store call is a child of that span.
func TestTracing_RequestLogLineNamesItsSpan(t *testing.T) {
	h, _, spans, logs := newObservedGateway(t, parts{})
	req := httptest.NewRequest("GET", "/fhir/Patient/nobody", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
	var server, store sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		switch s.Name() {
		case "GET /fhir/{type}/{id}":
			server = s
		case "store read":
			store = s
		}
	}
	if server == nil || store == nil {
		t.Fatalf("spans %v", spans.Ended())
	}
	if store.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("the store span is not a child of the request's")
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" {
			line = v
		}
	}
	if line == nil {
		t.Fatalf("no request line in %s", logs)
	}
	if line["trace_id"] != "0af7651916cd43dd8448eb211c80319c" || line["span_id"] != server.SpanContext().SpanID().String() {
		t.Errorf("the request line %v does not name span %s", line, server.SpanContext().SpanID())
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func readyz(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("/readyz body %q: %v", rec.Body, err)
	}
	return rec.Code, body
}

func TestReadyz_StoreAndRedis(t *testing.T) {
	t.Run("store up, no Redis", func(t *testing.T) {
		h, _, _, _ := newObservedGateway(t, parts{})
		if code, body := readyz(t, h); code != http.StatusOK || body["status"] != "ok" {
			t.Errorf("%d %v", code, body)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		h, closeStore, _, _ := newObservedGateway(t, parts{})
		closeStore()
		code, body := readyz(t, h)
		if code != http.StatusServiceUnavailable || body["status"] != "unavailable" {
			t.Fatalf("%d %v", code, body)
		}
		if f, _ := body["failed"].([]any); len(f) != 1 || f[0] != "store" {
			t.Errorf("failed %v, want [store]", body["failed"])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("/healthz with the store down: %d, want 200 (liveness asks no dependency)", rec.Code)
		}
	})
	t.Run("Redis gone", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		h, _, _, _ := newObservedGateway(t, parts{redis: rdb})
		code, body := readyz(t, h)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("%d %v", code, body)
		}
		checks, _ := body["checks"].(map[string]any)
		if checks["store"] != "ok" || checks["redis"] != "failed" {
			t.Errorf("checks %v", checks)
		}
	})
}

// A gateway opened with Redis is ready when Redis answers, and times its
// Redis commands.
func TestOpen_ReadyWithRedisAndTimesItsCommands(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.SeedPatients = -1
	cfg.RedisURL = redistest.Start(t)
	gw := openGateway(t, cfg)
	code, body := readyz(t, gw)
	if checks, _ := body["checks"].(map[string]any); code != http.StatusOK || checks["redis"] != "ok" || checks["store"] != "ok" {
		t.Fatalf("%d %v", code, body)
	}
	rec := httptest.NewRecorder()
	gw.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `hps_redis_command_duration_seconds_count{command="ping"}`) {
		t.Errorf("no Redis timings in %.500s", rec.Body)
	}
}

// A connector's message is counted under the connector, and the request
// under the default sandbox although the connector recorded it itself.
func TestMetrics_ConnectorMessagesCounted(t *testing.T) {
	m := observe.NewMetrics()
	env := newGatewayEnvWith(t, func(c *Config, p *parts) { c.Connectors, p.metrics = example.ID, m })
	resp, body := env.fhirAt(t, env.srv.URL+"/connectors/example", http.MethodPost, "/Observation", "", connectorObservation)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	text := scrapeText(t, m)
	if !strings.Contains(text, `hps_connector_messages_total{connector="example",verdict=`) {
		t.Errorf("no connector message counted:\n%s", grepLines(text, "hps_connector"))
	}
	if !strings.Contains(text, `route="/connectors/*rest",sandbox="default",status="201"`) {
		t.Errorf("the connector's request is not under the default sandbox:\n%s", grepLines(text, "http_requests_total"))
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// With an OTLP endpoint, the gateway sends its request spans there; they
// are flushed when it closes.
func TestOpen_SendsSpansToTheOTLPEndpoint(t *testing.T) {
	got := make(chan string, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + string(b)
	}))
	defer collector.Close()
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.SeedPatients = -1
	cfg.OTLPEndpoint = collector.URL
	gw := openGateway(t, cfg)
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("GET", "/fhir/metadata", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metadata: %d", rec.Code)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-got:
		if !strings.HasPrefix(body, "/v1/traces ") || !strings.Contains(body, "GET /fhir/metadata") {
			t.Errorf("the collector received %.200q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the collector received nothing")
	}
}

// Every request leaves one line naming it by request id, method, path
// without the query, status, size and duration, at INFO; a client that
// hung up is said so and is not an error.
func TestLogRequests_OneLinePerRequest(t *testing.T) {
	for _, tc := range []struct {
		name, target, id string
		cancel           bool
		status           float64
		gone             bool
	}{
		{name: "missing resource", target: "/fhir/Patient/nobody?name=kari", id: "req-1", status: http.StatusNotFound},
		{name: "no route", target: "/nowhere", id: "req-2", status: http.StatusNotFound},
		{name: "client gone", target: "/fhir/Patient/nobody", id: "req-3", cancel: true, gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _, logs := newObservedGateway(t, parts{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			req := httptest.NewRequestWithContext(ctx, "GET", tc.target, nil)
			req.Header.Set(RequestIDHeader, tc.id)
			h.ServeHTTP(httptest.NewRecorder(), req)
			var lines []map[string]any
			for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
				var v map[string]any
				if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" {
					lines = append(lines, v)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d request lines in %s", len(lines), logs)
			}
			line := lines[0]
			path, _, _ := strings.Cut(tc.target, "?")
			if line["level"] != "INFO" || line["request_id"] != tc.id || line["method"] != "GET" || line["path"] != path {
				t.Errorf("line %v", line)
			}
			if _, ok := line["duration_ms"].(float64); !ok {
				t.Errorf("line %v has no duration", line)
			}
			if _, ok := line["bytes"].(float64); !ok {
				t.Errorf("line %v has no size", line)
			}
			if tc.status != 0 && line["status"] != tc.status {
				t.Errorf("status %v, want %v", line["status"], tc.status)
			}
			if gone, _ := line["client_gone"].(bool); gone != tc.gone {
				t.Errorf("client_gone %v, want %v", line["client_gone"], tc.gone)
			}
			if _, ok := line["time"]; !ok {
				t.Errorf("line %v has no time", line)
			}
		})
	}
}

package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"hpsandbox/fhirstore"
)

func TestFHIRShape_IDsBecomePlaceholders(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"", ""},
		{"/", ""},
		{"/metadata", "/metadata"},
		{"/Patient", "/{type}"},
		{"/Patient/pat-a", "/{type}/{id}"},
		{"/Patient/pat-a/_history/2", "/{type}/{id}/_history/{vid}"},
		{"/Patient/_history", "/{type}/_history"},
		{"/Patient/_search", "/{type}/_search"},
		{"/Patient/pat-a/$everything", "/{type}/{id}/{operation}"},
		{"/$export", "/{operation}"},
		{"/Patient/pat-a/Observation", "/{type}/{id}/{type}"},
		{"/.well-known/smart-configuration", "/.well-known/smart-configuration"},
		{"/a/b/c/d/e/f/g/h", "/{type}/{id}/{type}/{id}/{type}/{id}/…"},
	} {
		if got := FHIRShape(tc.path); got != tc.want {
			t.Errorf("FHIRShape(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// FuzzFHIRShape: whatever the path, the shape holds no segment of it but
// the keywords, and stays short.
func FuzzFHIRShape(f *testing.F) {
	for _, s := range []string{"/Patient/1", "/Patient/1/_history/3", "/$export", "//x//", "/metadata/metadata"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		shape := FHIRShape(path)
		if len(shape) > 80 {
			t.Fatalf("shape of %q is %d bytes", path, len(shape))
		}
		for _, seg := range strings.Split(strings.Trim(shape, "/"), "/") {
			switch {
			case seg == "", seg == "…", fhirKeywords[seg],
				seg == "{type}", seg == "{id}", seg == "{vid}", seg == "{operation}":
			default:
				t.Fatalf("shape of %q has segment %q", path, seg)
			}
		}
	})
}

func TestMethodLabel_MadeUpMethodsAreOther(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "BREW": "OTHER", "get": "OTHER", "": "OTHER"} {
		if got := MethodLabel(in); got != want {
			t.Errorf("MethodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// scrape reads h's exposition into metric families.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// labels returns the label sets of family name.
func labels(fams map[string]*dto.MetricFamily, name string) []map[string]string {
	var out []map[string]string
	if f := fams[name]; f != nil {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out = append(out, l)
		}
	}
	return out
}

// counter is the value of the series of name with exactly want's labels.
func counter(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, p := range m.GetLabel() {
			if want[p.GetName()] != p.GetValue() {
				continue next
			}
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

func testEngine(m *Metrics, tp trace.TracerProvider, log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(Middleware(m, tp, func(c *gin.Context) string {
		if sb := c.Param("sandbox"); sb == "known" {
			return sb
		}
		return ""
	}))
	h := func(c *gin.Context) {
		log.InfoContext(c.Request.Context(), "handled")
		c.Status(http.StatusOK)
	}
	e.Any("/fhir/*path", h)
	e.Any("/sandboxes/:sandbox/fhir/*path", h)
	e.GET("/boom", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
	return e
}

func TestMiddleware_CountsByRouteTemplateNeverRawPath(t *testing.T) {
	m := NewMetrics()
	e := testEngine(m, nil, slog.New(slog.DiscardHandler))
	for _, r := range []struct{ method, path string }{
		{"GET", "/fhir/Patient/secret-id-1"},
		{"GET", "/fhir/Patient/secret-id-2"},
		{"PUT", "/fhir/Patient/secret-id-1"},
		{"GET", "/sandboxes/known/fhir/metadata"},
		{"GET", "/sandboxes/made-up-sandbox/fhir/metadata"},
		{"BREW", "/fhir/Patient"},
		{"GET", "/no/such/route-xyz"},
		{"GET", "/boom"},
	} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	fams := scrape(t, m.Handler())
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"route": "/fhir/{type}/{id}", "method": "GET", "status": "200", "sandbox": "none"}, 2},
		{map[string]string{"route": "/fhir/{type}/{id}", "method": "PUT", "status": "200", "sandbox": "none"}, 1},
		{map[string]string{"route": "/sandboxes/:sandbox/fhir/metadata", "method": "GET", "status": "200", "sandbox": "known"}, 1},
		{map[string]string{"route": "/sandboxes/:sandbox/fhir/metadata", "method": "GET", "status": "200", "sandbox": "none"}, 1},
		{map[string]string{"route": "unmatched", "method": "OTHER", "status": "404", "sandbox": "none"}, 1},
		{map[string]string{"route": "unmatched", "method": "GET", "status": "404", "sandbox": "none"}, 1},
		{map[string]string{"route": "/boom", "method": "GET", "status": "500", "sandbox": "none"}, 1},
	} {
		if got := counter(fams, "http_requests_total", tc.labels); got != tc.want {
			t.Errorf("http_requests_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := counter(fams, "http_request_duration_seconds", map[string]string{"route": "/fhir/{type}/{id}", "method": "GET"}); got != 2 {
		t.Errorf("latency histogram count = %v, want 2", got)
	}
	for _, name := range []string{"http_requests_total", "http_request_duration_seconds"} {
		for _, l := range labels(fams, name) {
			for k, v := range l {
				if strings.Contains(v, "secret-id") || strings.Contains(v, "made-up") || strings.Contains(v, "route-xyz") || strings.Contains(v, "BREW") {
					t.Errorf("%s label %s=%q holds a raw value", name, k, v)
				}
			}
		}
	}
	if fams["go_goroutines"] == nil {
		t.Error("the Go runtime collector is not registered")
	}
}

func TestMetrics_RegistriesAreIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.TokenIssued("client_credentials")
	if got := counter(scrape(t, b.Handler()), "hps_smart_tokens_issued_total", map[string]string{"grant_type": "client_credentials"}); got != -1 {
		t.Errorf("a token counted in one registry shows in another: %v", got)
	}
	if got := counter(scrape(t, a.Handler()), "hps_smart_tokens_issued_total", map[string]string{"grant_type": "client_credentials"}); got != 1 {
		t.Errorf("tokens issued = %v, want 1", got)
	}
}

func TestMetrics_NilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Request("/x", "GET", 200, "none", time.Millisecond)
	m.StoreCall("read", time.Millisecond)
	m.TokenIssued("x")
	m.ConnectorMessage("x", "pass")
	m.CountDropped(func() uint64 { return 1 })
}

func TestMetrics_DroppedCounterReadsTheRecorder(t *testing.T) {
	m := NewMetrics()
	var n uint64 = 7
	m.CountDropped(func() uint64 { return n })
	if got := counter(scrape(t, m.Handler()), "hps_requestlog_dropped_total", map[string]string{}); got != 7 {
		t.Errorf("dropped = %v, want 7", got)
	}
}

// A request's log lines carry the trace id and span id of its span, which
// continues the caller's traceparent.
func TestTracing_LogLinesCarryTheRequestSpan(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	e := testEngine(nil, tp, log)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := httptest.NewRequest("GET", "/fhir/Patient/pat-a", nil)
	req.Header.Set("traceparent", parent)
	e.ServeHTTP(httptest.NewRecorder(), req)

	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	span := spans[0]
	if span.Name() != "GET /fhir/{type}/{id}" {
		t.Errorf("span name %q", span.Name())
	}
	if got := span.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("the span did not continue the caller's trace: %s", got)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["trace_id"] != span.SpanContext().TraceID().String() || line["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("log line %v does not name span %s/%s", line, span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
}

// Without an exporter a request still gets a trace id for its log lines.
func TestTracing_IDsWithoutExporter(t *testing.T) {
	tp, stop, err := Tracing(context.Background(), "", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	var buf bytes.Buffer
	e := testEngine(nil, tp, slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fhir/metadata", nil))
	var line map[string]any
	_ = json.Unmarshal(buf.Bytes(), &line)
	if id, _ := line["trace_id"].(string); len(id) != 32 || id == strings.Repeat("0", 32) {
		t.Errorf("log line without a trace id: %s", buf.String())
	}
}

// With an endpoint, spans are sent over OTLP/HTTP to its /v1/traces.
func TestTracing_ExportsToOTLPEndpoint(t *testing.T) {
	var mu sync.Mutex
	var got []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	tp, stop, err := Tracing(context.Background(), collector.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	e := testEngine(nil, tp, slog.New(slog.DiscardHandler))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fhir/Patient/pat-a", nil))
	if err := stop(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the collector received nothing")
	}
	if !strings.HasPrefix(got[0], "POST /v1/traces application/x-protobuf") ||
		!strings.Contains(got[0], "GET /fhir/{type}/{id}") || !strings.Contains(got[0], ServiceName) {
		t.Errorf("the collector received %q", got[0])
	}
}

func TestTracing_RefusesABadEndpoint(t *testing.T) {
	for _, ep := range []string{"collector:4318", "ftp://x", "http://"} {
		if _, _, err := Tracing(context.Background(), ep, "test"); err == nil {
			t.Errorf("Tracing(%q) accepted", ep)
		}
	}
}

func TestReadyz_NamesTheFailedCheck(t *testing.T) {
	var logs bytes.Buffer
	h := Readyz(slog.New(slog.NewJSONHandler(&logs, nil)),
		Check{Name: "store", Ping: func(context.Context) error { return nil }},
		Check{Name: "redis", Ping: func(context.Context) error { return errors.New("dial tcp 10.0.0.7:6379: refused") }},
	)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
		Failed []string          `json:"failed"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "unavailable" || body.Checks["store"] != "ok" || body.Checks["redis"] != "failed" || len(body.Failed) != 1 || body.Failed[0] != "redis" {
		t.Errorf("body %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Error("the answer names an internal address")
	}
	if !strings.Contains(logs.String(), "10.0.0.7") {
		t.Error("the cause was not logged")
	}
}

func TestReadyz_SlowCheckTimesOut(t *testing.T) {
	h := Readyz(nil, Check{Name: "store", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || time.Since(start) > CheckTimeout+time.Second {
		t.Errorf("status %d after %v", rec.Code, time.Since(start))
	}
}

func TestHealthz_AsksNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	Healthz().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// readOnly is a store that answers reads with a Patient and does nothing
// else.
type readOnly struct{ fhirstore.Store }

func (readOnly) Read(_ context.Context, _ fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	return &fhirstore.Resource{Type: typ, ID: id, Version: 1}, nil
}

// A store call under a sampled request span runs in a child span; under
// one that is not sampled it makes none (it would record nothing), and is
// timed into the metrics either way.
func TestStore_SpansOnlyUnderASampledRequest(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	m := NewMetrics()
	s := NewStore(readOnly{}, m, tp)
	for _, tc := range []struct {
		flags trace.TraceFlags
		spans int
	}{{trace.FlagsSampled, 2}, {0, 0}} {
		sr.Reset()
		parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2},
			TraceFlags: tc.flags, Remote: true})
		ctx, span := tp.Tracer("test").Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "request")
		if _, err := s.Read(ctx, "default", "Patient", "kari"); err != nil {
			t.Fatal(err)
		}
		span.End()
		if got := len(sr.Ended()); got != tc.spans {
			t.Errorf("parent flags %v: %d spans ended, want %d", tc.flags, got, tc.spans)
		}
	}
	fams := scrape(t, m.Handler())
	f := fams["hps_store_operation_duration_seconds"]
	if f == nil || len(f.Metric) != 1 || f.Metric[0].GetHistogram().GetSampleCount() != 2 {
		t.Errorf("store reads timed: %v, want 2 in the read series", f)
	}
}

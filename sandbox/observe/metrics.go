package observe

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NoSandbox is the sandbox label of a request that reached no known
// sandbox (an unknown id, the portal, the server's own endpoints).
const NoSandbox = "none"

// Unmatched is the route label of a request no route served.
const Unmatched = "unmatched"

// Metrics are the gateway's Prometheus series in a registry of their own.
// The zero value is not usable; use NewMetrics. A nil *Metrics records
// nothing, so that parts built without metrics need no checks.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	store        *prometheus.HistogramVec
	redis        *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	connectorMsg *prometheus.CounterVec
}

// NewMetrics returns the gateway's metrics with the Go runtime and process
// collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route template, method, status and sandbox.",
		}, []string{"route", "method", "status", "sandbox"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hps_store_operation_duration_seconds",
			Help:    "Time of FHIR store calls made for the FHIR API and connectors, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"op"}),
		redis: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hps_redis_command_duration_seconds",
			Help:    "Time of Redis commands (SMART token state), by command.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"command"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hps_smart_tokens_issued_total",
			Help: "Access tokens the SMART authorization server issued, by grant type.",
		}, []string{"grant_type"}),
		connectorMsg: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hps_connector_messages_total",
			Help: "Messages connectors took, by connector and verdict of its checks (pass, fail, or none when no check judged it).",
		}, []string{"connector", "verdict"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.store, m.redis, m.tokens, m.connectorMsg,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the series are registered, for a part that adds its
// own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the series in the Prometheus text (or OpenMetrics, when
// asked) exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// CountDropped exposes a running count of dropped request-log entries
// (requestlog.Recorder.Dropped) as hps_requestlog_dropped_total.
func (m *Metrics) CountDropped(dropped func() uint64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "hps_requestlog_dropped_total",
		Help: "Request-log entries dropped because the log's queue was full or closed.",
	}, func() float64 { return float64(dropped()) }))
}

// Request records one answered request. route is the route template (or
// Unmatched), sandbox a known sandbox id (or NoSandbox).
func (m *Metrics) Request(route, method string, status int, sandbox string, d time.Duration) {
	if m == nil {
		return
	}
	method = MethodLabel(method)
	m.requests.WithLabelValues(route, method, statusLabel(status), sandbox).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// statusLabels are the status labels of the codes HTTP defines, made once.
var statusLabels = func() (s [600]string) {
	for i := 100; i < len(s); i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// statusLabel is status as a label.
func statusLabel(status int) string {
	if status >= 100 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// StoreCall records the time of one store operation.
func (m *Metrics) StoreCall(op string, d time.Duration) {
	if m == nil {
		return
	}
	m.store.WithLabelValues(op).Observe(d.Seconds())
}

// TokenIssued counts an access token issued under grantType, which must
// be one the server supports (it is a label).
func (m *Metrics) TokenIssued(grantType string) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(grantType).Inc()
}

// ConnectorMessage counts a message connector took with its verdict:
// "pass", "fail" or "none".
func (m *Metrics) ConnectorMessage(connector, verdict string) {
	if m == nil {
		return
	}
	m.connectorMsg.WithLabelValues(connector, verdict).Inc()
}

// MethodLabel is method when it is a standard HTTP method and OTHER
// otherwise, so that made-up methods cannot grow the series.
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/observe"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

// MetricsHandler serves the gateway's Prometheus series. `sandbox serve`
// exposes it on --metrics-addr only, never on the public listener.
func (g *Gateway) MetricsHandler() http.Handler { return g.metrics.Handler() }

// metricsSandbox is the sandbox label of a request's series: the sandbox
// the request log would record it under (a known one, never a made-up id)
// and, for exchanges a connector recorded itself, the sandbox it served.
func (s *sandboxes) metricsSandbox(c *gin.Context) string {
	if s == nil {
		return ""
	}
	if !c.GetBool(connectorServed) {
		return s.recorded(c)
	}
	id := c.Param("sandbox")
	if id == "" {
		return fhirstore.DefaultSandbox
	}
	if sb, err := s.get(c.Request.Context(), id); err == nil && sb != nil && id != fhirstore.DefaultSandbox {
		return id
	}
	return ""
}

// openRedis connects to the Redis at rawURL with the metrics hook and
// checks that it answers.
func openRedis(ctx context.Context, rawURL string, m *observe.Metrics, tp trace.TracerProvider) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w (want redis://host:port/db)", err)
	}
	client := redis.NewClient(opts)
	client.AddHook(observe.RedisHook(m, tp))
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("Redis at %s does not answer: %w", opts.Addr, err)
	}
	return client, nil
}

// readinessChecks are what /readyz asks: the FHIR store, and Redis when
// token state lives there.
func readinessChecks(store fhirstore.Store, rdb *redis.Client) []observe.Check {
	checks := []observe.Check{observe.StoreCheck(store)}
	if rdb != nil {
		checks = append(checks, observe.Check{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	}
	return checks
}

// tokenMetrics counts the access tokens the authorization server issued,
// then hands the event on.
type tokenMetrics struct {
	m    *observe.Metrics
	next smart.Observer // nil: none
}

func (t tokenMetrics) Observe(ctx context.Context, ev smart.Event) {
	// Only a token answered without error: its grant type is then one the
	// server supports, a bounded label.
	if ev.Facts.Endpoint == smart.EndpointToken && ev.Facts.Error == "" {
		t.m.TokenIssued(ev.Facts.GrantType)
	}
	if t.next != nil {
		t.next.Observe(ctx, ev)
	}
}

// messageMetrics counts connectors' messages by their checks' verdict,
// then records them in next when there is a request log.
type messageMetrics struct {
	m    *observe.Metrics
	next *requestlog.Recorder // nil: no request log
}

func (r messageMetrics) Record(e requestlog.Entry) {
	if e.Connector != "" {
		verdict := "none"
		for i, v := range e.Verdicts {
			if i == 0 {
				verdict = "pass"
			}
			if !v.Pass {
				verdict = "fail"
				break
			}
		}
		r.m.ConnectorMessage(e.Connector, verdict)
	}
	if r.next != nil {
		r.next.Record(e)
	}
}

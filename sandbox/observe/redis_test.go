package observe

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"hpsandbox/smart/redisstate/redistest"
)

func TestRedisHook_TimesCommandsInChildSpans(t *testing.T) {
	opts, err := redis.ParseURL(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	m := NewMetrics()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	client.AddHook(RedisHook(m, tp))

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Get(ctx, "missing").Err(); err != redis.Nil {
		t.Fatalf("get: %v", err)
	}
	if err := client.Do(ctx, "ECHO", "made-up-label").Err(); err != nil {
		t.Fatal(err)
	}
	parent.End()

	fams := scrape(t, m.Handler())
	for _, cmd := range []string{"set", "get", "other"} {
		if got := counter(fams, "hps_redis_command_duration_seconds", map[string]string{"command": cmd}); got < 1 {
			t.Errorf("no timing of %s: %v", cmd, got)
		}
	}
	for _, l := range labels(fams, "hps_redis_command_duration_seconds") {
		if l["command"] == "echo" || l["command"] == "made-up-label" {
			t.Errorf("unbounded command label %v", l)
		}
	}
	var set sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == "redis set" {
			set = s
		}
		if s.Name() == "redis get" && s.Status().Code != 0 {
			t.Errorf("a missing key marked the span as failed: %v", s.Status())
		}
	}
	if set == nil || set.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("the SET span is not a child of the request's: %v", set)
	}
}

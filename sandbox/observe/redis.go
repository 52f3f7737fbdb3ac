package observe

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// RedisHook times each Redis command into m and runs it in a child span
// of the caller's; add it with (*redis.Client).AddHook.
func RedisHook(m *Metrics, tp trace.TracerProvider) redis.Hook {
	return redisHook{m: m, tr: tracer(tp)}
}

type redisHook struct {
	m  *Metrics
	tr trace.Tracer
}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		name := redisCommand(cmd.Name())
		return h.timed(ctx, name, func(ctx context.Context) error { return next(ctx, cmd) })
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.timed(ctx, "pipeline", func(ctx context.Context) error { return next(ctx, cmds) })
	}
}

func (h redisHook) timed(ctx context.Context, name string, fn func(context.Context) error) error {
	start := time.Now()
	ctx, span := h.tr.Start(ctx, "redis "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "redis"), attribute.String("db.operation.name", name)))
	err := fn(ctx)
	if h.m != nil {
		h.m.redis.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}
	if err != nil && err != redis.Nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return err
}

// redisCommand is name when it is a command the gateway sends, "other"
// otherwise, so that the label stays bounded.
func redisCommand(name string) string {
	name = strings.ToLower(name)
	switch name {
	case "get", "set", "setnx", "del", "mget", "ping", "hello", "client", "select", "auth", "exists", "expire", "pexpire", "eval", "evalsha":
		return name
	}
	return "other"
}

package subscription

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/peers"
	"hpsandbox/smart/redisstate/redistest"
)

// BenchmarkSweep measures one claim sweep in the steady state: 100
// sandboxes, each with an active subscription another gateway holds.
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	url := redistest.Start(b)
	opts, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	other := peers.NewLeases(rdb, "bench:lease:", "other")
	var sandboxes []fhirstore.Sandbox
	for i := range 100 {
		sb := fhirstore.Sandbox("sb" + strconv.Itoa(i))
		sandboxes = append(sandboxes, sb)
		res, err := st.Create(ctx, sb, parseResource(b, `{"resourceType":"Subscription","status":"active","reason":"bench",
			"criteria":"Observation?category=vital-signs","channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/"}}`), "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := other.Claim(ctx, []string{leaseKey(sb, res.ID)}, time.Hour, true); err != nil {
			b.Fatal(err)
		}
	}
	cfg := fastConfig()
	cfg.Shared, cfg.LeaseTTL, cfg.Sweep = true, 30*time.Millisecond, time.Hour
	cfg.Leases = peers.NewLeases(rdb, "bench:lease:", "me")
	cfg.Sandboxes = func(context.Context) ([]fhirstore.Sandbox, error) { return sandboxes, nil }
	m := New(st, nil, cfg)
	defer m.Close()
	time.Sleep(2 * cfg.LeaseTTL) // the subscriptions are no longer fresh
	b.ResetTimer()
	for range b.N {
		m.sweep()
	}
}

package peers_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hpsandbox/sandbox/peers"
	"hpsandbox/smart/redisstate/redistest"
)

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// A lease is claimed by one owner at a time; only its owner renews or
// releases it; take moves it at once; unrenewed it runs out.
func TestLeases_OneOwnerRenewsAndReleasesItsOwn(t *testing.T) {
	ctx := context.Background()
	rdb := redisClient(t)
	a := peers.NewLeases(rdb, "test:lease:", "gateway-a")
	b := peers.NewLeases(rdb, "test:lease:", "gateway-b")
	const ttl = time.Minute
	want := func(what string, got []bool, err error, w ...bool) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", what, got, w)
		}
	}
	owner := func(key string) string {
		v, _ := rdb.Get(ctx, "test:lease:"+key).Result()
		return v
	}

	got, err := a.Claim(ctx, []string{"sb/1", "sb/2"}, ttl, false)
	want("a claims two free leases", got, err, true, true)
	got, err = b.Claim(ctx, []string{"sb/1", "sb/3"}, ttl, false)
	want("b claims a held and a free lease", got, err, false, true)
	got, err = b.Claim(ctx, []string{"sb/3"}, ttl, false)
	want("b claims its own lease again", got, err, true)
	got, err = b.Renew(ctx, []string{"sb/1", "sb/3", "sb/4"}, ttl)
	want("b renews a's, its own, and a missing lease", got, err, false, true, false)
	if err := b.Release(ctx, []string{"sb/1"}); err != nil {
		t.Fatal(err)
	}
	if owner("sb/1") != "gateway-a" {
		t.Errorf("b released a's lease: owner %q", owner("sb/1"))
	}
	got, err = b.Claim(ctx, []string{"sb/2"}, ttl, true)
	want("b takes a's lease", got, err, true)
	got, err = a.Renew(ctx, []string{"sb/1", "sb/2"}, ttl)
	want("a renews after b took one", got, err, true, false)
	if err := a.Release(ctx, []string{"sb/1", "sb/2"}); err != nil {
		t.Fatal(err)
	}
	if owner("sb/1") != "" || owner("sb/2") != "gateway-b" {
		t.Errorf("after a's release: sb/1 %q, sb/2 %q", owner("sb/1"), owner("sb/2"))
	}

	// Renewal extends; without it the lease runs out.
	got, err = a.Claim(ctx, []string{"sb/5"}, 300*time.Millisecond, false)
	want("a claims a short lease", got, err, true)
	got, err = a.Renew(ctx, []string{"sb/5"}, time.Minute)
	want("a renews it", got, err, true)
	if d := rdb.PTTL(ctx, "test:lease:sb/5").Val(); d < 30*time.Second {
		t.Errorf("renewed lease lasts %v", d)
	}
	got, err = a.Claim(ctx, []string{"sb/6"}, 100*time.Millisecond, false)
	want("a claims a lease it will not renew", got, err, true)
	time.Sleep(250 * time.Millisecond)
	got, err = b.Claim(ctx, []string{"sb/6"}, ttl, false)
	want("b claims the lease that ran out", got, err, true)

	// Redis forgot the scripts (a restart): the calls load them again.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = b.Renew(ctx, []string{"sb/6"}, ttl)
	want("renewal after SCRIPT FLUSH", got, err, true)
	if err := b.Release(ctx, []string{"sb/6"}); err != nil || owner("sb/6") != "" {
		t.Errorf("release after SCRIPT FLUSH: %v, owner %q", err, owner("sb/6"))
	}

	// No keys, no round trip, no error.
	if got, err := a.Renew(ctx, nil, ttl); err != nil || len(got) != 0 {
		t.Errorf("renew of nothing: %v %v", got, err)
	}
}

// Redis not answering is an error, never a lease granted or lost.
func TestLeases_RedisDownIsAnError(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	l := peers.NewLeases(rdb, "test:lease:", "gateway-a")
	ctx := context.Background()
	if got, err := l.Claim(ctx, []string{"sb/1"}, time.Second, false); err == nil {
		t.Errorf("claim without Redis: %v, no error", got)
	}
	if got, err := l.Renew(ctx, []string{"sb/1"}, time.Second); err == nil {
		t.Errorf("renew without Redis: %v, no error", got)
	}
	if err := l.Release(ctx, []string{"sb/1"}); err == nil {
		t.Error("release without Redis: no error")
	}
}

package redisstate_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/throttle"
	"hpsandbox/smart/redisstate"
	"hpsandbox/smart/redisstate/redistest"
)

// Two gateways' limiters sharing the counts in Redis: failures through
// one make the other wait, failures side by side are all counted, and a
// success through either starts the count over for both.
func TestCounts_LimitersOfTwoGatewaysThrottleOneGuesser(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	st, closeFn, err := redisstate.Open(ctx, url, "test:"+rand.Text()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := throttle.Policy{Free: 2, Base: time.Second, Max: time.Minute, Forget: 10 * time.Minute}
	a, b := throttle.New(p, clock, 0), throttle.New(p, clock, 0)
	a.Share(st.Counts("signin:account:"))
	b.Share(st.Counts("signin:account:"))

	for _, l := range []*throttle.Limiter{a, b, a} {
		if w := l.Try("alice"); w != 0 {
			t.Fatalf("attempt within the free allowance waits %v", w)
		}
		l.Fail("alice")
	}
	// Three failures in all, one beyond the free two: a second's wait at
	// both, though b saw one failure only.
	for name, l := range map[string]*throttle.Limiter{"a": a, "b": b} {
		if w := l.Wait("alice"); w != time.Second {
			t.Errorf("%s waits %v after three shared failures, want 1s", name, w)
		}
		if w := l.Wait("bob"); w != 0 {
			t.Errorf("%s makes another account wait %v", name, w)
		}
	}
	b.Reset("alice")
	c := throttle.New(p, clock, 0)
	c.Share(st.Counts("signin:account:"))
	if w := c.Wait("alice"); w != 0 {
		t.Errorf("after a reset a third gateway waits %v", w)
	}

	// Failures side by side through both are all counted.
	var wg sync.WaitGroup
	for i := range 20 {
		l := []*throttle.Limiter{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Fail("carol")
		}()
	}
	wg.Wait()
	n, _, err := st.Counts("signin:account:").Failures(ctx, "carol")
	if err != nil || n != 20 {
		t.Errorf("20 failures side by side counted %d (%v)", n, err)
	}
}

// A Redis that does not answer leaves each limiter to its own count.
func TestCounts_UnreachableRedisLeavesTheLocalCount(t *testing.T) {
	url := redistest.Start(t)
	st, closeFn, err := redisstate.Open(context.Background(), url, "x:")
	if err != nil {
		t.Fatal(err)
	}
	closeFn() // the pool is closed: every call fails
	now := time.Unix(1_800_000_000, 0)
	l := throttle.New(throttle.Policy{Free: 0, Base: time.Second, Max: time.Minute}, func() time.Time { return now }, 0)
	l.Share(st.Counts("k:"))
	l.Fail("alice")
	if w := l.Wait("alice"); w != time.Second {
		t.Errorf("wait %v, want the local count's 1s", w)
	}
}

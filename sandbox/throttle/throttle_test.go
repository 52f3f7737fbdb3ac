package throttle

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var policy = Policy{Free: 3, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}

func newLimiter(maxKeys int) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(policy, c.now, maxKeys), c
}

func TestLimiter_FreeFailuresThenDoublingWaitsUpToTheCap(t *testing.T) {
	l, c := newLimiter(0)
	// After each failure, the wait before the next attempt.
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := l.Try("alice"); got != 0 {
			t.Fatalf("attempt %d refused: wait %s", i+1, got)
		}
		if got := l.Wait("alice"); got != w {
			t.Errorf("after failure %d: wait %s, want %s", i+1, got, w)
		}
		if w > 0 {
			if got := l.Try("alice"); got != w {
				t.Errorf("an attempt during the wait: %s, want the %s left", got, w)
			}
			c.advance(w)
		}
	}
	for range 20 {
		l.Try("alice")
		c.advance(l.Wait("alice"))
	}
	l.Try("alice")
	if got := l.Wait("alice"); got != policy.Max {
		t.Errorf("after many failures: %s, want the cap %s", got, policy.Max)
	}
	if got := l.Wait("bob"); got != 0 {
		t.Errorf("another key waits %s", got)
	}
}

func TestLimiter_ResetStartsOverAndForgiveTakesBackOneAttempt(t *testing.T) {
	l, _ := newLimiter(0)
	for range 5 {
		l.Try("k")
	}
	if l.Wait("k") == 0 {
		t.Fatal("no wait after 5 failures")
	}
	l.Reset("k")
	if got := l.Wait("k"); got != 0 || l.Len() != 0 {
		t.Errorf("after Reset: wait %s, %d keys", got, l.Len())
	}
	for range 4 { // three free failures, and a fourth that succeeds
		l.Try("k")
	}
	l.Forgive("k")
	if got := l.Wait("k"); got != 0 {
		t.Errorf("a success forgiven still waits %s", got)
	}
	l.Try("k")
	if got := l.Wait("k"); got != time.Second {
		t.Errorf("the failure after: %s, want the first wait", got)
	}
	l.Forgive("nobody") // nothing to take back
}

func TestLimiter_ForgetsAKeyLeftAloneAndNeverWaitsBeyondTheCap(t *testing.T) {
	l, c := newLimiter(0)
	for range 30 {
		l.Try("k")
		c.advance(l.Wait("k"))
	}
	l.Try("k")
	if got := l.Wait("k"); got > policy.Max {
		t.Fatalf("wait %s beyond the cap", got)
	}
	c.advance(policy.Max)
	if got := l.Try("k"); got != 0 {
		t.Errorf("after the cap has passed: refused for %s", got)
	}
	c.advance(policy.Forget)
	l.Try("k")
	if got := l.Wait("k"); got != 0 {
		t.Errorf("a key left alone for %s still counts: wait %s", policy.Forget, got)
	}
}

func TestLimiter_BoundedMemory_FloodingCannotEvictAKeyUnderAttack(t *testing.T) {
	l, c := newLimiter(100)
	for range 10 {
		l.Try("victim")
		c.advance(l.Wait("victim"))
	}
	l.Try("victim")
	before := l.Wait("victim")
	for i := range 10000 {
		l.Try("flood-" + strconv.Itoa(i))
	}
	if l.Len() > 100 {
		t.Errorf("%d keys, want at most 100", l.Len())
	}
	if got := l.Wait("victim"); got == 0 || got > before {
		t.Errorf("the victim's wait after the flood: %s, want %s kept", got, before)
	}
	c.advance(policy.Forget)
	l.Try("late")
	if l.Len() != 1 {
		t.Errorf("%d keys after all were left alone past Forget, want only the new one", l.Len())
	}
}

func TestLimiter_AttemptsSideBySideCannotSlipPastTheCount(t *testing.T) {
	l, _ := newLimiter(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if l.Try("k") == 0 {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != policy.Free+1 {
		t.Errorf("%d of 50 simultaneous attempts went through, want %d", allowed, policy.Free+1)
	}
}

func TestLimiter_WithoutBaseNeverWaits(t *testing.T) {
	l := New(Policy{}, nil, 0)
	for range 100 {
		if got := l.Try("k"); got != 0 {
			t.Fatalf("waits %s", got)
		}
	}
}

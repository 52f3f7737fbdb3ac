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

// fail makes one attempt under key that fails, and returns the wait
// before the next.
func fail(t *testing.T, l *Limiter, key string) time.Duration {
	t.Helper()
	if w := l.Try(key); w != 0 {
		t.Fatalf("attempt under %s refused: wait %s", key, w)
	}
	l.Fail(key)
	return l.Wait(key)
}

func TestLimiter_FreeFailuresThenDoublingWaitsUpToTheCap(t *testing.T) {
	l, c := newLimiter(0)
	// After each failure, the wait before the next attempt.
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := fail(t, l, "alice"); got != w {
			t.Errorf("after failure %d: wait %s, want %s", i+1, got, w)
		}
		if w > 0 {
			if got := l.Try("alice"); got != w {
				t.Errorf("an attempt during the wait: %s, want the %s left", got, w)
			}
			c.advance(w / 2)
			if got := l.Wait("alice"); got != w-w/2 {
				t.Errorf("half-way through the wait: %s left, want %s", got, w-w/2)
			}
			c.advance(w - w/2)
		}
	}
	for range 20 {
		c.advance(fail(t, l, "alice"))
	}
	if got := fail(t, l, "alice"); got != policy.Max {
		t.Errorf("after many failures: %s, want the cap %s", got, policy.Max)
	}
	if got := l.Wait("bob"); got != 0 {
		t.Errorf("another key waits %s", got)
	}
}

func TestLimiter_ResetStartsOverAndDoneDoesNotCount(t *testing.T) {
	l, c := newLimiter(0)
	for range 5 {
		c.advance(fail(t, l, "k"))
	}
	fail(t, l, "k")
	l.Reset("k")
	if got := l.Wait("k"); got != 0 || l.Len() != 0 {
		t.Errorf("after Reset: wait %s, %d keys", got, l.Len())
	}
	for range 3 {
		fail(t, l, "k")
	}
	for range 10 { // successes neither count nor clear
		if w := l.Try("k"); w != 0 {
			t.Fatalf("a success's attempt refused: %s", w)
		}
		l.Done("k")
	}
	if got := fail(t, l, "k"); got != time.Second {
		t.Errorf("the failure after three and some successes: %s, want the first wait", got)
	}
	l.Done("nobody") // nothing to report
	l.Reset("nobody")
}

func TestLimiter_ForgetsACountWhoseLastFailureIsOld_SuccessesDoNotKeepItAlive(t *testing.T) {
	l, c := newLimiter(0)
	for range 30 {
		c.advance(fail(t, l, "k"))
	}
	if got := fail(t, l, "k"); got > policy.Max {
		t.Fatalf("wait %s beyond the cap", got)
	}
	c.advance(policy.Max)
	for range 10 { // successes through the hour
		if w := l.Try("k"); w != 0 {
			t.Fatalf("after the cap has passed: refused for %s", w)
		}
		l.Done("k")
		c.advance(policy.Forget / 10)
	}
	if got := fail(t, l, "k"); got != 0 {
		t.Errorf("an hour after the last failure, a failure still waits %s: the count should have started over", got)
	}
}

func TestLimiter_BoundedMemory_FloodingCannotEvictAKeyUnderAttack(t *testing.T) {
	l, c := newLimiter(100)
	for range 10 {
		c.advance(fail(t, l, "victim"))
	}
	fail(t, l, "victim")
	before := l.Wait("victim")
	for i := range 10000 {
		fail(t, l, "flood-"+strconv.Itoa(i))
	}
	if l.Len() > 100 {
		t.Errorf("%d keys, want at most 100", l.Len())
	}
	if got := l.Wait("victim"); got == 0 || got > before {
		t.Errorf("the victim's wait after the flood: %s, want %s kept", got, before)
	}
	c.advance(policy.Forget)
	fail(t, l, "late")
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
	for range allowed {
		l.Fail("k")
	}
	if got := l.Wait("k"); got != time.Second {
		t.Errorf("after the %d failed: wait %s", allowed, got)
	}
	// Once a key has failed past its free ones, one attempt at a time.
	l2, c := newLimiter(0)
	for range 4 {
		fail(t, l2, "k")
	}
	c.advance(time.Second)
	if l2.Try("k") != 0 || l2.Try("k") == 0 {
		t.Error("two attempts at once after the free failures")
	}
}

func TestLimiter_WithoutBaseNeverWaits(t *testing.T) {
	l := New(Policy{}, nil, 0)
	for range 100 {
		if got := l.Try("k"); got != 0 {
			t.Fatalf("waits %s", got)
		}
		l.Fail("k")
	}
}

// Package throttle slows down guessing: it counts the failures under a key
// (an account, a client address) and tells how long the next attempt must
// wait, doubling the wait with each failure beyond a free allowance, up to
// a cap. A cap, and forgetting keys that stop failing, mean that an
// attacker who fails on purpose delays a real user for at most the cap,
// never for good.
//
// It keeps its counts in memory, bounded, for one process, and, given a
// Shared store (Redis, package redisstate), shares the failures with the
// other processes of a deployment, so that an attacker spreading guesses
// over several gateways meets one count. It is not a request-rate limiter
// for an API, and knows nothing of HTTP.
package throttle

import (
	"context"
	"sync"
	"time"
)

// Shared keeps failure counts several processes share. Its errors leave
// the Limiter to its own counts: a store that does not answer weakens the
// throttle to one process's view, it never locks anyone out.
type Shared interface {
	// Fail counts one failure of key at now, forgotten after forget
	// without further failures, and returns the count and the time of the
	// last failure.
	Fail(ctx context.Context, key string, now time.Time, forget time.Duration) (failures int, last time.Time, err error)
	// Failures returns key's count and last failure; 0 when there is none.
	Failures(ctx context.Context, key string) (failures int, last time.Time, err error)
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string) error
}

// sharedTimeout bounds one call to the Shared store.
const sharedTimeout = 2 * time.Second

// Policy is how a Limiter counts.
type Policy struct {
	// Free is how many failures in a row cost no wait.
	Free int
	// Base is the wait after the first failure beyond Free; each further
	// failure doubles it.
	Base time.Duration
	// Max caps a wait.
	Max time.Duration
	// Forget is how long after its last failure a key's count starts
	// over; at least Max. Successes do not keep a count alive.
	Forget time.Duration
}

// Limiter counts failures per key. It is safe for concurrent use.
type Limiter struct {
	p       Policy
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*count
	// shared, when set, holds the counts of every process.
	shared Shared
}

type count struct {
	failures int
	// pending are attempts under way: Try let them through and their
	// Fail or Done has not come yet.
	pending  int
	lastFail time.Time
}

// DefaultMaxKeys bounds the keys a Limiter keeps unless New is told
// otherwise.
const DefaultMaxKeys = 10000

// New returns a Limiter counting by p, reading the time from now (nil:
// time.Now) and keeping at most maxKeys keys (0: DefaultMaxKeys). A
// Policy without Base never makes anyone wait.
func New(p Policy, now func() time.Time, maxKeys int) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if p.Forget < p.Max {
		p.Forget = p.Max
	}
	return &Limiter{p: p, now: now, maxKeys: maxKeys, keys: map[string]*count{}}
}

// Share makes l count failures in s as well, where the other processes
// of the deployment count theirs; call it before l is used.
func (l *Limiter) Share(s Shared) { l.shared = s }

// adopt takes the shared count of key into its local count when that is
// higher (failures through other processes). It calls the store outside
// l.mu.
func (l *Limiter) adopt(key string, now time.Time) {
	if l.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	n, last, err := l.shared.Failures(ctx, key)
	if err != nil || n == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.merge(key, n, last, now)
}

// merge raises key's local count to n failures, the last at last. The
// caller holds l.mu.
func (l *Limiter) merge(key string, n int, last time.Time, now time.Time) {
	c := l.liveOrNew(key, now)
	if n > c.failures {
		c.failures = n
	}
	if last.After(c.lastFail) {
		c.lastFail = last
	}
}

// Try asks to make an attempt under key. It returns 0 when the attempt may
// go ahead, and the caller then reports its outcome with Fail or Done.
// Otherwise it returns how long to wait: the back-off after the last
// failure, or, while as many attempts are under way as the free failures
// left would allow, Base (attempts sent side by side must not all slip
// past the count before the first of them fails).
func (l *Limiter) Try(key string) time.Duration {
	now := l.now()
	l.adopt(key, now)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.liveOrNew(key, now)
	if wait := l.waitOf(c, now); wait > 0 {
		return wait
	}
	if l.p.Base > 0 && c.pending > 0 && c.failures+c.pending > l.p.Free {
		return l.p.Base
	}
	c.pending++
	return 0
}

// Fail reports that an attempt Try let through failed.
func (l *Limiter) Fail(key string) {
	now := l.now()
	l.mu.Lock()
	// Forgotten or evicted while the attempt ran: counted afresh.
	c := l.liveOrNew(key, now)
	c.pending = max(0, c.pending-1)
	c.failures++
	c.lastFail = now
	l.mu.Unlock()
	if l.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	n, last, err := l.shared.Fail(ctx, key, now, l.p.Forget)
	cancel()
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.merge(key, n, last, now)
}

// Done reports that an attempt Try let through did not fail (or failed
// through no fault of the caller's): it does not count, and the failures
// before it still do.
func (l *Limiter) Done(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.keys[key]
	if c == nil {
		return
	}
	c.pending = max(0, c.pending-1)
	if c.pending == 0 && c.failures == 0 {
		delete(l.keys, key)
	}
}

// Reset forgets key's failures: its next failure is its first. Attempts
// under way still report.
func (l *Limiter) Reset(key string) {
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		_ = l.shared.Reset(ctx, key)
		cancel()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.keys[key]
	if c == nil {
		return
	}
	c.failures = 0
	if c.pending == 0 {
		delete(l.keys, key)
	}
}

// Wait returns how long key must still wait before an attempt.
func (l *Limiter) Wait(key string) time.Duration {
	now := l.now()
	l.adopt(key, now)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.live(key, now)
	if c == nil {
		return 0
	}
	return l.waitOf(c, now)
}

// liveOrNew returns key's count, made (with room for it) when there is
// none. The caller holds l.mu.
func (l *Limiter) liveOrNew(key string, now time.Time) *count {
	c := l.live(key, now)
	if c == nil {
		l.makeRoom(now)
		c = &count{}
		l.keys[key] = c
	}
	return c
}

// Len returns how many keys the limiter holds.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// live returns key's count, having started it over if its last failure
// is older than Forget; nil when there is none.
func (l *Limiter) live(key string, now time.Time) *count {
	c := l.keys[key]
	if c != nil && c.failures > 0 && now.Sub(c.lastFail) >= l.p.Forget {
		c.failures = 0
	}
	return c
}

// waitOf is how long c must still wait at now.
func (l *Limiter) waitOf(c *count, now time.Time) time.Duration {
	over := c.failures - l.p.Free
	if over <= 0 || l.p.Base <= 0 {
		return 0
	}
	w := l.p.Base
	for i := 1; i < over && w < l.p.Max; i++ {
		w *= 2
	}
	if l.p.Max > 0 {
		w = min(w, l.p.Max)
	}
	return max(0, c.lastFail.Add(w).Sub(now))
}

// makeRoom keeps the map under maxKeys before a key is added: first it
// drops keys whose count is over and that have no attempt under way, then,
// if still full, the key with the fewest failures (the oldest of those),
// so that flooding the limiter with new keys cannot wipe out the count of
// a key under attack.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.keys) < l.maxKeys {
		return
	}
	for k, c := range l.keys {
		if c.pending == 0 && (c.failures == 0 || now.Sub(c.lastFail) >= l.p.Forget) {
			delete(l.keys, k)
		}
	}
	for len(l.keys) >= l.maxKeys {
		var victim string
		var vc *count
		for k, c := range l.keys {
			if vc == nil || c.failures < vc.failures || (c.failures == vc.failures && c.lastFail.Before(vc.lastFail)) {
				victim, vc = k, c
			}
		}
		delete(l.keys, victim)
	}
}

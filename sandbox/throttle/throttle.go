// Package throttle slows down guessing: it counts the attempts made under a
// key (an account, a client address) and tells how long the next one must
// wait, doubling the wait with each failure beyond a free allowance, up to
// a cap. A cap, and forgetting keys left alone, mean that an attacker who
// fails on purpose delays a real user for at most the cap, never for good.
//
// It keeps its counts in memory, bounded, for one process; it is not a
// request-rate limiter for an API, and knows nothing of HTTP.
package throttle

import (
	"sync"
	"time"
)

// Policy is how a Limiter counts.
type Policy struct {
	// Free is how many failures in a row cost no wait.
	Free int
	// Base is the wait after the first failure beyond Free; each further
	// failure doubles it.
	Base time.Duration
	// Max caps a wait.
	Max time.Duration
	// Forget is how long a key may go without an attempt before its count
	// starts over; at least Max.
	Forget time.Duration
}

// Limiter counts attempts per key. It is safe for concurrent use.
type Limiter struct {
	p       Policy
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[string]*count
}

type count struct {
	failures int
	last     time.Time // of the last attempt counted
	until    time.Time // no attempt before this
}

// DefaultMaxKeys bounds the keys a Limiter keeps unless New is told
// otherwise.
const DefaultMaxKeys = 10000

// New returns a Limiter counting by p, reading the time from now (nil:
// time.Now) and keeping at most maxKeys keys (0: DefaultMaxKeys). A
// Policy without Base or Max never makes anyone wait.
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

// Try takes an attempt under key. While key must wait, it returns how much
// longer and counts nothing. Otherwise it returns 0 and counts the attempt
// as a failure at once, so that attempts made side by side cannot slip
// past the count; Reset or Forgive take it back when the attempt succeeds.
func (l *Limiter) Try(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.keys[key]
	if c != nil && now.Sub(c.last) >= l.p.Forget {
		delete(l.keys, key)
		c = nil
	}
	if c != nil && now.Before(c.until) {
		return c.until.Sub(now)
	}
	if c == nil {
		l.makeRoom(now)
		c = &count{}
		l.keys[key] = c
	}
	c.failures++
	c.last = now
	c.until = now.Add(l.wait(c.failures))
	return 0
}

// Wait returns how long key must still wait before an attempt, counting
// nothing.
func (l *Limiter) Wait(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.keys[key]; c != nil && now.Sub(c.last) < l.p.Forget && now.Before(c.until) {
		return c.until.Sub(now)
	}
	return 0
}

// Reset forgets key: its next attempt is its first.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// Forgive takes back one attempt Try counted under key, which succeeded;
// the failures before it still count.
func (l *Limiter) Forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.keys[key]
	if c == nil {
		return
	}
	c.failures--
	switch {
	case c.failures <= 0:
		delete(l.keys, key)
	case c.failures <= l.p.Free:
		c.until = time.Time{}
	default:
		c.until = c.last.Add(l.wait(c.failures))
	}
}

// wait is the wait after n failures.
func (l *Limiter) wait(n int) time.Duration {
	over := n - l.p.Free
	if over <= 0 || l.p.Base <= 0 {
		return 0
	}
	w := l.p.Base
	for i := 1; i < over && w < l.p.Max; i++ {
		w *= 2
	}
	return min(w, l.p.Max)
}

// makeRoom keeps the map under maxKeys before a key is added: first it
// drops keys left alone past Forget, then, if still full, the key with the
// fewest failures (the oldest of those), so that flooding the limiter with
// new keys cannot wipe out the count of a key under attack.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.keys) < l.maxKeys {
		return
	}
	for k, c := range l.keys {
		if now.Sub(c.last) >= l.p.Forget {
			delete(l.keys, k)
		}
	}
	for len(l.keys) >= l.maxKeys {
		var victim string
		var vc *count
		for k, c := range l.keys {
			if vc == nil || c.failures < vc.failures || (c.failures == vc.failures && c.last.Before(vc.last)) {
				victim, vc = k, c
			}
		}
		delete(l.keys, victim)
	}
}

// Len returns how many keys the limiter holds.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

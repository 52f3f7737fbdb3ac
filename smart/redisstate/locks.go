package redisstate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Locks serialises work on one key across the gateways sharing a Redis
// (a connectors.Locker). A lock is a key set with SET NX PX to a random
// token of its holder; only the holder's token deletes it (compare and
// delete in one script), and it expires after TTL, so that a gateway that
// died holding it holds it no longer. While held, it is extended every
// third of TTL, so that slow work under it keeps it.
type Locks struct {
	client redis.UniversalClient
	prefix string
	// TTL is how long a lock outlives its holder's last extension.
	TTL time.Duration
	// Wait bounds how long Lock waits for a lock held elsewhere.
	Wait time.Duration
}

// Default timings of Locks.
const (
	DefaultLockTTL  = 15 * time.Second
	DefaultLockWait = 10 * time.Second
)

// ErrLockBusy: the lock stayed held elsewhere for as long as Lock waits.
var ErrLockBusy = errors.New("redisstate: the lock stayed held by another holder")

// Locks returns the locks kept under prefix (after the store's own), for
// example "lock:jft:", with the default timings.
func (s *Store) Locks(prefix string) *Locks {
	return &Locks{client: s.client, prefix: s.prefix + prefix, TTL: DefaultLockTTL, Wait: DefaultLockWait}
}

// unlockScript deletes a lock only while it is still the caller's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// extendScript extends a lock only while it is still the caller's.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// Lock waits until it holds key, at most l.Wait, and returns the function
// that lets it go. Keys of any length and bytes are hashed.
func (l *Locks) Lock(ctx context.Context, key string) (func(), error) {
	sum := sha256.Sum256([]byte(key))
	k := l.prefix + hex.EncodeToString(sum[:])
	token := rand.Text()
	ttl := max(l.TTL, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, max(l.Wait, time.Millisecond))
	defer cancel()
	pause := 2 * time.Millisecond
	for {
		ok, err := l.client.SetNX(ctx, k, token, ttl).Result()
		if err == nil && ok {
			break
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("redisstate: taking a lock: %w", err)
		}
		// Waiting with jitter, doubling to 50 ms, so that waiters do not
		// ask in step.
		t := time.NewTimer(pause/2 + mrand.N(pause/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ErrLockBusy
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
	held, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-held.Done():
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(held, ttl/3)
				n, err := extendScript.Run(ctx, l.client, []string{k}, token, ttl.Milliseconds()).Int()
				cancel()
				if err == nil && n == 0 {
					// Lost (expired while Redis was away): nothing to keep.
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { l.unlock(k, token, stop, done) }) }, nil
}

// unlock stops extending the lock k and deletes it if still token's.
func (l *Locks) unlock(k, token string, stop func(), done <-chan struct{}) {
	stop()
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// An error leaves the lock to expire after its TTL.
	_ = unlockScript.Run(ctx, l.client, []string{k}, token).Err()
}

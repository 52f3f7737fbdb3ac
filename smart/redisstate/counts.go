package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"hpsandbox/sandbox/throttle"
)

// Counts is a throttle.Shared in Redis: one hash per key with the failure
// count and the time of the last failure, expiring when the key stops
// failing, so that gateways sharing it throttle one guesser together.
type Counts struct {
	client redis.UniversalClient
	prefix string
}

var _ throttle.Shared = (*Counts)(nil)

// Counts returns the failure counts kept under prefix (after the store's
// own), for example "signin:account:".
func (s *Store) Counts(prefix string) *Counts {
	return &Counts{client: s.client, prefix: s.prefix + prefix}
}

// failScript counts a failure and keeps the latest failure time, in one
// step however many gateways fail at once.
var failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if tonumber(ARGV[1]) > last then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  last = tonumber(ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {n, last}
`)

// Fail implements throttle.Shared.
func (c *Counts) Fail(ctx context.Context, key string, now time.Time, forget time.Duration) (int, time.Time, error) {
	forget = max(forget, time.Millisecond)
	v, err := failScript.Run(ctx, c.client, []string{c.prefix + key}, now.UnixMilli(), forget.Milliseconds()).Int64Slice()
	if err != nil || len(v) != 2 {
		return 0, time.Time{}, fmt.Errorf("redisstate: counting a failure: %v", err)
	}
	return int(v[0]), time.UnixMilli(v[1]), nil
}

// Failures implements throttle.Shared.
func (c *Counts) Failures(ctx context.Context, key string) (int, time.Time, error) {
	v, err := c.client.HMGet(ctx, c.prefix+key, "n", "last").Result()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redisstate: reading failures: %w", err)
	}
	n, _ := v[0].(string)
	last, _ := v[1].(string)
	count, _ := strconv.Atoi(n)
	ms, _ := strconv.ParseInt(last, 10, 64)
	return count, time.UnixMilli(ms), nil
}

// Reset implements throttle.Shared.
func (c *Counts) Reset(ctx context.Context, key string) error {
	if err := c.client.Del(ctx, c.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstate: resetting failures: %w", err)
	}
	return nil
}

package peers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leases are owner leases in Redis (package subscription's Leases): a
// key per lease, under the bus's prefix, whose value is the owner. A claim
// sets the key when it is absent (or already the owner's), a take sets it
// (SET PX); a renewal and a release change the key only while it holds
// the owner's value. Each is one step in Redis (a Lua script compares and
// sets, extends or deletes), so an owner never extends or drops a lease
// another took. Each call is one pipelined round trip, whatever the
// number of keys.
type Leases struct {
	client redis.UniversalClient
	prefix string
	owner  string
}

// Leases returns the leases named name (for example "subscription") held
// under this gateway's id on the bus.
func (b *Bus) Leases(name string) *Leases {
	return NewLeases(b.client, b.prefix+"lease:"+name+":", b.id)
}

// NewLeases returns leases with keys under prefix held by owner.
func NewLeases(client redis.UniversalClient, prefix, owner string) *Leases {
	return &Leases{client: client, prefix: prefix, owner: owner}
}

// Owner is the value of the keys these leases hold.
func (l *Leases) Owner() string { return l.owner }

// claimScript sets the lease KEYS[1] to ARGV[1] for ARGV[2] ms if no one
// holds it, or extends it if ARGV[1] does.
var claimScript = redis.NewScript(`local v = redis.call("GET", KEYS[1])
if v == false then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 1
end
if v == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// renewScript extends the lease KEYS[1] by ARGV[2] ms if ARGV[1] holds it.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Claim takes the leases of keys for ttl: those no one holds (or this
// owner holds already), or, with take, every one.
func (l *Leases) Claim(ctx context.Context, keys []string, ttl time.Duration, take bool) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ok := make([]bool, len(keys))
	if !take {
		cmds, err := l.run(ctx, claimScript, keys, ttl.Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("peers: claiming leases: %w", err)
		}
		for i, c := range cmds {
			n, err := c.Int64()
			ok[i] = err == nil && n == 1
		}
		return ok, nil
	}
	pipe := l.client.Pipeline()
	cmds := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Set(ctx, l.prefix+k, l.owner, ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("peers: taking leases: %w", err)
	}
	for i, c := range cmds {
		ok[i] = c.Err() == nil && c.Val() == "OK"
	}
	return ok, nil
}

// Renew extends for ttl the leases of keys this owner holds.
func (l *Leases) Renew(ctx context.Context, keys []string, ttl time.Duration) ([]bool, error) {
	cmds, err := l.run(ctx, renewScript, keys, ttl.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("peers: renewing leases: %w", err)
	}
	ok := make([]bool, len(keys))
	for i, c := range cmds {
		n, err := c.Int64()
		ok[i] = err == nil && n == 1
	}
	return ok, nil
}

// Release deletes the leases of keys this owner holds.
func (l *Leases) Release(ctx context.Context, keys []string) error {
	if _, err := l.run(ctx, releaseScript, keys); err != nil {
		return fmt.Errorf("peers: releasing leases: %w", err)
	}
	return nil
}

// run runs script once per key, the owner its first argument, in one
// pipeline. EVALSHA is tried first; when Redis does not know the script
// yet (NOSCRIPT, after a restart), the keys go again with EVAL.
func (l *Leases) run(ctx context.Context, script *redis.Script, keys []string, args ...any) ([]*redis.Cmd, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	argv := append([]any{l.owner}, args...)
	exec := func(eval func(redis.Pipeliner, string) *redis.Cmd) ([]*redis.Cmd, error) {
		pipe := l.client.Pipeline()
		cmds := make([]*redis.Cmd, len(keys))
		for i, k := range keys {
			cmds[i] = eval(pipe, l.prefix+k)
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := exec(func(p redis.Pipeliner, k string) *redis.Cmd { return script.EvalSha(ctx, p, []string{k}, argv...) })
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmds, err = exec(func(p redis.Pipeliner, k string) *redis.Cmd { return script.Eval(ctx, p, []string{k}, argv...) })
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return cmds, nil
}

// Package redisstate is a smart.StateStore in Redis, so that several
// gateways serving one issuer share sessions, codes, token records,
// revocations, used client-assertion and DPoP proof ids and the DPoP nonce
// secret. Each operation is one Redis command (SET PX, SET NX PX, GET,
// DEL), so single-use checks stay atomic across gateways. Counts is a
// throttle.Shared beside it: failed sign-ins counted by every gateway.
// Locks is a connectors.Locker: work on one key (a JFT submission)
// serialised across gateways.
//
// It is not a cache of FHIR data and does not manage the Redis server.
package redisstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"hpsandbox/smart"
)

// Store keeps state under Prefix in one Redis database.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var (
	_ smart.StateStore  = (*Store)(nil)
	_ smart.MultiGetter = (*Store)(nil)
)

// New returns a store using client, whose keys all start with prefix (for
// example "hps:smart:"), so that one Redis can serve several deployments.
func New(client redis.UniversalClient, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// or rediss:// for TLS), checks that it answers, and returns a store with
// prefix and a function that closes the connection pool.
func Open(ctx context.Context, rawURL, prefix string) (*Store, func() error, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redisstate: %w (want redis://host:port/db)", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("redisstate: Redis at %s does not answer: %w", opts.Addr, err)
	}
	return New(client, prefix), client.Close, nil
}

// Put implements smart.StateStore.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		// Already expired: Redis would keep a zero TTL forever.
		return s.Delete(ctx, key)
	}
	if err := s.client.Set(ctx, s.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redisstate: put: %w", err)
	}
	return nil
}

// PutIfAbsent implements smart.StateStore.
func (s *Store) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ok, err := s.client.SetNX(ctx, s.prefix+key, value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redisstate: put if absent: %w", err)
	}
	return ok, nil
}

// Get implements smart.StateStore.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.client.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, smart.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstate: get: %w", err)
	}
	return b, nil
}

// GetMany implements smart.MultiGetter with one MGET.
func (s *Store) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	vals, err := s.client.MGet(ctx, full...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstate: get many: %w", err)
	}
	out := make([][]byte, len(keys))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[i] = []byte(str)
		}
	}
	return out, nil
}

// Delete implements smart.StateStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstate: delete: %w", err)
	}
	return nil
}

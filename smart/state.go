package smart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotFound is returned by a StateStore for a missing or expired key.
var ErrNotFound = errors.New("smart: state not found")

// StateStore keeps the server's short-lived state (sessions, launches,
// codes, token records, revocations, used assertion ids) as values with a
// time to live. It maps onto Redis SET PX / SET NX PX / GET / DEL so several
// gateways can share it.
type StateStore interface {
	// Put stores value under key for ttl, replacing any value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// PutIfAbsent stores value only when key is absent or expired, and
	// reports whether it did; it is atomic (single-use checks rely on it).
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Get returns the value under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// MultiGetter is an optional capability of a StateStore: reading several
// keys in one round trip (Redis MGET). It returns one value per key, nil
// for a missing or expired one.
type MultiGetter interface {
	GetMany(ctx context.Context, keys ...string) ([][]byte, error)
}

// MemoryState is an in-process StateStore. Expired entries are dropped on
// access and swept during writes, so it needs no background goroutine.
type MemoryState struct {
	now    func() time.Time
	mu     sync.Mutex
	items  map[string]memoryItem
	writes int
}

type memoryItem struct {
	value   []byte
	expires time.Time
}

// NewMemoryState returns an empty store using now as its clock (time.Now
// when nil).
func NewMemoryState(now func() time.Time) *MemoryState {
	if now == nil {
		now = time.Now
	}
	return &MemoryState{now: now, items: map[string]memoryItem{}}
}

// sweepEvery is how many writes pass between sweeps of expired entries.
const sweepEvery = 1024

// Put implements StateStore.
func (m *MemoryState) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, value, ttl)
	return nil
}

// PutIfAbsent implements StateStore.
func (m *MemoryState) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[key]; ok && m.now().Before(it.expires) {
		return false, nil
	}
	m.put(key, value, ttl)
	return true, nil
}

func (m *MemoryState) put(key string, value []byte, ttl time.Duration) {
	now := m.now()
	m.items[key] = memoryItem{value: append([]byte(nil), value...), expires: now.Add(ttl)}
	m.writes++
	if m.writes%sweepEvery == 0 {
		for k, it := range m.items {
			if !now.Before(it.expires) {
				delete(m.items, k)
			}
		}
	}
}

// Get implements StateStore.
func (m *MemoryState) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return nil, ErrNotFound
	}
	if !m.now().Before(it.expires) {
		delete(m.items, key)
		return nil, ErrNotFound
	}
	return append([]byte(nil), it.value...), nil
}

// Delete implements StateStore.
func (m *MemoryState) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

// putJSON stores v as JSON.
func storeJSON(ctx context.Context, st StateStore, key string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("smart: encoding state %s: %w", keyKind(key), err)
	}
	return st.Put(ctx, key, b, ttl)
}

// getJSON loads JSON stored under key into v; ErrNotFound when absent.
func loadJSON(ctx context.Context, st StateStore, key string, v any) error {
	b, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("smart: decoding state %s: %w", keyKind(key), err)
	}
	return nil
}

// keyKind is the prefix of a state key, safe to log (keys embed hashes of
// secrets, never the secrets themselves, but logs need only the kind).
func keyKind(key string) string {
	for i := range len(key) {
		if key[i] == ':' {
			return key[:i]
		}
	}
	return key
}

package redisstate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"hpsandbox/smart/redisstate/redistest"
)

// twoGateways opens two stores on one Redis under one fresh prefix, as
// two gateways of a deployment would.
func twoGateways(t *testing.T) (*Store, *Store) {
	t.Helper()
	url := redistest.Start(t)
	prefix := "test:" + rand.Text() + ":"
	var st [2]*Store
	for i := range st {
		s, closeFn, err := Open(context.Background(), url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeFn() })
		st[i] = s
	}
	return st[0], st[1]
}

// Holders on two gateways never overlap: a counter changed under the
// lock by both, read-then-write, loses no increment.
func TestLocks_HoldersOnTwoGatewaysNeverOverlap(t *testing.T) {
	a, b := twoGateways(t)
	locks := []*Locks{a.Locks("lock:"), b.Locks("lock:")}
	var (
		wg      sync.WaitGroup
		n, held int
		overlap bool
		mu      sync.Mutex // guards only the race detector's view
	)
	for i := range 40 {
		wg.Go(func() {
			unlock, err := locks[i%2].Lock(context.Background(), "s1\x00Composition\x00urn:x")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			held++
			overlap = overlap || held > 1
			v := n
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			n = v + 1
			held--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if overlap || n != 40 {
		t.Errorf("overlap %v, count %d; want no overlap and 40", overlap, n)
	}
}

// A lock left by a gateway that died (never released, no longer
// extended) is free once its TTL passed; a lock held and extended is not,
// and Lock gives up after its Wait with ErrLockBusy.
func TestLocks_DeadHolderExpires_LiveHolderKeepsIt(t *testing.T) {
	a, b := twoGateways(t)
	ctx := context.Background()
	la, lb := a.Locks("lock:"), b.Locks("lock:")
	la.TTL, lb.TTL = 150*time.Millisecond, 150*time.Millisecond
	lb.Wait = 100 * time.Millisecond

	sum := sha256.Sum256([]byte("dead"))
	if err := a.client.Set(ctx, la.prefix+hex.EncodeToString(sum[:]), "token-of-a-dead-gateway", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	lb.Wait = time.Second
	start := time.Now()
	unlock, err := lb.Lock(ctx, "dead")
	if err != nil {
		t.Fatalf("after the dead holder's TTL: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("taken after %v, before the dead holder's lock expired", waited)
	}
	unlock()

	lb.Wait = 100 * time.Millisecond
	unlock, err = la.Lock(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	// Held for three TTLs: the holder's extensions keep it.
	deadline := time.Now().Add(450 * time.Millisecond)
	for time.Now().Before(deadline) {
		if u, err := lb.Lock(ctx, "live"); !errors.Is(err, ErrLockBusy) {
			if u != nil {
				u()
			}
			t.Fatalf("a held lock taken by another: %v", err)
		}
	}
	unlock()
	unlock() // a second call does nothing
	u, err := lb.Lock(ctx, "live")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	u()
}

// A holder whose lock expired (Redis unreachable for its TTL) does not
// release the lock another took since: release compares the token.
func TestLocks_ReleaseDeletesOnlyTheHoldersOwnLock(t *testing.T) {
	a, b := twoGateways(t)
	ctx := context.Background()
	la, lb := a.Locks("lock:"), b.Locks("lock:")
	unlock, err := la.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("k"))
	key := la.prefix + hex.EncodeToString(sum[:])
	// As if it expired and another gateway took it.
	if err := a.client.Set(ctx, key, "token-of-another", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	unlock()
	if v, err := b.client.Get(ctx, key).Result(); err != nil || v != "token-of-another" {
		t.Errorf("after the old holder's release: %q, %v; want the other's lock kept", v, err)
	}
	lb.Wait = 50 * time.Millisecond
	if _, err := lb.Lock(ctx, "k"); !errors.Is(err, ErrLockBusy) {
		t.Errorf("Lock of a key held elsewhere: %v, want ErrLockBusy", err)
	}
	// A caller's own context ends the wait too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	lb.Wait = time.Second
	if _, err := lb.Lock(cctx, "k"); err == nil {
		t.Error("Lock with an ended context succeeded")
	}
}

// BenchmarkLocks_LockUnlock is what a shared lock adds to a JFT
// submission: one lock and its release, uncontended.
func BenchmarkLocks_LockUnlock(b *testing.B) {
	url := redistest.Start(b)
	st, closeFn, err := Open(context.Background(), url, "bench:"+rand.Text()+":")
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	l := st.Locks("lock:")
	ctx := context.Background()
	for b.Loop() {
		unlock, err := l.Lock(ctx, "s1\x00Composition\x00urn:x")
		if err != nil {
			b.Fatal(err)
		}
		unlock()
	}
}

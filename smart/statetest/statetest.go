// Package statetest is the conformance suite every smart.StateStore
// implementation runs (memory now, Redis later). It is for tests only.
package statetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hpsandbox/smart"
)

// shortTTL is long enough for a few operations, short enough to wait out.
const shortTTL = 150 * time.Millisecond

// Run checks that stores made by newStore behave as smart.StateStore
// requires. It waits out real TTLs, so stores must use the real clock.
func Run(t *testing.T, newStore func(t *testing.T) smart.StateStore) {
	ctx := context.Background()
	t.Run("GetOfMissingKey_IsErrNotFound", func(t *testing.T) {
		st := newStore(t)
		if _, err := st.Get(ctx, "missing"); !errors.Is(err, smart.ErrNotFound) {
			t.Fatalf("Get = %v, want ErrNotFound", err)
		}
	})
	t.Run("PutThenGet_ReturnsValue_PutReplaces", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, "k", "v1", time.Minute)
		mustPut(t, st, "k", "v2", time.Minute)
		if got := mustGet(t, st, "k"); got != "v2" {
			t.Fatalf("Get = %q, want v2", got)
		}
	})
	t.Run("Delete_RemovesKey_MissingIsNoError", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, "k", "v", time.Minute)
		if err := st.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, "k"); err != nil {
			t.Fatalf("second Delete = %v", err)
		}
		if _, err := st.Get(ctx, "k"); !errors.Is(err, smart.ErrNotFound) {
			t.Fatalf("Get after Delete = %v", err)
		}
	})
	t.Run("ExpiredKey_IsGoneAndCanBePutIfAbsentAgain", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, "k", "v", shortTTL)
		time.Sleep(shortTTL + 100*time.Millisecond)
		if _, err := st.Get(ctx, "k"); !errors.Is(err, smart.ErrNotFound) {
			t.Fatalf("Get after TTL = %v, want ErrNotFound", err)
		}
		ok, err := st.PutIfAbsent(ctx, "k", []byte("again"), time.Minute)
		if err != nil || !ok {
			t.Fatalf("PutIfAbsent after TTL = %v, %v", ok, err)
		}
	})
	t.Run("PutIfAbsent_ExactlyOneConcurrentWriterWins", func(t *testing.T) {
		st := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				ok, err := st.PutIfAbsent(ctx, "once", []byte("x"), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d writers won, want 1", wins)
		}
	})
	t.Run("GetMany_WhenOffered_ReturnsValuesAndNilForMissing", func(t *testing.T) {
		st := newStore(t)
		mg, ok := st.(smart.MultiGetter)
		if !ok {
			t.Skip("the store does not offer smart.MultiGetter")
		}
		mustPut(t, st, "a", "1", time.Minute)
		mustPut(t, st, "c", "3", shortTTL)
		time.Sleep(shortTTL + 100*time.Millisecond)
		mustPut(t, st, "d", "4", time.Minute)
		vals, err := mg.GetMany(ctx, "a", "b", "c", "d")
		if err != nil {
			t.Fatal(err)
		}
		if len(vals) != 4 || string(vals[0]) != "1" || vals[1] != nil || vals[2] != nil || string(vals[3]) != "4" {
			t.Fatalf("GetMany = %q", vals)
		}
	})
	t.Run("ReturnedValue_IsACopy", func(t *testing.T) {
		st := newStore(t)
		mustPut(t, st, "k", "abc", time.Minute)
		b, _ := st.Get(ctx, "k")
		b[0] = 'X'
		if got := mustGet(t, st, "k"); got != "abc" {
			t.Fatalf("stored value changed through returned slice: %q", got)
		}
	})
}

func mustPut(t *testing.T, st smart.StateStore, k, v string, ttl time.Duration) {
	t.Helper()
	if err := st.Put(context.Background(), k, []byte(v), ttl); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, st smart.StateStore, k string) string {
	t.Helper()
	b, err := st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

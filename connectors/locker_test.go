package connectors

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// A LocalLocker holds one key at a time, lets a waiter give up with its
// context, and lets the key go on unlock.
func TestLocalLocker_OneHolderPerKey(t *testing.T) {
	l := NewLocalLocker()
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		held, n int
		overlap bool
	)
	for range 20 {
		wg.Go(func() {
			unlock, err := l.Lock(ctx, "s1\x00k")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			held++
			overlap = overlap || held > 1
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			held--
			n++
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if overlap || n != 20 {
		t.Errorf("overlap %v, %d holders; want none and 20", overlap, n)
	}

	unlock, err := l.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(wctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting past the context: %v, want its deadline", err)
	}
	unlock()
	unlock2, err := l.Lock(ctx, "k")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
	if (Deps{}).Locks() == nil {
		t.Error("Deps without a Locker gives none")
	}
}

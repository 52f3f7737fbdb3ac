package redisstate_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"hpsandbox/smart"
	"hpsandbox/smart/redisstate"
	"hpsandbox/smart/redisstate/redistest"
	"hpsandbox/smart/statetest"
)

func TestRedisState_PassesStateStoreConformance(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	statetest.Run(t, func(t *testing.T) smart.StateStore {
		st, closeFn, err := redisstate.Open(ctx, url, "test:"+rand.Text()+":")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeFn() })
		return st
	})
}

func TestRedisState_PrefixesKeepDeploymentsApart(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	a, closeA, err := redisstate.Open(ctx, url, "a:")
	if err != nil {
		t.Fatal(err)
	}
	defer closeA()
	b, closeB, _ := redisstate.Open(ctx, url, "b:")
	defer closeB()
	if err := a.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, smart.ErrNotFound) {
		t.Fatalf("b sees a's key: %v", err)
	}
	if err := a.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k"); !errors.Is(err, smart.ErrNotFound) {
		t.Fatalf("a Put with no time left kept the key: %v", err)
	}
}

func TestOpen_UnreachableOrMalformedURL_SaysSo(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"http://127.0.0.1:1", "redis://127.0.0.1:1/0"} {
		if _, _, err := redisstate.Open(ctx, url, "x:"); err == nil {
			t.Errorf("%s: no error", url)
		}
	}
}

package tenant

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/throttle"
	"hpsandbox/smart/redisstate"
	"hpsandbox/smart/redisstate/redistest"
)

// Gateways sharing an empty PostgreSQL registry start at once: each opens
// it (the default sandbox is made once and written over by the others),
// exactly one makes the operator, and all of them serve the same
// registry.
func TestOpen_GatewaysStartingAtOnceOnOneEmptyRegistry(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 4
	services := make([]*Service, n)
	made := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			reg, err := OpenPostgresRegistry(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			services[i], errs[i] = Open(ctx, Options{Registry: reg, Store: store, BcryptCost: bcrypt.MinCost,
				Default: Sandbox{Name: "Default sandbox"}})
			if errs[i] == nil {
				made[i], errs[i] = services[i].EnsureOperator(ctx, "operator", "operator-password")
			}
		})
	}
	wg.Wait()
	makers := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
		defer services[i].Close()
		if made[i] {
			makers++
		}
	}
	if makers != 1 {
		t.Errorf("%d gateways made the operator, want 1", makers)
	}
	for i, s := range services {
		sbs, err := s.reg.Sandboxes(ctx, "")
		if err != nil || len(sbs) != 1 || sbs[0].Name != "Default sandbox" {
			t.Errorf("gateway %d: sandboxes %+v, %v", i, sbs, err)
		}
		if _, err := s.Authenticate(ctx, SignIn{Username: "operator", Password: "operator-password"}); err != nil {
			t.Errorf("gateway %d: the operator signs in: %v", i, err)
		}
	}
}

// Two gateways sharing Redis count one address's sign-ups together: with
// one free, the second through the other gateway is the one past the
// limit, and another address is not held.
func TestSignUp_LimitSharedByGatewaysThroughRedis(t *testing.T) {
	ctx := context.Background()
	st, closeFn, err := redisstate.Open(ctx, redistest.Start(t), "test:"+rand.Text()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := Options{Now: clock.Now, SignUpLimit: &throttle.Policy{Free: 1, Base: time.Minute, Max: time.Hour, Forget: time.Hour},
		SharedSignIns: func(kind string) throttle.Shared { return st.Counts("signin:" + kind) }}
	a, _ := newService(t, opts)
	b, _ := newService(t, opts)
	in := func(i int, from string) SignUp {
		return SignUp{Name: "N", Email: string(rune('a'+i)) + "x@example.no", Organisation: "Org " + string(rune('a'+i)), Password: "a-password", From: from}
	}
	if _, err := a.SignUp(ctx, in(0, "192.0.2.9:1")); err != nil {
		t.Fatalf("first sign-up at gateway A: %v", err)
	}
	if _, err := b.SignUp(ctx, in(1, "192.0.2.9:2")); err != nil {
		t.Fatalf("second sign-up at gateway B: %v", err)
	}
	var te *ThrottledError
	for name, s := range map[string]*Service{"A": a, "B": b} {
		if _, err := s.SignUp(ctx, in(2, "192.0.2.9:3")); !errors.As(err, &te) {
			t.Errorf("third sign-up from one address at gateway %s: %v, want throttled", name, err)
		}
	}
	if _, err := b.SignUp(ctx, in(3, "198.51.100.1:1")); err != nil {
		t.Errorf("another address: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := a.SignUp(ctx, in(4, "192.0.2.9:4")); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

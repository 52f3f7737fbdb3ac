package tenant

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
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

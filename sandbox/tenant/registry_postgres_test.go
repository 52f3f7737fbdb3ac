package tenant_test

import (
	"context"
	"sync"
	"testing"

	"hpsandbox/internal/pgschema"
	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/sandbox/tenant/tenanttest"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func TestPostgresRegistry(t *testing.T) {
	tenanttest.Run(t, func(t *testing.T) tenant.Registry {
		r, err := tenant.OpenPostgresRegistry(context.Background(), testpg.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	})
}

// Gateways starting at once against an empty database all open the
// registry, with one schema: what one writes, the others read.
func TestOpenPostgresRegistry_ConcurrentStartsOnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	const n = 5
	regs := make([]*tenant.SQLRegistry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regs[i], errs[i] = tenant.OpenPostgresRegistry(ctx, dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		defer regs[i].Close()
	}
	if err := regs[0].CreateSandbox(ctx, &tenant.Sandbox{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for i, r := range regs {
		if sb, err := r.Sandbox(ctx, "acme"); err != nil || sb.Name != "Acme" {
			t.Errorf("registry %d reads %+v, %v", i, sb, err)
		}
	}
	db, err := pgschema.Open(ctx, dsn, pgschema.Store{Schema: tenant.PostgresSchema, MaxConns: 1})
	if err == nil {
		db.Close()
		t.Error("a binary that knows no migrations opened the migrated schema")
	}
}

package tenant

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// Accounts of the tests: two suppliers, a reviewer and an operator.
var (
	operator  = &Account{Username: "op", Role: RoleOperator}
	reviewer  = &Account{Username: "rev", Role: RoleReviewer}
	supplierA = &Account{Username: "alice", Role: RoleSupplier, Supplier: "acme"}
	supplierB = &Account{Username: "bob", Role: RoleSupplier, Supplier: "bravo"}
)

// newService opens a service over a fresh embedded store; the registry is
// a file of the test's directory when persistent.
func newService(t testing.TB, opts Options) (*Service, fhirstore.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	opts.Store = store
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.MinCost
	}
	if opts.Path == "" {
		opts.Path = dir + "/" + FileName
	}
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, store
}

func intp(n int) *int { return &n }

// count returns how many current resources of typ the sandbox holds.
func count(t testing.TB, store fhirstore.Store, sandbox, typ string) int {
	t.Helper()
	h, err := store.History(context.Background(), fhirstore.Sandbox(sandbox), fhirstore.HistoryQuery{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return h.Total
}

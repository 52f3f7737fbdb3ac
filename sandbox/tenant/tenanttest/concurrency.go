package tenanttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"hpsandbox/sandbox/tenant"
)

// race runs fn(i) for i in [0, n) at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins checks that exactly one of errs is nil and the others are
// ErrExists, and returns the index of the winner.
func oneWins(t *testing.T, what string, errs []error, lost error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("%s: creates %d and %d both succeeded", what, winner, i)
		case !errors.Is(err, lost):
			t.Errorf("%s: create %d: %v, want %v", what, i, err, lost)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no create succeeded: %v", what, errs)
	}
	return winner
}

// Concurrent creates of one key (a sandbox id, a client id, a username,
// an OpenID Connect identity, a token's id or hash, a test request's id):
// one wins, the others get ErrExists, and what is stored is the winner's.
func testConcurrentCreates(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	const n = 6
	errs := race(n, func(i int) error { return r.CreateSandbox(ctx, sandbox("dup", fmt.Sprint("supplier-", i))) })
	if w := oneWins(t, "sandbox", errs, tenant.ErrExists); w >= 0 {
		got, err := r.Sandbox(ctx, "dup")
		must(t, err)
		same(t, "the winner's sandbox", got, sandbox("dup", fmt.Sprint("supplier-", w)))
	}
	must(t, r.CreateSandbox(ctx, sandbox("other", "acme")))
	errs = race(n, func(i int) error {
		a := app([]string{"dup", "other"}[i%2], "app-dup")
		a.Name = fmt.Sprint("App ", i)
		return r.CreateApp(ctx, a)
	})
	if w := oneWins(t, "app", errs, tenant.ErrExists); w >= 0 {
		got, err := r.App(ctx, "app-dup")
		must(t, err)
		if got.Name != fmt.Sprint("App ", w) {
			t.Errorf("stored app %q, the winner was %d", got.Name, w)
		}
	}
	errs = race(n, func(i int) error { return r.CreateAccount(ctx, account("alice")) })
	oneWins(t, "account", errs, tenant.ErrExists)
	errs = race(n, func(i int) error {
		return r.CreateAccount(ctx, linked(fmt.Sprint("user-", i), "https://idp.example", "sub-dup"))
	})
	if w := oneWins(t, "OpenID Connect identity", errs, tenant.ErrExists); w >= 0 {
		got, err := r.AccountByOIDC(ctx, "https://idp.example", "sub-dup")
		must(t, err)
		if got.Username != fmt.Sprint("user-", w) {
			t.Errorf("identity linked to %s, the winner was %d", got.Username, w)
		}
	}
	errs = race(n, func(i int) error {
		return r.CreateRegistrationToken(ctx, token("dup", fmt.Sprint("tok-", i), 0), []byte("same secret"))
	})
	oneWins(t, "token hash", errs, tenant.ErrExists)
	errs = race(n, func(i int) error { return r.CreateTestRequest(ctx, testRequest("tr-dup", "acme")) })
	oneWins(t, "test request", errs, tenant.ErrExists)
}

// Concurrent updates of a test request from the version they all read:
// one is written, the others get ErrState; and of concurrent seals of one
// run, one is kept.
func testConcurrentUpdates(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateTestRequest(ctx, testRequest("tr-1", "acme")))
	const n = 6
	errs := race(n, func(i int) error {
		tr := testRequest("tr-1", "acme")
		tr.Version, tr.Product = 2, fmt.Sprint("Update ", i)
		return r.UpdateTestRequest(ctx, tr, nil)
	})
	if w := oneWins(t, "update", errs, tenant.ErrState); w >= 0 {
		got, err := r.TestRequest(ctx, "tr-1")
		must(t, err)
		if got.Version != 2 || got.Product != fmt.Sprint("Update ", w) {
			t.Errorf("stored v%d %q, the winner was %d", got.Version, got.Product, w)
		}
	}
	errs = race(n, func(i int) error {
		tr := testRequest(fmt.Sprint("tr-seal-", i), "acme")
		if err := r.CreateTestRequest(ctx, tr); err != nil {
			return err
		}
		tr.Version = 2
		return r.UpdateTestRequest(ctx, tr, &tenant.SealedReport{Sandbox: "acme-dev", Run: "run-1", Request: tr.ID,
			Canonical: []byte(fmt.Sprint(`{"i":`, i, `}`)), SHA256: "cafe", At: t0})
	})
	if w := oneWins(t, "seal", errs, tenant.ErrState); w >= 0 {
		got, err := r.SealedReport(ctx, "acme-dev", "run-1")
		must(t, err)
		if got.Request != fmt.Sprint("tr-seal-", w) {
			t.Errorf("sealed for %s, the winner was %d", got.Request, w)
		}
	}
}

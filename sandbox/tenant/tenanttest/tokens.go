package tenanttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/tenant"
)

func testTokenRoundTrip(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	in := token("a", "tok-1", 3)
	in.Uses = 2 // a new token is unused whatever it says
	must(t, r.CreateRegistrationToken(ctx, in, []byte("hash-1")))
	got, err := r.RegistrationTokenByHash(ctx, []byte("hash-1"))
	must(t, err)
	same(t, "read back", got, token("a", "tok-1", 3))
	_, err = r.RegistrationTokenByHash(ctx, []byte("hash-2"))
	wantErr(t, "unknown hash", err, tenant.ErrNotFound)
	if err := r.CreateRegistrationToken(ctx, token("nope", "tok-2", 0), []byte("hash-2")); err == nil {
		t.Error("CreateRegistrationToken in a missing sandbox succeeded")
	}
}

func testTokenExists(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	must(t, r.CreateRegistrationToken(ctx, token("a", "tok-1", 0), []byte("hash-1")))
	wantErr(t, "same id", r.CreateRegistrationToken(ctx, token("b", "tok-1", 0), []byte("hash-2")), tenant.ErrExists)
	wantErr(t, "same hash", r.CreateRegistrationToken(ctx, token("b", "tok-2", 0), []byte("hash-1")), tenant.ErrExists)
	got, err := r.RegistrationTokenByHash(ctx, []byte("hash-1"))
	must(t, err)
	same(t, "the first stays", got, token("a", "tok-1", 0))
}

func testTokensOfSandbox(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	got, err := r.RegistrationTokens(ctx, "a")
	must(t, err)
	if got == nil || len(got) != 0 {
		t.Errorf("tokens of a sandbox without any: %#v, want an empty slice", got)
	}
	// Ids in an order other than that of creation.
	for i, id := range []string{"m", "z", "a"} {
		must(t, r.CreateRegistrationToken(ctx, token("a", id, i), []byte("hash-"+id)))
	}
	must(t, r.CreateRegistrationToken(ctx, token("b", "other", 0), []byte("hash-other")))
	must(t, r.UseRegistrationToken(ctx, "a", []byte("hash-z"), t0))
	got, err = r.RegistrationTokens(ctx, "a")
	must(t, err)
	used := token("a", "z", 1)
	used.Uses = 1
	same(t, "tokens of a", got, []*tenant.RegistrationToken{token("a", "a", 2), used, token("a", "m", 0)})
}

func uses(t *testing.T, r tenant.Registry, hash string) int {
	t.Helper()
	tok, err := r.RegistrationTokenByHash(context.Background(), []byte(hash))
	must(t, err)
	return tok.Uses
}

func testUseToken(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	must(t, r.CreateRegistrationToken(ctx, token("a", "twice", 2), []byte("hash-twice")))
	must(t, r.CreateRegistrationToken(ctx, token("a", "any", 0), []byte("hash-any")))
	expires := t0.Add(time.Hour)
	for _, tt := range []struct {
		name, sandbox, hash string
		now                 time.Time
	}{
		{"unknown hash", "a", "hash-none", t0},
		{"other sandbox", "b", "hash-twice", t0},
		{"missing sandbox", "nope", "hash-twice", t0},
		{"at expiry", "a", "hash-twice", expires},
		{"after expiry", "a", "hash-twice", expires.Add(time.Millisecond)},
	} {
		wantErr(t, tt.name, r.UseRegistrationToken(ctx, tt.sandbox, []byte(tt.hash), tt.now), tenant.ErrBadRegistrationToken)
	}
	if n := uses(t, r, "hash-twice"); n != 0 {
		t.Fatalf("refused uses counted: %d", n)
	}
	must(t, r.UseRegistrationToken(ctx, "a", []byte("hash-twice"), t0))
	must(t, r.UseRegistrationToken(ctx, "a", []byte("hash-twice"), expires.Add(-time.Millisecond)))
	wantErr(t, "used up", r.UseRegistrationToken(ctx, "a", []byte("hash-twice"), t0), tenant.ErrBadRegistrationToken)
	if n := uses(t, r, "hash-twice"); n != 2 {
		t.Errorf("uses of a used-up token = %d, want 2", n)
	}
	for range 5 {
		must(t, r.UseRegistrationToken(ctx, "a", []byte("hash-any"), t0))
	}
	if n := uses(t, r, "hash-any"); n != 5 {
		t.Errorf("uses of a token without a limit = %d, want 5", n)
	}
}

func testUseTokenConcurrent(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	const max, tries = 5, 24
	must(t, r.CreateRegistrationToken(ctx, token("a", "tok", max), []byte("hash")))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, bad := 0, 0
	for range tries {
		wg.Go(func() {
			err := r.UseRegistrationToken(ctx, "a", []byte("hash"), t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, tenant.ErrBadRegistrationToken):
				bad++
			default:
				t.Errorf("UseRegistrationToken: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != max || bad != tries-max {
		t.Errorf("%d uses allowed and %d refused, want %d and %d", ok, bad, max, tries-max)
	}
	if n := uses(t, r, "hash"); n != max {
		t.Errorf("uses = %d, want %d", n, max)
	}
}

func testDeleteToken(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	must(t, r.CreateRegistrationToken(ctx, token("a", "tok-1", 0), []byte("hash-1")))
	must(t, r.CreateRegistrationToken(ctx, token("a", "tok-2", 0), []byte("hash-2")))
	wantErr(t, "from another sandbox", r.DeleteRegistrationToken(ctx, "b", "tok-1"), tenant.ErrNotFound)
	if _, err := r.RegistrationTokenByHash(ctx, []byte("hash-1")); err != nil {
		t.Fatalf("deleting from another sandbox removed the token: %v", err)
	}
	must(t, r.DeleteRegistrationToken(ctx, "a", "tok-1"))
	_, err := r.RegistrationTokenByHash(ctx, []byte("hash-1"))
	wantErr(t, "deleted token", err, tenant.ErrNotFound)
	wantErr(t, "its use", r.UseRegistrationToken(ctx, "a", []byte("hash-1"), t0), tenant.ErrBadRegistrationToken)
	wantErr(t, "deleted twice", r.DeleteRegistrationToken(ctx, "a", "tok-1"), tenant.ErrNotFound)
	got, err := r.RegistrationTokens(ctx, "a")
	must(t, err)
	same(t, "the other token stays", got, []*tenant.RegistrationToken{token("a", "tok-2", 0)})
}

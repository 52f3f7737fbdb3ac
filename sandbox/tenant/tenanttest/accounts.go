package tenanttest

import (
	"context"
	"testing"

	"hpsandbox/sandbox/tenant"
)

func linked(username, issuer, subject string) *tenant.Account {
	a := account(username)
	a.OIDCIssuer, a.OIDCSubject = issuer, subject
	return a
}

func testAccountRoundTrip(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	want := linked("alice", "https://idp.example", "sub-1")
	must(t, r.CreateAccount(ctx, want))
	got, err := r.Account(ctx, "alice")
	must(t, err)
	same(t, "read back", got, want)
	op := &tenant.Account{Username: "op", Role: tenant.RoleOperator, Created: t0}
	must(t, r.CreateAccount(ctx, op))
	got, err = r.Account(ctx, "op")
	must(t, err)
	same(t, "without password or identity", got, op)
	all, err := r.Accounts(ctx)
	must(t, err)
	same(t, "accounts in order of username", all, []*tenant.Account{want, op})
	_, err = r.Account(ctx, "nobody")
	wantErr(t, "missing account", err, tenant.ErrNotFound)
}

func testAccountExists(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateAccount(ctx, linked("alice", "https://idp.example", "sub-1")))
	wantErr(t, "same username", r.CreateAccount(ctx, account("alice")), tenant.ErrExists)
	wantErr(t, "same identity", r.CreateAccount(ctx, linked("bob", "https://idp.example", "sub-1")), tenant.ErrExists)
	wantErr(t, "same identity, issuer with a slash", r.CreateAccount(ctx, linked("bob", "https://idp.example/", "sub-1")), tenant.ErrExists)
	// Accounts without an identity do not collide with each other.
	must(t, r.CreateAccount(ctx, account("bob")))
	must(t, r.CreateAccount(ctx, account("carol")))
	// Nor do the same subject at two issuers.
	must(t, r.CreateAccount(ctx, linked("dave", "https://other.example", "sub-1")))
}

func testAccountByOIDC(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	want := linked("alice", "https://idp.example/", "sub-1")
	must(t, r.CreateAccount(ctx, want))
	must(t, r.CreateAccount(ctx, linked("bob", "https://idp.example", "sub-2")))
	for _, issuer := range []string{"https://idp.example", "https://idp.example/"} {
		got, err := r.AccountByOIDC(ctx, issuer, "sub-1")
		must(t, err)
		same(t, "by identity at "+issuer, got, want)
	}
	_, err := r.AccountByOIDC(ctx, "https://other.example", "sub-1")
	wantErr(t, "other issuer", err, tenant.ErrNotFound)
	_, err = r.AccountByOIDC(ctx, "https://idp.example", "sub-3")
	wantErr(t, "other subject", err, tenant.ErrNotFound)
}

func testUpdateAccount(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateAccount(ctx, linked("alice", "https://idp.example", "sub-1")))
	must(t, r.CreateAccount(ctx, account("bob")))
	bob := linked("bob", "https://idp.example", "sub-2")
	bob.Name, bob.PasswordHash = "Robert", []byte("new hash")
	must(t, r.UpdateAccount(ctx, bob))
	got, err := r.Account(ctx, "bob")
	must(t, err)
	same(t, "updated", got, bob)
	if got, err := r.AccountByOIDC(ctx, "https://idp.example", "sub-2"); err != nil || got.Username != "bob" {
		t.Errorf("by the identity linked in the update: %+v, %v", got, err)
	}
	wantErr(t, "another's identity", r.UpdateAccount(ctx, linked("bob", "https://idp.example/", "sub-1")), tenant.ErrExists)
	got, err = r.Account(ctx, "bob")
	must(t, err)
	same(t, "unchanged by the refused update", got, bob)
	wantErr(t, "missing account", r.UpdateAccount(ctx, account("nobody")), tenant.ErrNotFound)
	// Unlinking frees the identity.
	must(t, r.UpdateAccount(ctx, account("bob")))
	_, err = r.AccountByOIDC(ctx, "https://idp.example", "sub-2")
	wantErr(t, "unlinked identity", err, tenant.ErrNotFound)
}

func testDeleteAccount(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateAccount(ctx, linked("alice", "https://idp.example", "sub-1")))
	must(t, r.CreateAccount(ctx, account("bob")))
	must(t, r.DeleteAccount(ctx, "alice"))
	_, err := r.Account(ctx, "alice")
	wantErr(t, "deleted account", err, tenant.ErrNotFound)
	_, err = r.AccountByOIDC(ctx, "https://idp.example", "sub-1")
	wantErr(t, "its identity", err, tenant.ErrNotFound)
	wantErr(t, "deleted twice", r.DeleteAccount(ctx, "alice"), tenant.ErrNotFound)
	all, err := r.Accounts(ctx)
	must(t, err)
	same(t, "the other account stays", all, []*tenant.Account{account("bob")})
	// The identity is free for another account.
	must(t, r.CreateAccount(ctx, linked("carol", "https://idp.example", "sub-1")))
}

package portal

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
)

// signUpForm is a sign-up of email for organisation.
func signUpForm(email, org, password string) url.Values {
	return url.Values{"name": {"Kari Nordmann"}, "email": {email}, "organisation": {org}, "password": {password}}
}

// TestSignUp_ThroughApprovalToFirstSignIn: a supplier signs up from the
// sign-in page, cannot sign in while pending, an operator approves, and
// the supplier signs in and creates a sandbox of its own.
func TestSignUp_ThroughApprovalToFirstSignIn(t *testing.T) {
	e := newEnv(t, nil)
	const email, pass = "kari@fjordhelse.example", "kari-password-1"
	kari := e.browser(t)
	wantContains(t, "sign-in page", kari.get("/portal/login"), `href="/portal/signup"`)
	form := kari.get("/portal/signup")
	wantStatus(t, "sign-up page", form, http.StatusOK)
	wantContains(t, "sign-up page", form, `action="/portal/signup"`, `name="csrf"`, "An operator approves new accounts")

	got := kari.post("/portal/signup", signUpForm(email, "Fjord Helse", pass))
	if got.status != http.StatusSeeOther || got.location() != "/portal/login?signup=pending" {
		t.Fatalf("sign-up: %d to %q", got.status, got.location())
	}
	wantContains(t, "after sign-up", kari.get(got.location()), "awaits an operator")

	// Pending: the right password is refused with a clear message, and
	// gives no session.
	kari.get("/portal/login")
	refused := kari.post("/portal/login", url.Values{"username": {email}, "password": {pass}})
	wantStatus(t, "pending sign-in", refused, http.StatusForbidden)
	wantContains(t, "pending sign-in", refused, html.EscapeString(pendingText))
	if d := kari.get("/portal/"); d.status != http.StatusSeeOther {
		t.Errorf("the pending account reached the dashboard: %d", d.status)
	}
	// A wrong password of a pending account reads as any wrong password.
	kari.get("/portal/login")
	wrong := kari.post("/portal/login", url.Values{"username": {email}, "password": {"not-the-password"}})
	wantStatus(t, "pending, wrong password", wrong, http.StatusUnauthorized)
	wantLacks(t, "pending, wrong password", wrong, "approval")

	// The operator sees it, marked, and approves it.
	op := e.signedIn(t, opUser)
	accounts := op.get("/portal/accounts")
	wantContains(t, "accounts page", accounts, "Sign-ups awaiting approval", email, "fjord-helse", `/portal/accounts/`+email+`/approve`)
	approved := op.post("/portal/accounts/"+email+"/approve", nil)
	if approved.status != http.StatusSeeOther || !strings.Contains(approved.location(), "done=approved") {
		t.Fatalf("approving: %d to %q", approved.status, approved.location())
	}
	wantLacks(t, "accounts page after approval", op.get("/portal/accounts"), `/portal/accounts/`+email+`/approve`)

	kari.login(email, pass)
	created := kari.post("/portal/sandboxes", url.Values{"name": {"Fjord dev"}, "id": {"fjord-dev"}, "seed_patients": {"0"}})
	if created.status != http.StatusSeeOther {
		t.Fatalf("the new supplier creating a sandbox: %d\n%s", created.status, excerpt(created.body))
	}
	sb, err := e.tenants.Sandbox(context.Background(), "fjord-dev")
	if err != nil || sb.Supplier != "fjord-helse" {
		t.Errorf("the new sandbox: %+v %v", sb, err)
	}
	// Approving twice is refused.
	wantStatus(t, "approving an active account", op.post("/portal/accounts/"+email+"/approve", nil), http.StatusConflict)
}

// TestSignUp_AttackerCases: what a stranger, a pending account or a
// supplier may try against sign-up and approval.
func TestSignUp_AttackerCases(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const email, pass = "mallory@example.no", "mallory-password"
	mallory := e.browser(t)
	mallory.get("/portal/signup")

	count := func() int {
		all, err := e.tenants.Accounts(ctx, e.account(t, opUser))
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	before := count()
	// No CSRF token, or another session's: refused, nothing made.
	for name, form := range map[string]url.Values{
		"no token":    {"name": {"M"}, "email": {email}, "organisation": {"Evil"}, "password": {pass}, "csrf": {""}},
		"wrong token": {"name": {"M"}, "email": {email}, "organisation": {"Evil"}, "password": {pass}, "csrf": {"forged"}},
	} {
		wantStatus(t, name, mallory.post("/portal/signup", form), http.StatusForbidden)
	}
	if n := count(); n != before {
		t.Fatalf("a refused sign-up made an account: %d accounts, were %d", n, before)
	}
	// Invalid input shows the form again with the reason, keeping the
	// values but never the password.
	bad := mallory.post("/portal/signup", signUpForm("not-an-email", "Evil", pass))
	wantStatus(t, "invalid email", bad, http.StatusBadRequest)
	wantContains(t, "invalid email", bad, "email", `value="Evil"`)
	wantLacks(t, "invalid email", bad, pass)

	// Signing up as an existing account's email: the same answer as a new
	// one, and the existing account is untouched.
	mallory.get("/portal/signup")
	dup := mallory.post("/portal/signup", signUpForm(aliceUser+"@x.no", "Evil", pass))
	wantStatus(t, "new email", dup, http.StatusSeeOther)
	mallory.get("/portal/signup")
	again := mallory.post("/portal/signup", signUpForm(aliceUser+"@x.no", "Evil", "another-password"))
	if again.status != dup.status || again.location() != dup.location() {
		t.Errorf("a taken email answers %d %q, a new one %d %q", again.status, again.location(), dup.status, dup.location())
	}
	if _, err := e.tenants.Authenticate(ctx, tenant.SignIn{Username: aliceUser + "@x.no", Password: "another-password"}); !errors.Is(err, tenant.ErrBadCredentials) {
		t.Errorf("the duplicate's password: %v, want wrong password", err)
	}
	// Joining an existing supplier ("acme", alice's) is shown to the
	// operator.
	mallory.get("/portal/signup")
	mallory.post("/portal/signup", signUpForm(email, "ACME", pass))
	wantContains(t, "accounts page", e.signedIn(t, opUser).get("/portal/accounts"), email, "joins the supplier of "+aliceUser)

	// Self-approval: the pending account has no session, so its approve
	// is refused; a supplier's and a reviewer's too.
	mallory.get("/portal/login")
	mallory.post("/portal/login", url.Values{"username": {email}, "password": {pass}})
	wantStatus(t, "self-approval", mallory.post("/portal/accounts/"+email+"/approve", nil), http.StatusForbidden)
	for _, who := range []string{aliceUser, revUser} {
		b := e.signedIn(t, who)
		wantStatus(t, who+" approving", b.post("/portal/accounts/"+email+"/approve", nil), http.StatusForbidden)
		wantStatus(t, who+" opening sign-up", b.post("/portal/accounts/settings", url.Values{"signup_without_approval": {"on"}}), http.StatusForbidden)
	}
	// The operator's form without its CSRF token is refused too.
	op := e.signedIn(t, opUser)
	wantStatus(t, "approve without CSRF", op.post("/portal/accounts/"+email+"/approve", url.Values{"csrf": {""}}), http.StatusForbidden)
	if a := e.account(t, email); !a.Pending() {
		t.Fatal("the account was approved by a refused request")
	}
	// Rejected: the account is gone and its password opens nothing.
	wantStatus(t, "reject", op.post("/portal/accounts/"+email+"/reject", nil), http.StatusSeeOther)
	if _, err := e.tenants.Account(ctx, email); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the rejected account: %v", err)
	}
}

// TestSignUp_WithoutApproval: with the operator's setting on, a new
// organisation's account signs in at once.
func TestSignUp_WithoutApproval(t *testing.T) {
	e := newEnv(t, nil)
	op := e.signedIn(t, opUser)
	op.get("/portal/accounts")
	wantStatus(t, "setting on", op.post("/portal/accounts/settings", url.Values{"signup_without_approval": {"on"}}), http.StatusSeeOther)
	t.Cleanup(func() {
		if err := e.tenants.SetSignUpWithoutApproval(context.Background(), e.account(t, opUser), false); err != nil {
			t.Error(err)
		}
	})
	wantContains(t, "accounts page", op.get("/portal/accounts"), `value="on" checked`)
	b := e.browser(t)
	wantContains(t, "sign-up page", b.get("/portal/signup"), "ready at once")
	got := b.post("/portal/signup", signUpForm("ola@nyorg.example", "Ny Org", "ola-password-1"))
	if got.location() != "/portal/login?signup=ready" {
		t.Fatalf("open sign-up: %d to %q", got.status, got.location())
	}
	b.login("ola@nyorg.example", "ola-password-1")
	// Off again: the next sign-up waits.
	op.get("/portal/accounts")
	op.post("/portal/accounts/settings", url.Values{})
	b2 := e.browser(t)
	b2.get("/portal/signup")
	if got := b2.post("/portal/signup", signUpForm("per@annenorg.example", "Annen Org", "per-password-1")); got.location() != "/portal/login?signup=pending" {
		t.Errorf("sign-up after the setting is off: %q", got.location())
	}
}

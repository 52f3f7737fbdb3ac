package portal

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/tenant"
)

func TestLogin_PasswordDecidesSignIn(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, user, pass string
		status           int
		location         string
	}{
		{"good password", aliceUser, alicePass, http.StatusSeeOther, "/portal/"},
		{"wrong password", aliceUser, "not-the-password", http.StatusUnauthorized, ""},
		{"unknown user", "mallory", alicePass, http.StatusUnauthorized, ""},
		{"empty password", aliceUser, "", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			wantStatus(t, "sign-in page", b.get("/portal/login"), http.StatusOK)
			got := b.post("/portal/login", url.Values{"username": {tt.user}, "password": {tt.pass}})
			wantStatus(t, "sign-in", got, tt.status)
			if got.location() != tt.location {
				t.Errorf("sign-in sent to %q, want %q", got.location(), tt.location)
			}
			dash := b.get("/portal/")
			if tt.status == http.StatusSeeOther {
				wantStatus(t, "dashboard", dash, http.StatusOK)
				wantContains(t, "dashboard", dash, aliceUser, "Sandbox acme-dev")
				return
			}
			wantContains(t, "refusal", got, "Wrong username or password.")
			if tt.pass != "" {
				wantLacks(t, "refusal", got, tt.pass) // the password is never echoed
			}
			wantStatus(t, "dashboard without sign-in", dash, http.StatusSeeOther)
		})
	}
}

func TestLogin_ReturnsToTheRequestedPage_NeverElsewhere(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser(t)
	got := b.get("/portal/sandboxes/" + acmeSandbox + "/patients?q=Aune")
	wantStatus(t, "page before sign-in", got, http.StatusSeeOther)
	next, _ := url.Parse(got.location())
	if next.Path != "/portal/login" || next.Query().Get("next") != "/portal/sandboxes/acme-dev/patients?q=Aune" {
		t.Fatalf("sent to %q, want the sign-in page with next", got.location())
	}
	b.get(got.location())
	got = b.post("/portal/login", url.Values{"username": {aliceUser}, "password": {alicePass}, "next": {next.Query().Get("next")}})
	if got.location() != "/portal/sandboxes/acme-dev/patients?q=Aune" {
		t.Errorf("after sign-in sent to %q, want the page asked for", got.location())
	}

	for next, want := range map[string]string{
		"/portal/sandboxes/x?q=1":  "/portal/sandboxes/x?q=1",
		"https://evil.example/":    "/portal/",
		"//evil.example/portal/":   "/portal/",
		"/portal/../elsewhere":     "/portal/",
		"/elsewhere":               "/portal/",
		"/portal\\evil":            "/portal/",
		"/portal/login?next=/x":    "/portal/",
		"/portal/x\r\nSet-Cookie:": "/portal/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestLogout_EndsTheSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.signedIn(t, aliceUser)
	got := b.post("/portal/logout", nil)
	if got.status != http.StatusSeeOther || got.location() != "/portal/login" {
		t.Fatalf("sign out: %d to %q", got.status, got.location())
	}
	wantStatus(t, "dashboard after sign-out", b.get("/portal/"), http.StatusSeeOther)
}

func TestSession_ExpiresAfterTTL(t *testing.T) {
	e := newEnv(t, nil)
	b := e.signedIn(t, aliceUser)
	e.clock.Advance(DefaultSessionTTL - time.Minute)
	wantStatus(t, "dashboard just before expiry", b.get("/portal/"), http.StatusOK)
	e.clock.Advance(2 * time.Minute)
	got := b.get("/portal/")
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location(), "/portal/login") {
		t.Fatalf("dashboard after expiry: %d to %q, want the sign-in page", got.status, got.location())
	}
	wantStatus(t, "POST after expiry", b.post("/portal/sandboxes/"+acmeSandbox+"/reset", nil), http.StatusForbidden)
}

func TestSession_TamperedOrForeignCookieRefused(t *testing.T) {
	e := newEnv(t, nil)
	other, err := New(Deps{Tenants: e.tenants, Store: e.store, FHIRBase: func(string) string { return "" },
		EHRLaunchPath: launchPathTest, SessionKey: bytes.Repeat([]byte("x"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	real := e.signedIn(t, aliceUser)
	u, _ := url.Parse(e.srv.URL + "/portal/")
	var good string
	for _, c := range real.http.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			good = c.Value
		}
	}
	if good == "" {
		t.Fatal("no session cookie after sign-in")
	}
	body, sig, _ := strings.Cut(good, ".")
	var sess session
	if err := real.env.portalOpen(t, good, &sess); err != nil {
		t.Fatal(err)
	}
	asOperator := sess
	asOperator.User = opUser
	forged := other.seal("session", asOperator)
	forgedBody, _, _ := strings.Cut(forged, ".")

	tests := []struct{ name, value string }{
		{"operator's name with alice's signature", forgedBody + "." + sig},
		{"signed with another key", forged},
		{"signature cut off", body},
		{"flipped signature", body + "." + flip(sig)},
		{"garbage", "not-a-cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			b.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tt.value, Path: "/portal"}})
			got := b.get("/portal/")
			if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location(), "/portal/login") {
				t.Errorf("GET with the cookie: %d to %q, want the sign-in page", got.status, got.location())
			}
			b.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tt.value, Path: "/portal"}})
			wantStatus(t, "POST with the cookie", b.post("/portal/accounts", url.Values{
				"csrf": {real.csrf}, "username": {"sneaky"}, "role": {"operator"}, "password": {"sneaky-password"}}), http.StatusForbidden)
		})
	}
	if _, err := e.tenants.Account(t.Context(), "sneaky"); err == nil {
		t.Error("a tampered cookie created an account")
	}
}

// portalOpen decodes a session cookie with the test key.
func (e *env) portalOpen(t *testing.T, raw string, s *session) error {
	t.Helper()
	p := &Portal{d: Deps{SessionKey: testKey}}
	return p.open("session", raw, s)
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestCookies_HttpOnlyLaxScopedAndSecureWhenAsked(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(d *Deps, _ string) { d.SecureCookies = secure })
		b := e.browser(t)
		got := b.get("/portal/login")
		sc := got.header.Get("Set-Cookie")
		for _, want := range []string{sessionCookie + "=", "Path=/portal", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(sc, want) {
				t.Errorf("Set-Cookie %q lacks %s", sc, want)
			}
		}
		if strings.Contains(sc, "Secure") != secure {
			t.Errorf("SecureCookies=%v: Set-Cookie %q", secure, sc)
		}
	}
}

func TestLogin_WrongPasswordsBackOff_429WithRetryAfterOnTheSignInPage(t *testing.T) {
	e := newEnv(t, nil)
	// An account of its own: the other tests share the registry.
	const user, pass = "throttled", "throttled-password"
	if _, err := e.tenants.CreateAccount(context.Background(), e.account(t, opUser),
		tenant.NewAccount{Username: user, Role: tenant.RoleReviewer, Password: pass}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.get("/portal/login")
	free := tenant.DefaultSignInLimits().PerAccount.Free
	for i := range free + 1 {
		got := b.post("/portal/login", url.Values{"username": {user}, "password": {"guess-" + strings.Repeat("x", i)}})
		wantStatus(t, "wrong password", got, http.StatusUnauthorized)
	}
	got := b.post("/portal/login", url.Values{"username": {user}, "password": {pass}})
	wantStatus(t, "the right password, too soon", got, http.StatusTooManyRequests)
	if got.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", got.header.Get("Retry-After"))
	}
	wantContains(t, "throttled sign-in page", got, "Too many wrong passwords", `name="password"`, `value="`+user+`"`)
	wantLacks(t, "throttled sign-in page", got, pass)
	wantStatus(t, "not signed in", b.get("/portal/"), http.StatusSeeOther)
	// Another account from the same address signs in.
	e.signedIn(t, bobUser)
}

func TestWaitText(t *testing.T) {
	for secs, want := range map[int]string{1: "a second", 5: "5 seconds", 119: "119 seconds", 120: "2 minutes", 900: "15 minutes", 901: "16 minutes"} {
		if got := waitText(secs); got != want {
			t.Errorf("waitText(%d) = %q, want %q", secs, got, want)
		}
	}
}

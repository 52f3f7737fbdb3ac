package portal

import (
	"bytes"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNew_RefusesIncompleteDeps_SayingHowToFix(t *testing.T) {
	w := sharedWorld(t)
	valid := func() Deps {
		return Deps{Tenants: w.tenants, Store: w.store, FHIRBase: func(string) string { return "" },
			EHRLaunchPath: launchPathTest, SessionKey: testKey}
	}
	tests := []struct {
		name   string
		change func(*Deps)
		want   string
	}{
		{"no tenants", func(d *Deps) { d.Tenants = nil }, "Deps.Tenants"},
		{"no store", func(d *Deps) { d.Store = nil }, "Deps.Store"},
		{"no FHIR base", func(d *Deps) { d.FHIRBase = nil }, "Deps.FHIRBase"},
		{"no launch path", func(d *Deps) { d.EHRLaunchPath = "" }, "/auth/ehr-launch"},
		{"short key", func(d *Deps) { d.SessionKey = testKey[:31] }, "at least 32"},
		{"negative TTL", func(d *Deps) { d.SessionTTL = -time.Second }, "SessionTTL"},
		{"OIDC without client", func(d *Deps) {
			d.OIDC = &OIDCConfig{Issuer: "https://idp.example", RedirectURL: "https://p.example/portal/login/oidc/callback"}
		}, "OIDC.ClientID"},
		{"OIDC with a relative issuer", func(d *Deps) {
			d.OIDC = &OIDCConfig{Issuer: "idp.example", ClientID: "c", RedirectURL: "https://p.example/portal/login/oidc/callback"}
		}, "OIDC.Issuer"},
		{"OIDC with another callback", func(d *Deps) {
			d.OIDC = &OIDCConfig{Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://p.example/callback"}
		}, "/portal/login/oidc/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.change(&d)
			_, err := New(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error naming %q", err, tt.want)
			}
		})
	}
	if _, err := New(valid()); err != nil {
		t.Errorf("New with valid deps: %v", err)
	}
}

// syncBuffer is a log destination the server's goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogs_NeverHoldPasswordsSecretsOrTokens(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(d *Deps, _ string) {
		d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	bad := e.browser(t)
	bad.get("/portal/login")
	bad.post("/portal/login", url.Values{"username": {aliceUser}, "password": {"wrong-password-xyz"}})
	alice := e.signedIn(t, aliceUser)
	reg := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", url.Values{"name": {"Logged app"},
		"type": {"confidential-symmetric"}, "redirect_uris": {"https://logged.example/cb"}})
	secret := regexp.MustCompile(`shown only once</h2>\s*<p><code class="copy">([^<]+)<`).FindStringSubmatch(reg.body)
	if secret == nil {
		t.Fatal("no secret shown")
	}
	alice.post("/portal/sandboxes/"+acmeSandbox+"/settings", url.Values{"name": {"x"}, csrfField: {"forged-token"}})
	op := e.signedIn(t, opUser)
	op.post("/portal/accounts", url.Values{"username": {"logged-user"}, "role": {"reviewer"}, "password": {"logged-password-1"}})
	op.post("/portal/accounts/logged-user/delete", nil)

	out := logs.String()
	for _, s := range []string{"wrong-password-xyz", alicePass, opPass, "logged-password-1", secret[1], alice.csrf, op.csrf} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"sign-in refused", "signed in", "app registered", "CSRF", "account created"} {
		if !strings.Contains(out, s) {
			t.Errorf("the log lacks %q", s)
		}
	}
	u, _ := url.Parse(e.srv.URL + "/portal/")
	for _, c := range alice.http.Jar.Cookies(u) {
		if strings.Contains(out, c.Value) {
			t.Errorf("the log holds the session cookie")
		}
	}
}

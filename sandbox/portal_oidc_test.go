package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

// TestPortal_SignInThroughTheSandboxsOwnOpenIDProvider configures the
// portal's external sign-in with the gateway's own authorization server
// as the OpenID Connect provider (go-oidc and x/oauth2 against a real
// issuer): the portal is a confidential client of the default sandbox, and
// a practitioner's identity there is linked to a supplier account.
func TestPortal_SignInThroughTheSandboxsOwnOpenIDProvider(t *testing.T) {
	const secret = "portal-client-secret"
	hash, err := smart.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	env := newGatewayEnvWith(t, func(c *Config, p *parts) {
		c.SkipConsent = true
		c.PortalOIDCIssuer, c.PortalOIDCClientID, c.PortalOIDCClientSecret, c.PortalOIDCName = c.PublicURL, "hps-portal", secret, "HP Sandbox ID"
		p.clients = append(p.clients, &smart.Client{ID: "hps-portal", Name: "HP Sandbox portal", Type: smart.ConfidentialSymmetric,
			SecretHash: hash, RedirectURIs: []string{c.PublicURL + "/portal/login/oidc/callback"}, Scopes: "openid fhirUser profile"})
	})
	if _, err := env.tenants.CreateAccount(context.Background(), testOperator, tenant.NewAccount{Username: "lege",
		Role: tenant.RoleSupplier, Supplier: "acme", OIDCIssuer: env.srv.URL, OIDCSubject: "Practitioner/prac-1"}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	_, login := get(env.srv.URL + "/portal/login")
	if !strings.Contains(login, "Sign in with HP Sandbox ID") {
		t.Fatalf("no external sign-in on the portal's login page")
	}
	// The portal sends the browser to the provider's login page.
	resp, page := get(env.srv.URL + "/portal/login/oidc")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), env.srv.URL+"/auth/") {
		t.Fatalf("at %s (%d), want the provider's login page", resp.Request.URL, resp.StatusCode)
	}
	m := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no login form:\n%s", page)
	}
	resp, err = browser.PostForm(env.srv.URL+"/auth/login", url.Values{"session": {m[1]}, "user": {"Practitioner/prac-1"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/portal/" || !strings.Contains(string(body), "lege") {
		t.Fatalf("after the provider: %d at %s\n%.600s", resp.StatusCode, resp.Request.URL, body)
	}
}

package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

const (
	idpClientID = "hp-portal"
	idpSecret   = "portal-secret-for-tests"
	idpName     = "Test IdP"
	// The practitioners of the provider's simulated login page; the
	// provider's sub is the chosen user's reference.
	linkedSubject   = "Practitioner/prac-linked"
	unlinkedSubject = "Practitioner/prac-unlinked"
)

// idpUsers is the provider's simulated login page's choice of users.
type idpUsers struct{}

func (idpUsers) ListPatients(context.Context) ([]smart.PatientSummary, error) { return nil, nil }

func (idpUsers) ListPractitioners(context.Context) ([]smart.PractitionerSummary, error) {
	return []smart.PractitionerSummary{{ID: "prac-linked", Name: "Linked Lege"}, {ID: "prac-unlinked", Name: "Unlinked Lege"}}, nil
}

// newIdP serves the project's own authorization server as the portal's
// OpenID Connect provider, with the portal registered as a confidential
// client whose redirect URI is the portal's callback.
func newIdP(t *testing.T, portalURL string) *httptest.Server {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	keys, err := smart.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := smart.HashSecret(idpSecret)
	if err != nil {
		t.Fatal(err)
	}
	as, err := smart.New(smart.Config{Issuer: srv.URL, SkipConsent: true}, smart.Deps{
		Keys: keys,
		Clients: smart.NewMemoryClients(&smart.Client{ID: idpClientID, Name: "HP Sandbox portal",
			Type: smart.ConfidentialSymmetric, SecretHash: hash,
			RedirectURIs: []string{portalURL + "/portal/login/oidc/callback"}, Scopes: "openid fhirUser profile"}),
		Patients: idpUsers{},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = as.Handler()
	return srv
}

// oidcEnv is a portal that signs in through a real provider.
func oidcEnv(t *testing.T) (*env, *httptest.Server) {
	t.Helper()
	var idp *httptest.Server
	e := newEnv(t, func(d *Deps, portalURL string) {
		idp = newIdP(t, portalURL)
		d.OIDC = &OIDCConfig{Name: idpName, Issuer: idp.URL, ClientID: idpClientID, ClientSecret: idpSecret,
			RedirectURL: portalURL + "/portal/login/oidc/callback", Scopes: []string{"fhirUser"},
			AuthParams: map[string]string{"aud": idp.URL + "/fhir"}}
	})
	return e, idp
}

var sessionFieldRE = regexp.MustCompile(`name="session" value="([^"]+)"`)

// signInAtIdP goes from the portal's "Sign in with" link through the
// provider's discovery, authorization and simulated login as user, and
// returns the portal callback URL the provider redirects to.
func signInAtIdP(t *testing.T, b *browser, idp *httptest.Server, user string) string {
	t.Helper()
	login := b.get("/portal/login")
	wantContains(t, "sign-in page", login, "Sign in with "+idpName, `href="/portal/login/oidc?next=%2fportal%2f"`)
	start := b.get("/portal/login/oidc")
	wantStatus(t, "start", start, http.StatusFound)
	authz, err := url.Parse(start.location())
	if err != nil || !strings.HasPrefix(start.location(), idp.URL+"/auth/authorize?") {
		t.Fatalf("start sent to %q, want the provider's authorize endpoint", start.location())
	}
	q := authz.Query()
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(p)) < 20 {
			t.Errorf("authorization request %s = %q, want a random value", p, q.Get(p))
		}
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("scope") != "openid fhirUser" || q.Get("client_id") != idpClientID {
		t.Errorf("authorization request %v", q)
	}
	toLogin := b.get(start.location())
	wantStatus(t, "authorize", toLogin, http.StatusSeeOther)
	page := b.get(toLogin.location())
	wantStatus(t, "provider's login page", page, http.StatusOK)
	m := sessionFieldRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no session field on the provider's login page:\n%s", page.body)
	}
	done := b.post(idp.URL+"/auth/login", url.Values{"session": {m[1]}, "user": {user}, csrfField: {}})
	if done.status != http.StatusFound || !strings.HasPrefix(done.location(), b.env.srv.URL+"/portal/login/oidc/callback?") {
		t.Fatalf("provider's login: %d to %q, want the portal's callback", done.status, done.location())
	}
	return done.location()
}

func TestOIDC_LinkedIdentity_SignsIn(t *testing.T) {
	e, idp := oidcEnv(t)
	op := e.account(t, opUser)
	if _, err := e.tenants.CreateAccount(context.Background(), op, tenant.NewAccount{Username: "oidc-linked",
		Role: tenant.RoleSupplier, Supplier: "acme", OIDCIssuer: idp.URL, OIDCSubject: linkedSubject}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.tenants.DeleteAccount(context.Background(), op, "oidc-linked") })
	b := e.browser(t)
	callback := signInAtIdP(t, b, idp, linkedSubject)
	got := b.get(callback)
	if got.status != http.StatusSeeOther || got.location() != "/portal/" {
		t.Fatalf("callback: %d to %q\n%s", got.status, got.location(), excerpt(got.body))
	}
	dash := b.get("/portal/")
	wantStatus(t, "dashboard", dash, http.StatusOK)
	wantContains(t, "dashboard", dash, "oidc-linked", "Sandbox acme-dev")
	// The callback cannot be replayed: its flow cookie is spent.
	wantStatus(t, "replayed callback", b.get(callback), http.StatusBadRequest)
}

func TestOIDC_UnlinkedIdentity_IsRefusedClearly(t *testing.T) {
	e, idp := oidcEnv(t)
	b := e.browser(t)
	got := b.get(signInAtIdP(t, b, idp, unlinkedSubject))
	wantStatus(t, "callback", got, http.StatusForbidden)
	wantContains(t, "refusal", got, "No portal account", "no portal account is linked to that identity", unlinkedSubject, idp.URL)
	wantStatus(t, "dashboard", b.get("/portal/"), http.StatusSeeOther)
}

func TestOIDC_CallbackNotOfThisBrowsersSignIn_Refused(t *testing.T) {
	e, idp := oidcEnv(t)
	tests := []struct {
		name string
		// otherBrowser delivers the callback to a browser that did not
		// start the sign-in.
		otherBrowser bool
		// query makes the callback's query from the provider's.
		query  func(got url.Values) url.Values
		status int
	}{
		{"another browser", true, func(got url.Values) url.Values { return got }, http.StatusBadRequest},
		{"wrong state", false, func(got url.Values) url.Values {
			return url.Values{"code": {got.Get("code")}, "state": {"forged-state"}}
		}, http.StatusBadRequest},
		{"no state", false, func(got url.Values) url.Values { return url.Values{"code": {got.Get("code")}} }, http.StatusBadRequest},
		{"provider's error", false, func(got url.Values) url.Values {
			return url.Values{"error": {"access_denied"}, "state": {got.Get("state")}}
		}, http.StatusUnauthorized},
		{"forged code", false, func(got url.Values) url.Values {
			return url.Values{"code": {"forged-code"}, "state": {got.Get("state")}}
		}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			u, err := url.Parse(signInAtIdP(t, b, idp, linkedSubject))
			if err != nil {
				t.Fatal(err)
			}
			if tt.otherBrowser {
				b = e.browser(t)
			}
			got := b.get("/portal/login/oidc/callback?" + tt.query(u.Query()).Encode())
			wantStatus(t, "callback", got, tt.status)
			wantContains(t, "callback", got, "Sign-in failed")
			wantStatus(t, "dashboard", b.get("/portal/"), http.StatusSeeOther)
		})
	}
}

func TestOIDC_WithoutProvider_NoButtonAndNoRoute(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser(t)
	wantLacks(t, "sign-in page", b.get("/portal/login"), "Sign in with")
	wantStatus(t, "start", b.get("/portal/login/oidc"), http.StatusNotFound)
	wantStatus(t, "callback", b.get("/portal/login/oidc/callback?state=x&code=y"), http.StatusNotFound)
}

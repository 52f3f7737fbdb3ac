package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"hpsandbox/sandbox/tenant"
)

// The attacker's probes against dynamic registration and the loopback
// rule, through the real gateway: nothing here may reach a supplier's data
// without the owner's say.

// registerAt posts RFC 7591 metadata to a registration endpoint, with an
// Authorization header when auth is not empty.
func registerAt(t *testing.T, endpoint, auth string, metadata any) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(metadata)
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// attackerBackend is the metadata of a backend service the attacker
// registers with its own key, asking for everything.
func attackerBackend() map[string]any {
	pub := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}
	return map[string]any{"client_name": "Totally legit", "token_endpoint_auth_method": "private_key_jwt",
		"grant_types": []string{"client_credentials"}, "scope": "system/*.cruds", "jwks": pub}
}

// clientCredentials runs client_credentials for clientID and returns the
// status and the access token, if any.
func (env *gatewayEnv) clientCredentials(t *testing.T, clientID, scope string) (int, string) {
	t.Helper()
	resp, body := env.postForm(t, "/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {env.assertion(t, clientID)},
	})
	tok, _ := body["access_token"].(string)
	return resp.StatusCode, tok
}

func TestAdversarial_AnonymousBackendRegistration_NeverReachesASuppliersData(t *testing.T) {
	env := newGatewayEnv(t, false)
	ctx := context.Background()
	acme := &tenant.Account{Username: "acme-dev", Role: tenant.RoleSupplier, Supplier: "acme"}
	base, ownerToken := env.supplierSandbox(t, "acme-dev", "acme", nil)
	if resp, _ := env.fhirAt(t, base, http.MethodPut, "/Patient/secret", ownerToken,
		`{"resourceType":"Patient","id":"secret","name":[{"family":"Hemmelig"}]}`); resp.StatusCode >= 300 {
		t.Fatalf("owner's write: %d", resp.StatusCode)
	}
	endpoint := env.srv.URL + "/sandboxes/acme-dev/auth/register"
	setSettings := func(st tenant.Settings) {
		t.Helper()
		if _, err := env.tenants.UpdateSandbox(ctx, acme, "acme-dev", nil, &st); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(settingsTTL) // what the gateway remembers of the sandbox
	}
	publicApp := func(scope string) map[string]any {
		return map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none", "scope": scope}
	}
	upgraded := tenant.Settings{Secured: true, DynamicRegistration: true} // a tenants.db of before registration_scopes
	readOnly := tenant.Settings{Secured: true, DynamicRegistration: true, RegistrationScopes: "patient/*.rs"}
	tests := []struct {
		name     string
		settings tenant.Settings
		metadata map[string]any
		status   int
		errCode  string
	}{
		{"a new sandbox is closed to registration", tenant.DefaultSettings(), attackerBackend(), 403, "access_denied"},
		{"a new sandbox is closed even to a read-only public app", tenant.DefaultSettings(), publicApp("patient/*.rs"), 403, "access_denied"},
		{"an upgraded open sandbox registers no backend without a token", upgraded, attackerBackend(), 400, "invalid_client_metadata"},
		{"an upgraded open sandbox registers nothing without a token", upgraded, publicApp("patient/*.rs"), 400, "invalid_client_metadata"},
		{"read-only registration: no backend service", readOnly, attackerBackend(), 400, "invalid_client_metadata"},
		{"read-only registration: no system scope on a user-facing app", readOnly, publicApp("system/*.cruds"), 400, "invalid_client_metadata"},
		{"read-only registration: no write scope", readOnly, publicApp("patient/*.cruds"), 400, "invalid_client_metadata"},
		{"read-only registration: no read beyond what the owner allows", readOnly, publicApp("user/*.rs"), 400, "invalid_client_metadata"},
		{"a made-up initial access token", readOnly, attackerBackend(), 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setSettings(tt.settings)
			auth := ""
			if tt.errCode == "invalid_token" {
				auth = "Bearer hpsiat_guessedguessedguessedguessedguessedguessedguessedgu"
			}
			resp, body := registerAt(t, endpoint, auth, tt.metadata)
			if resp.StatusCode != tt.status || body["error"] != tt.errCode {
				t.Fatalf("%d %v, want %d %s", resp.StatusCode, body, tt.status, tt.errCode)
			}
			if id, _ := body["client_id"].(string); id != "" {
				t.Fatalf("registered %s", id)
			}
		})
	}
	apps, _ := env.tenants.Apps(ctx, acme, "acme-dev")
	if len(apps) != 1 {
		t.Errorf("acme-dev has %d apps, want only its owner's", len(apps))
	}
	// Nothing registered, so the attacker's key gets no token, and no
	// token reads the data.
	if status, tok := env.clientCredentials(t, "app-made-up", "system/*.cruds"); status == http.StatusOK || tok != "" {
		t.Errorf("a token for an unregistered client: %d", status)
	}
	if resp, _ := env.fhirAt(t, base, "GET", "/Patient/secret", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the data without a token: %d", resp.StatusCode)
	}
}

func TestAdversarial_InitialAccessToken_WorksOnlyAtItsOwnSandbox(t *testing.T) {
	env := newGatewayEnv(t, false)
	ctx := context.Background()
	acme := &tenant.Account{Username: "acme-dev", Role: tenant.RoleSupplier, Supplier: "acme"}
	bravo := &tenant.Account{Username: "bravo-dev", Role: tenant.RoleSupplier, Supplier: "bravo"}
	open := tenant.Settings{Secured: true, DynamicRegistration: true}
	baseA, _ := env.supplierSandbox(t, "acme-dev", "acme", &open)
	baseB, _ := env.supplierSandbox(t, "bravo-dev", "bravo", &open)
	_, tokA, err := env.tenants.IssueRegistrationToken(ctx, acme, "acme-dev", tenant.NewRegistrationToken{MaxUses: intPtr(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.tenants.IssueRegistrationToken(ctx, bravo, "acme-dev", tenant.NewRegistrationToken{}); err == nil {
		t.Fatal("bravo issued a token of acme's sandbox")
	}

	// A's token at B's endpoint is refused as RFC 6750 says.
	resp, body := registerAt(t, env.srv.URL+"/sandboxes/bravo-dev/auth/register", "Bearer "+tokA, attackerBackend())
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("A's token at B: %d %v %q, want 401 invalid_token", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	// And at the default sandbox's.
	if resp, _ := registerAt(t, env.srv.URL+"/auth/register", "Bearer "+tokA, attackerBackend()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("A's token at the default sandbox: %d, want 401", resp.StatusCode)
	}

	// At A's own endpoint it registers a backend service, whose token
	// reads and writes A and nothing else.
	resp, body = registerAt(t, env.srv.URL+"/sandboxes/acme-dev/auth/register", "Bearer "+tokA, attackerBackend())
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("A's token at A: %d %v", resp.StatusCode, body)
	}
	clientID := body["client_id"].(string)
	status, tok := env.clientCredentials(t, clientID, "system/*.cruds")
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d", status)
	}
	if resp, _ := env.fhirAt(t, baseA, http.MethodPut, "/Patient/ci", tok, `{"resourceType":"Patient","id":"ci"}`); resp.StatusCode >= 300 {
		t.Errorf("write to A: %d", resp.StatusCode)
	}
	for name, base := range map[string]string{"B": baseB, "the default sandbox": env.fhirBase()} {
		if resp, _ := env.fhirAt(t, base, "GET", "/Patient", tok, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("A's backend at %s: %d, want 401", name, resp.StatusCode)
		}
	}
}

func TestAdversarial_DefaultSandbox_AnonymousRegistrationReadsOnly(t *testing.T) {
	env := newGatewayEnv(t, true)
	endpoint := env.srv.URL + "/auth/register"
	resp, body := registerAt(t, endpoint, "", attackerBackend())
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
		t.Errorf("anonymous backend at the default sandbox: %d %v, want 400 invalid_client_metadata", resp.StatusCode, body)
	}
	resp, body = registerAt(t, endpoint, "", map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body["scope"].(string), "patient/*.rs") || strings.Contains(body["scope"].(string), "cruds") {
		t.Errorf("a public app at the default sandbox, as the README shows: %d %v", resp.StatusCode, body)
	}
	// The operator's token lets a backend service register there.
	_, tok, err := env.tenants.IssueRegistrationToken(context.Background(), testOperator, "default", tenant.NewRegistrationToken{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := registerAt(t, endpoint, "Bearer "+tok, attackerBackend()); resp.StatusCode != http.StatusCreated {
		t.Errorf("backend with the operator's token: %d %v", resp.StatusCode, body)
	}
}

func TestAdversarial_LoopbackPortsOutsideOneTo65535_AreRefused(t *testing.T) {
	env := newGatewayEnv(t, true)
	authorize := func(redirect string) *http.Response {
		t.Helper()
		q := url.Values{"response_type": {"code"}, "client_id": {DemoClientID}, "redirect_uri": {redirect},
			"scope": {"launch/patient patient/*.rs"}, "state": {"s"}, "aud": {env.fhirBase()},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		resp, err := noRedirect.Get(env.srv.URL + "/auth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	launch := func(launchURL string) int {
		t.Helper()
		q := url.Values{"client_id": {DemoClientID}, "patient": {"pat-a"}, "launch_url": {launchURL}}
		resp, err := noRedirect.Get(env.srv.URL + "/auth/ehr-launch?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, port := range []string{"0", "65536", "99999", "123456", "08765", ""} {
		redirect := "http://127.0.0.1:" + port + "/callback"
		if resp := authorize(redirect); resp.StatusCode/100 == 3 {
			t.Errorf("authorize with %s: %d to %q, want refused without a redirect", redirect, resp.StatusCode, resp.Header.Get("Location"))
		}
		if status := launch("http://127.0.0.1:" + port + "/launch"); status != http.StatusBadRequest {
			t.Errorf("EHR launch to port %q: %d, want 400", port, status)
		}
		resp, body := registerAt(t, env.srv.URL+"/auth/register", "", map[string]any{
			"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none"})
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_redirect_uri" {
			t.Errorf("registering %s: %d %v, want 400 invalid_redirect_uri", redirect, resp.StatusCode, body)
		}
	}
	for _, port := range []string{"1", "8765", "65535"} {
		if resp := authorize("http://127.0.0.1:" + port + "/callback"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("authorize with port %s: %d, want on to the login page", port, resp.StatusCode)
		}
		if status := launch("http://127.0.0.1:" + port + "/launch"); status != http.StatusFound {
			t.Errorf("EHR launch to port %s: %d, want 302 to the app", port, status)
		}
	}
}

func TestAdversarial_GuessingPasswordsAtTheAdminAPI_IsSlowedDownNotLockedForGood(t *testing.T) {
	env := newGatewayEnv(t, false)
	ctx := context.Background()
	if _, err := env.tenants.CreateAccount(ctx, testOperator, tenant.NewAccount{Username: "victim", Role: tenant.RoleReviewer,
		Password: "the-victims-password"}); err != nil {
		t.Fatal(err)
	}
	me := func(user, password string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/admin/api/me", nil)
		req.SetBasicAuth(user, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	limits := tenant.DefaultSignInLimits().PerAccount
	statuses := map[int]int{}
	for i := range 40 {
		statuses[me("victim", "guess-"+strings.Repeat("x", i)).StatusCode]++
	}
	if statuses[http.StatusUnauthorized] != limits.Free+1 || statuses[http.StatusTooManyRequests] != 40-limits.Free-1 {
		t.Errorf("40 quick guesses: %v, want %d checked (401) and the rest refused unchecked (429)", statuses, limits.Free+1)
	}
	resp := me("victim", "the-victims-password")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("the right password during the wait: %d %q %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
	}
	// The gateway's clock is the test's: after the wait, the real user is in.
	env.clock.Advance(limits.Max)
	if resp := me("victim", "the-victims-password"); resp.StatusCode != http.StatusOK {
		t.Errorf("the right password after the longest wait: %d", resp.StatusCode)
	}
}

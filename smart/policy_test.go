package smart

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPolicies gives testSandbox its own base, settings and lifetimes;
// other sandboxes are unknown (deleted).
type testPolicies struct {
	mu     sync.Mutex
	base   string
	gone   bool
	policy Policy
}

func (p *testPolicies) Policy(_ context.Context, sandbox string) (Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sandbox != testSandbox || p.gone {
		return Policy{}, errors.New("no such sandbox")
	}
	return p.policy, nil
}

func TestPolicy_SandboxHasItsOwnAudienceSettingsAndLifetimes(t *testing.T) {
	pols := &testPolicies{}
	env := newTestEnv(t, func(c *Config, d *Deps) { d.Policies = pols })
	base := env.cfg.Issuer + "/sandboxes/" + testSandbox + "/fhir"
	pols.policy = Policy{FHIRBase: base, SkipLogin: true, SkipConsent: true, AccessTokenTTL: 10 * time.Minute,
		RegistrationEndpoint: env.cfg.Issuer + "/sandboxes/" + testSandbox + "/auth/register"}

	// The server-wide base is not the sandbox's audience.
	q := env.authorizeParams(simpleRequest)
	got := redirectParams(t, env.get(t, "/auth/authorize", q))
	if got.Get("error") != "invalid_request" {
		t.Fatalf("aud of the default base for a sandbox app: %v, want invalid_request", got)
	}
	// The sandbox's base is, and its settings skip login and consent.
	q.Set("aud", base)
	resp, body := env.exchange(t, env.codeFor(t, q))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	if body["expires_in"] != float64(600) {
		t.Errorf("expires_in %v, want the sandbox's 600", body["expires_in"])
	}
	token := body["access_token"].(string)
	g, err := env.srv.AuthenticateToken(context.Background(), token)
	if err != nil || g.Sandbox != testSandbox {
		t.Fatalf("Authenticate: %+v %v", g, err)
	}
	intro, ibody := env.tokenCall(t, "/auth/introspect", url.Values{"token": {token}}, symmetricID, symmetricPW)
	if intro.StatusCode != http.StatusOK || ibody["aud"] != base {
		t.Errorf("introspection aud %v, want %s", ibody["aud"], base)
	}
	// Discovery under the sandbox's base announces its registration endpoint.
	req, _ := http.NewRequestWithContext(WithSandbox(context.Background(), testSandbox), http.MethodGet, "/fhir/.well-known/smart-configuration", nil)
	rec := httptest.NewRecorder()
	env.srv.smartConfiguration(rec, req)
	if !strings.Contains(rec.Body.String(), `"registration_endpoint":"`+pols.policy.RegistrationEndpoint+`"`) {
		t.Errorf("discovery lacks registration_endpoint: %s", rec.Body)
	}
	// A token of a sandbox that is gone stops working (a fresh check).
	pols.mu.Lock()
	pols.gone = true
	pols.mu.Unlock()
	env.srv.verified = newVerifiedTokens()
	if _, err := env.srv.AuthenticateToken(context.Background(), token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of a deleted sandbox: %v, want invalid_token", err)
	}
	if got := redirectParams(t, env.get(t, "/auth/authorize", q)); got.Get("error") != "invalid_request" {
		t.Errorf("authorize in a deleted sandbox: %v", got)
	}
}

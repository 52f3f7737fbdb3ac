package adminapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestIsolation_AnotherSuppliersSandboxAnswersExactlyAsNoSandbox checks
// every operation on a sandbox: a supplier cannot tell another supplier's
// sandbox (or app in it) from one that does not exist, whatever it sends.
func TestIsolation_AnotherSuppliersSandboxAnswersExactlyAsNoSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(bobUser, "bravo-dev")
	bobApp := e.app(bobUser, "bravo-dev")
	var issued map[string]any
	e.must(http.StatusCreated, "POST", "/sandboxes/bravo-dev/registration-tokens", bobUser, map[string]any{}).json(t, &issued)
	bobToken := issued["id"].(string)
	e.sandbox(aliceUser, "acme-dev") // alice has a sandbox of her own
	validApp := map[string]any{"name": "A", "type": "public", "redirect_uris": []string{"https://a.example/cb"}}
	tests := []struct {
		name, method, path string // path after /sandboxes/{id}
		body               any
	}{
		{"read", "GET", "", nil},
		{"rename", "PATCH", "", map[string]any{"name": "Mine now"}},
		{"change settings", "PATCH", "", map[string]any{"settings": map[string]any{"secured": false}}},
		{"break a rule", "PATCH", "", map[string]any{"settings": map[string]any{"access_token_seconds": 1}}},
		{"delete", "DELETE", "", nil},
		{"reset", "POST", "/reset", nil},
		{"list apps", "GET", "/apps", nil},
		{"register an app", "POST", "/apps", validApp},
		{"register a bad app", "POST", "/apps", map[string]any{"name": "A", "type": "none"}},
		{"read its app", "GET", "/apps/" + bobApp, nil},
		{"delete its app", "DELETE", "/apps/" + bobApp, nil},
		{"read a missing app", "GET", "/apps/app-missing", nil},
		{"list initial access tokens", "GET", "/registration-tokens", nil},
		{"issue an initial access token", "POST", "/registration-tokens", map[string]any{"max_uses": 0}},
		{"issue a bad initial access token", "POST", "/registration-tokens", map[string]any{"expires_in": 1}},
		{"revoke its initial access token", "DELETE", "/registration-tokens/" + bobToken, nil},
		{"revoke a missing initial access token", "DELETE", "/registration-tokens/iat-missing", nil},
		{"search requests", "GET", "/requests", nil},
		{"search requests with a filter", "GET", "/requests?status=2xx&limit=5", nil},
		{"search requests with a bad filter", "GET", "/requests?limit=9999&colour=red", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			hidden := e.do(tt.method, "/sandboxes/bravo-dev"+tt.path, aliceUser, tt.body)
			absent := e.do(tt.method, "/sandboxes/bravo-xyz"+tt.path, aliceUser, tt.body)
			if hidden.status != http.StatusNotFound {
				t.Fatalf("on another's sandbox: %d %s, want 404", hidden.status, hidden.body)
			}
			if absent.status != hidden.status || !bytes.Equal(absent.body, hidden.body) {
				t.Errorf("another's sandbox answers %d %s\nno sandbox answers %d %s", hidden.status, hidden.body, absent.status, absent.body)
			}
			for _, h := range []string{"Content-Type", "Content-Length", "Location", "WWW-Authenticate"} {
				if hidden.header.Get(h) != absent.header.Get(h) {
					t.Errorf("%s: %q for another's sandbox, %q for none", h, hidden.header.Get(h), absent.header.Get(h))
				}
			}
			p := hidden.problem(t)
			if strings.Contains(string(hidden.body), "bravo") {
				t.Errorf("the answer names the sandbox: %+v", p)
			}
		})
	}
	e.t = t
	// Nothing alice tried happened.
	var sb map[string]any
	e.must(http.StatusOK, "GET", "/sandboxes/bravo-dev", bobUser, nil).json(t, &sb)
	if sb["name"] != "Sandbox bravo-dev" || sb["settings"].(map[string]any)["secured"] != true {
		t.Errorf("bob's sandbox changed: %v", sb)
	}
	var apps struct{ Apps []map[string]any }
	e.must(http.StatusOK, "GET", "/sandboxes/bravo-dev/apps", bobUser, nil).json(t, &apps)
	if len(apps.Apps) != 1 || apps.Apps[0]["client_id"] != bobApp {
		t.Errorf("bob's apps: %v, want only %s", apps.Apps, bobApp)
	}
	var tokens struct {
		RegistrationTokens []map[string]any `json:"registration_tokens"`
	}
	e.must(http.StatusOK, "GET", "/sandboxes/bravo-dev/registration-tokens", bobUser, nil).json(t, &tokens)
	if len(tokens.RegistrationTokens) != 1 || tokens.RegistrationTokens[0]["id"] != bobToken {
		t.Errorf("bob's initial access tokens: %v, want only %s", tokens.RegistrationTokens, bobToken)
	}
	var list struct{ Sandboxes []map[string]any }
	e.must(http.StatusOK, "GET", "/sandboxes", aliceUser, nil).json(t, &list)
	if len(list.Sandboxes) != 1 || list.Sandboxes[0]["id"] != "acme-dev" {
		t.Errorf("alice lists %v, want acme-dev only", list.Sandboxes)
	}
	// Nor can she reach bob's app through her own sandbox.
	for _, method := range []string{"GET", "DELETE"} {
		a := e.must(http.StatusNotFound, method, "/sandboxes/acme-dev/apps/"+bobApp, aliceUser, nil)
		b := e.must(http.StatusNotFound, method, "/sandboxes/acme-dev/apps/app-missing", aliceUser, nil)
		if !bytes.Equal(a.body, b.body) {
			t.Errorf("%s bob's app through acme-dev: %s; a missing app: %s", method, a.body, b.body)
		}
	}
}

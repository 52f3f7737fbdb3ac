package smart

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestAuthenticate_MissingOrBadTokens_Are401WithBearerChallenge(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, good := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	at := good["access_token"].(string)
	parts := strings.Split(at, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]

	other := newTestEnv(t, skipAll) // same key, other issuer and audience
	_, foreign := other.exchange(t, other.codeFor(t, other.authorizeParams(simpleRequest)))

	tests := []struct {
		name, header string
		status       int
		challenge    string
	}{
		{"no token", "", 401, `Bearer realm="hp-sandbox"`},
		{"not bearer", "Basic abc", 400, `error="invalid_request"`},
		{"empty bearer", "Bearer ", 400, `error="invalid_request"`},
		{"garbage", "Bearer garbage", 401, `error="invalid_token"`},
		{"tampered payload", "Bearer " + tampered, 401, `error="invalid_token"`},
		{"other issuer", "Bearer " + foreign["access_token"].(string), 401, `error="invalid_token"`},
		{"lower-case scheme is fine", "bearer " + at, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			g, err := env.srv.Authenticate(req)
			if tt.status == 200 {
				if err != nil || g.ClientID != publicID {
					t.Fatalf("Authenticate = %v, %v", g, err)
				}
				return
			}
			e := asError(err)
			if e.Status != tt.status || !strings.Contains(e.WWWAuthenticate(), tt.challenge) {
				t.Fatalf("got %d %q, want %d with %q", e.Status, e.WWWAuthenticate(), tt.status, tt.challenge)
			}
			if tt.header == "" && strings.Contains(e.WWWAuthenticate(), "error=") {
				t.Error("a request without token must get a challenge without error code (RFC 6750 §3.1)")
			}
		})
	}
}

func TestAuthenticate_ExpiredToken_IsInvalidToken(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	env.clock.Advance(env.cfg.AccessTokenTTL + time.Second)
	_, err := env.srv.AuthenticateToken(context.Background(), body["access_token"].(string))
	if asError(err).Code != "invalid_token" {
		t.Fatalf("expired token: %v", err)
	}
}

func TestAuthenticate_TokenSignedBeforeKeyRotation_StillVerifies(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	if err := env.srv.keys.rotateTo(testRSAKeys()[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := env.srv.AuthenticateToken(context.Background(), body["access_token"].(string)); err != nil {
		t.Fatalf("token of previous key refused: %v", err)
	}
	_, fresh := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	if _, err := env.srv.AuthenticateToken(context.Background(), fresh["access_token"].(string)); err != nil {
		t.Fatalf("token of new key refused: %v", err)
	}
}

func TestRevoke_AccessToken_AuthenticateFailsAndIntrospectionInactive(t *testing.T) {
	env, _ := backendEnv(t)
	env.srv.cfg.SkipLogin, env.srv.cfg.SkipConsent = true, true
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	at := body["access_token"].(string)

	introspect := func() map[string]any {
		_, sys := env.clientCredentials(t, env.assertion(t, backendRS, testRSAKeys()[1], jose.RS384, "rs-1", nil), "system/*.rs")
		req, _ := http.NewRequest(http.MethodPost, env.cfg.Issuer+"/auth/introspect", strings.NewReader(url.Values{"token": {at}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+sys["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		decodeJSON(t, resp, &out)
		return out
	}
	if got := introspect(); got["active"] != true || got["client_id"] != publicID || got["scope"] != simpleRequest || got["sandbox"] != testSandbox {
		t.Fatalf("introspection of live token: %v", got)
	}
	resp, _ := env.tokenCall(t, "/auth/revoke", url.Values{"token": {at}, "client_id": {publicID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if r, _ := env.readResource(t, "Observation", at); r.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("revoked token: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	if got := introspect(); got["active"] != false || len(got) != 1 {
		t.Errorf("introspection of revoked token: %v, want only active=false", got)
	}
}

func TestRevoke_UnknownOrForeignToken_Is200AndChangesNothing(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	for _, tok := range []string{"unknown", body["access_token"].(string), body["refresh_token"].(string)} {
		resp, _ := env.tokenCall(t, "/auth/revoke", url.Values{"token": {tok}}, symmetricID, symmetricPW)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
	}
	if r, _ := env.readResource(t, "Observation", body["access_token"].(string)); r.StatusCode != http.StatusOK {
		t.Errorf("another client revoked the token: %d", r.StatusCode)
	}
}

func TestRevoke_RefreshToken_RevokesTheWholeGrant(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	env.tokenCall(t, "/auth/revoke", url.Values{"token": {body["refresh_token"].(string)}, "client_id": {publicID}}, "", "")
	if r, _ := env.readResource(t, "Observation", body["access_token"].(string)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token survived revocation of its refresh token: %d", r.StatusCode)
	}
	resp, got := env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {body["refresh_token"].(string)}, "client_id": {publicID}}, "", "")
	wantOAuthError(t, resp, got, 400, "invalid_grant")
}

func TestIntrospect_RequiresConfidentialClientOrBackendToken(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	at, rt := body["access_token"].(string), body["refresh_token"].(string)
	resp, got := env.tokenCall(t, "/auth/introspect", url.Values{"token": {at}, "client_id": {publicID}}, "", "")
	wantOAuthError(t, resp, got, 401, "invalid_client")
	req, _ := http.NewRequest(http.MethodPost, env.cfg.Issuer+"/auth/introspect", strings.NewReader("token="+at))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+at) // a user token is not enough
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("user token introspecting: %d, want 403", r.StatusCode)
	}
	_, got = env.tokenCall(t, "/auth/introspect", url.Values{"token": {rt}}, symmetricID, symmetricPW)
	if got["active"] != true || got["token_type"] != "refresh_token" {
		t.Errorf("refresh token introspection: %v", got)
	}
}

func TestGrant_Permit_PatientScopesNeedPatientContextAndReturnIt(t *testing.T) {
	scopes := func(s string) Scopes {
		sc, err := ParseScopes(s)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	lab := "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	tests := []struct {
		name        string
		grant       Grant
		rt          string
		in          Interaction
		wantErr     bool
		level       Level
		patient     string
		constraints int
	}{
		{"patient scope with patient", Grant{Patient: "p1", Scopes: scopes("patient/*.rs")}, "Observation", Read, false, LevelPatient, "p1", 0},
		{"patient scope without context", Grant{Scopes: scopes("patient/*.rs")}, "Observation", Read, true, "", "", 0},
		{"patient user is the context", Grant{FHIRUser: "Patient/p9", Scopes: scopes("patient/*.rs")}, "Observation", Search, false, LevelPatient, "p9", 0},
		{"practitioner user is not", Grant{FHIRUser: "Practitioner/x", Scopes: scopes("patient/*.rs")}, "Observation", Search, true, "", "", 0},
		{"user beats patient", Grant{Patient: "p1", Scopes: scopes("patient/*.cruds user/Observation.rs")}, "Observation", Read, false, LevelUser, "", 0},
		{"patient when user lacks interaction", Grant{Patient: "p1", Scopes: scopes("patient/*.cruds user/Observation.rs")}, "Observation", Create, false, LevelPatient, "p1", 0},
		{"system beats all", Grant{Scopes: scopes("system/*.read")}, "Patient", Search, false, LevelSystem, "", 0},
		{"constrained", Grant{Patient: "p1", Scopes: scopes(lab)}, "Observation", Search, false, LevelPatient, "p1", 1},
		{"nothing permits", Grant{Patient: "p1", Scopes: scopes("patient/Observation.rs")}, "Observation", Delete, true, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.grant.Permit(tt.rt, tt.in)
			if tt.wantErr {
				if asError(err).Code != ErrInsufficientScope.Code {
					t.Fatalf("Permit = %+v, %v; want insufficient_scope", p, err)
				}
				return
			}
			if err != nil || p.Level != tt.level || p.Patient != tt.patient || len(p.Constraints) != tt.constraints {
				t.Fatalf("Permit = %+v, %v", p, err)
			}
		})
	}
}

func TestAuthenticate_RememberedTokenStillExpiresIsRevokedAndDiesWithItsKey(t *testing.T) {
	env := newTestEnv(t, skipAll)
	ctx := context.Background()
	token := func() string {
		_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
		return body["access_token"].(string)
	}
	expiring, revoked, rotated := token(), token(), token()
	for _, tok := range []string{expiring, revoked, rotated} {
		for range 2 { // the second use is served from memory
			if _, err := env.srv.AuthenticateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	if resp, _ := env.tokenCall(t, "/auth/revoke", url.Values{"token": {revoked}, "client_id": {publicID}}, "", ""); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := env.srv.AuthenticateToken(ctx, revoked); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked remembered token: %v", err)
	}
	env.clock.Advance(env.cfg.AccessTokenTTL)
	if _, err := env.srv.AuthenticateToken(ctx, expiring); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired remembered token: %v", err)
	}
	env.clock.Advance(-env.cfg.AccessTokenTTL)
	for _, k := range testRSAKeys()[1:3] {
		if err := env.srv.keys.rotateTo(k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.srv.AuthenticateToken(ctx, rotated); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("remembered token whose key was rotated out: %v", err)
	}
}

// multiGetState is a memory store that also reads several keys at once,
// as the Redis store does.
type multiGetState struct{ *MemoryState }

func (m multiGetState) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if v, err := m.Get(ctx, k); err == nil {
			out[i] = v
		}
	}
	return out, nil
}

func TestAuthenticate_WithAMultiGetterStore_RevocationOfTokenAndGrantStillCounts(t *testing.T) {
	env := newTestEnv(t, func(c *Config, d *Deps) {
		skipAll(c, d)
		d.State = multiGetState{NewMemoryState(d.Now)}
	})
	ctx := context.Background()
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	first, refresh := body["access_token"].(string), body["refresh_token"].(string)
	if _, err := env.srv.AuthenticateToken(ctx, first); err != nil {
		t.Fatal(err)
	}
	refreshWith := func() (*http.Response, map[string]any) {
		return env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {publicID}}, "", "")
	}
	resp, body := refreshWith()
	second, _ := body["access_token"].(string)
	if resp.StatusCode != 200 || second == "" {
		t.Fatalf("refresh: %d %v", resp.StatusCode, body)
	}
	if _, err := env.srv.AuthenticateToken(ctx, second); err != nil {
		t.Fatal(err)
	}
	if resp, _ := refreshWith(); resp.StatusCode != 400 { // reuse revokes the grant
		t.Fatalf("refresh token reuse: %d", resp.StatusCode)
	}
	for _, tok := range []string{first, second} {
		if _, err := env.srv.AuthenticateToken(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token of a revoked grant: %v", err)
		}
	}
	_, body = env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	third := body["access_token"].(string)
	env.tokenCall(t, "/auth/revoke", url.Values{"token": {third}, "client_id": {publicID}}, "", "")
	if _, err := env.srv.AuthenticateToken(ctx, third); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked token: %v", err)
	}
}

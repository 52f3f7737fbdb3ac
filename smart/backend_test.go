package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	backendRS = "backend-rs384"
	backendES = "backend-es384"
)

var testECKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// backendEnv registers two backend services: one with an inline RS384
// JWKS, one whose ES384 key is served from a loopback jwks_url.
func backendEnv(t testing.TB) (*testEnv, *atomic.Int32) {
	t.Helper()
	env := newTestEnv(t, nil)
	var fetches atomic.Int32
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"},
		}})
	}))
	t.Cleanup(jwksServer.Close)
	store := env.srv.clients.(*MemoryClients)
	store.Put(&Client{ID: backendRS, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs system/Patient.cruds",
		JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testRSAKeys()[1].Public(), KeyID: "rs-1", Algorithm: "RS384", Use: "sig"}}}})
	store.Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs", JWKSURL: jwksServer.URL})
	return env, &fetches
}

// assertion signs client-assertion claims; edit may change them first.
func (env *testEnv) assertion(t testing.TB, clientID string, key any, alg jose.SignatureAlgorithm, kid string, edit func(map[string]any)) string {
	t.Helper()
	now := env.clock.Now()
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": env.cfg.Issuer + "/auth/token",
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": randomID(t),
	}
	if edit != nil {
		edit(claims)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomID(t testing.TB) string {
	id, err := randomToken()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (env *testEnv) clientCredentials(t *testing.T, assertion, scope string) (*http.Response, map[string]any) {
	t.Helper()
	return env.tokenCall(t, "/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion},
	}, "", "")
}

func TestBackendServices_RS384AndES384Assertions_GetSystemTokens(t *testing.T) {
	env, fetches := backendEnv(t)
	cases := []struct {
		client string
		key    any
		alg    jose.SignatureAlgorithm
		kid    string
	}{
		{backendRS, testRSAKeys()[1], jose.RS384, "rs-1"},
		{backendES, testECKey(), jose.ES384, "es-1"},
	}
	for _, c := range cases {
		t.Run(string(c.alg), func(t *testing.T) {
			resp, body := env.clientCredentials(t, env.assertion(t, c.client, c.key, c.alg, c.kid, nil), "system/Observation.rs")
			if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if body["refresh_token"] != nil || body["id_token"] != nil || body["need_patient_banner"] != nil {
				t.Errorf("backend token response carries user-launch fields: %v", body)
			}
			r, decision := env.readResource(t, "Observation", body["access_token"].(string))
			if r.StatusCode != http.StatusOK || decision["level"] != "system" || decision["client_id"] != c.client {
				t.Fatalf("gateway decision: %d %v", r.StatusCode, decision)
			}
		})
	}
	// A second ES384 request uses the cached JWKS.
	env.clientCredentials(t, env.assertion(t, backendES, testECKey(), jose.ES384, "es-1", nil), "system/Observation.rs")
	if n := fetches.Load(); n != 1 {
		t.Errorf("jwks_url fetched %d times, want 1 (cached)", n)
	}
}

func TestBackendServices_BadAssertions_AreInvalidClient(t *testing.T) {
	env, _ := backendEnv(t)
	rsKey := testRSAKeys()[1]
	sign := func(edit func(map[string]any)) string {
		return env.assertion(t, backendRS, rsKey, jose.RS384, "rs-1", edit)
	}
	replayed := sign(nil)
	if resp, body := env.clientCredentials(t, replayed, "system/*.rs"); resp.StatusCode != 200 {
		t.Fatalf("first use: %d %v", resp.StatusCode, body)
	}
	tests := []struct {
		name      string
		assertion string
	}{
		{"jti replay", replayed},
		{"aud wrong", sign(func(c map[string]any) { c["aud"] = env.cfg.FHIRBase })},
		{"exp more than 5 minutes ahead", sign(func(c map[string]any) { c["exp"] = env.clock.Now().Add(10 * time.Minute).Unix() })},
		{"expired", sign(func(c map[string]any) { c["exp"] = env.clock.Now().Add(-time.Second).Unix() })},
		{"no exp", sign(func(c map[string]any) { delete(c, "exp") })},
		{"no jti", sign(func(c map[string]any) { delete(c, "jti") })},
		{"iss differs from sub", sign(func(c map[string]any) { c["sub"] = "someone-else" })},
		{"iat in the future", sign(func(c map[string]any) { c["iat"] = env.clock.Now().Add(time.Hour).Unix() })},
		{"unknown client", sign(func(c map[string]any) { c["iss"], c["sub"] = "nope", "nope" })},
		{"unknown kid", env.assertion(t, backendRS, rsKey, jose.RS384, "rs-unknown", nil)},
		{"no kid", env.assertion(t, backendRS, rsKey, jose.RS384, "", nil)},
		{"signed by another key", env.assertion(t, backendRS, testRSAKeys()[2], jose.RS384, "rs-1", nil)},
		{"RS256 instead of RS384", env.assertion(t, backendRS, rsKey, jose.RS256, "rs-1", nil)},
		{"HS256", env.assertion(t, backendRS, []byte(strings.Repeat("k", 48)), jose.HS256, "rs-1", nil)},
		{"alg none", unsignedAssertion(t, backendRS, env.cfg.Issuer+"/auth/token")},
		{"ES384 key under the RS384 client", env.assertion(t, backendRS, testECKey(), jose.ES384, "rs-1", nil)},
		{"not a JWT", "garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.clientCredentials(t, tt.assertion, "system/*.rs")
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
	}
	t.Run("wrong assertion type", func(t *testing.T) {
		resp, body := env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
			"client_assertion_type": {"urn:other"}, "client_assertion": {sign(nil)}}, "", "")
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
}

func TestBackendServices_ScopeAndClientTypeRules(t *testing.T) {
	env, _ := backendEnv(t)
	rs := func() string { return env.assertion(t, backendRS, testRSAKeys()[1], jose.RS384, "rs-1", nil) }
	resp, body := env.clientCredentials(t, rs(), "user/*.rs")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	resp, body = env.clientCredentials(t, rs(), "system/Observation.cruds")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	resp, body = env.clientCredentials(t, rs(), "")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	resp, body = env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, symmetricID, symmetricPW)
	wantOAuthError(t, resp, body, 400, "unauthorized_client")
	resp, body = env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}, "client_id": {publicID}}, "", "")
	wantOAuthError(t, resp, body, 400, "unauthorized_client")
}

// unsignedAssertion builds an alg "none" JWT, which no library will sign.
func unsignedAssertion(t testing.TB, clientID, aud string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": "rs-1"}) + "." + enc(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "exp": time.Now().Add(time.Minute).Unix(), "jti": randomID(t),
	}) + "."
}

func FuzzClientAssertion(f *testing.F) {
	env, _ := backendEnv(f)
	f.Add("garbage")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add(unsignedAssertion(f, backendRS, env.cfg.Issuer+"/auth/token"))
	f.Fuzz(func(t *testing.T, assertion string) {
		c, err := env.srv.verifyClientAssertion(t.Context(), assertion, "")
		if err == nil {
			t.Fatalf("fuzzed assertion accepted for %s", c.ID)
		}
		if e := asError(err); e.Code != ErrInvalidClient.Code {
			t.Fatalf("error %v is not invalid_client", err)
		}
	})
}

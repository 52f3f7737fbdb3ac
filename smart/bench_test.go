package smart

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// benchTokens posts each form to the token endpoint straight into the
// handler (no network) from parallel goroutines and reports tokens/s.
func benchTokens(b *testing.B, h http.Handler, forms []url.Values) {
	b.Helper()
	b.ReportAllocs()
	next := make(chan url.Values, len(forms))
	for _, f := range forms {
		next <- f
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			form := <-next
			req := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("token: %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}

// BenchmarkToken_ClientCredentialsES384 measures backend-services token
// issuance: verifying an ES384 client assertion (JWKS inline), recording
// its jti, and issuing a signed access token. Assertions are signed before
// the timer starts; that is the client's work.
func BenchmarkToken_ClientCredentialsES384(b *testing.B) {
	env := newTestEnv(b, nil)
	env.srv.clients.(*MemoryClients).Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs",
		JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}})
	forms := make([]url.Values, b.N)
	for i := range forms {
		forms[i] = url.Values{
			"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {env.assertion(b, backendES, testECKey(), jose.ES384, "es-1", nil)},
		}
	}
	benchTokens(b, env.srv.Handler(), forms)
}

// BenchmarkToken_AuthorizationCode measures redeeming authorization codes
// (PKCE check, single use, access and refresh token) for a public client,
// with and without openid: the RS256 id_token costs most of the exchange.
// Codes are made before the timer starts.
func BenchmarkToken_AuthorizationCode(b *testing.B) {
	for _, c := range []struct{ name, scope string }{
		{"with_id_token", simpleRequest},
		{"access_only", "offline_access user/*.rs"},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := newTestEnv(b, skipAll)
			forms := make([]url.Values, b.N)
			for i := range forms {
				forms[i] = url.Values{
					"grant_type": {"authorization_code"}, "code": {env.codeFor(b, env.authorizeParams(c.scope))},
					"redirect_uri": {testRedirect}, "client_id": {publicID}, "code_verifier": {testVerifier},
				}
			}
			benchTokens(b, env.srv.Handler(), forms)
		})
	}
}

// BenchmarkAuthenticateToken measures the check of a bearer token on a
// resource request: on its first use (ES256 signature, claims, scopes) and
// when remembered; both look up its record for revocation.
func BenchmarkAuthenticateToken(b *testing.B) {
	env := newTestEnv(b, skipAll)
	issue := func() string {
		rec := httptest.NewRecorder()
		form := url.Values{
			"grant_type": {"authorization_code"}, "code": {env.codeFor(b, env.authorizeParams("offline_access user/*.rs"))},
			"redirect_uri": {testRedirect}, "client_id": {publicID}, "code_verifier": {testVerifier},
		}
		req := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		env.srv.Handler().ServeHTTP(rec, req)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.AccessToken == "" {
			b.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
		return body.AccessToken
	}
	ctx := context.Background()
	b.Run("first_use", func(b *testing.B) {
		tokens := make([]string, b.N)
		for i := range tokens {
			tokens[i] = issue()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := env.srv.AuthenticateToken(ctx, tokens[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		tok := issue()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := env.srv.AuthenticateToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// discard is an Observer that keeps nothing, so that the benchmark below
// measures what observing costs the server, not what keeping costs.
type discard struct{}

func (discard) Observe(context.Context, Event) {}

// BenchmarkToken_Observed measures what gathering evidence costs the
// token endpoint (target: at most 5 %): the same requests with and without
// an Observer, for a backend service's client assertion (which the
// evidence reads a second time) and for a public client's code.
func BenchmarkToken_Observed(b *testing.B) {
	for _, observe := range []bool{false, true} {
		name := "unobserved"
		if observe {
			name = "observed"
		}
		b.Run("client_credentials/"+name, func(b *testing.B) {
			env := newTestEnv(b, nil)
			if observe {
				env.srv.observer = discard{}
			}
			env.srv.clients.(*MemoryClients).Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs",
				JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}})
			forms := make([]url.Values, b.N)
			for i := range forms {
				forms[i] = url.Values{
					"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {env.assertion(b, backendES, testECKey(), jose.ES384, "es-1", nil)},
				}
			}
			benchTokens(b, env.srv.Handler(), forms)
		})
		b.Run("authorization_code/"+name, func(b *testing.B) {
			env := newTestEnv(b, skipAll)
			forms := make([]url.Values, b.N)
			for i := range forms {
				forms[i] = url.Values{
					"grant_type": {"authorization_code"}, "code": {env.codeFor(b, env.authorizeParams("offline_access user/*.rs"))},
					"redirect_uri": {testRedirect}, "client_id": {publicID}, "code_verifier": {testVerifier},
				}
			}
			if observe {
				env.srv.observer = discard{}
			}
			benchTokens(b, env.srv.Handler(), forms)
		})
	}
}

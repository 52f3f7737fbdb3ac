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

// BenchmarkToken_ObserverOverhead measures what gathering evidence costs
// the token endpoint (target: at most 5 %): two servers, one with an
// Observer and one without, answer the same kinds of request in
// alternating rounds, so that both see the same machine. "ratio" is the
// observed server's throughput over the other's. A backend service's
// client assertion is the costly case: the evidence reads it a second
// time; a public client's code is the common one.
func BenchmarkToken_ObserverOverhead(b *testing.B) {
	for _, kind := range []string{"client_credentials", "authorization_code"} {
		b.Run(kind, func(b *testing.B) {
			envs := map[bool]*testEnv{}
			for _, observe := range []bool{false, true} {
				adjust := skipAll
				env := newTestEnv(b, adjust)
				if observe {
					env.srv.observer = discard{}
				}
				env.srv.clients.(*MemoryClients).Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs",
					JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}})
				envs[observe] = env
			}
			form := func(env *testEnv) url.Values {
				if kind == "client_credentials" {
					return url.Values{
						"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
						"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
						"client_assertion":      {env.assertion(b, backendES, testECKey(), jose.ES384, "es-1", nil)},
					}
				}
				return url.Values{
					"grant_type": {"authorization_code"}, "code": {env.codeFor(b, env.authorizeParams("offline_access user/*.rs"))},
					"redirect_uri": {testRedirect}, "client_id": {publicID}, "code_verifier": {testVerifier},
				}
			}
			const rounds = 6
			n := max(b.N/rounds, 200)
			took := map[bool]time.Duration{}
			b.ResetTimer()
			for r := range rounds {
				for _, observe := range []bool{r%2 == 0, r%2 != 0} {
					env := envs[observe]
					b.StopTimer()
					bodies := make([]string, n)
					for i := range bodies {
						bodies[i] = form(env).Encode()
					}
					h := env.srv.Handler()
					b.StartTimer()
					start := time.Now()
					for _, body := range bodies {
						req := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("token: %d %s", rec.Code, rec.Body)
						}
					}
					took[observe] += time.Since(start)
				}
			}
			b.ReportMetric(float64(took[true])/float64(rounds*n), "observed-ns/token")
			b.ReportMetric(float64(took[false])/float64(rounds*n), "unobserved-ns/token")
			b.ReportMetric(float64(took[false])/float64(took[true]), "ratio")
		})
	}
}

// BenchmarkObserve_TokenFacts measures the evidence's own work on one
// token request, apart from the request: reading the facts of the form
// (for an assertion, parsing it a second time) and handing them to the
// Observer. Set beside BenchmarkToken_ObserverOverhead's time per token,
// it gives the overhead without that benchmark's noise.
func BenchmarkObserve_TokenFacts(b *testing.B) {
	env := newTestEnv(b, nil)
	env.srv.observer = discard{}
	env.srv.clients.(*MemoryClients).Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs"})
	forms := map[string]url.Values{
		"client_credentials": {
			"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {env.assertion(b, backendES, testECKey(), jose.ES384, "es-1", nil)},
		},
		"authorization_code": {
			"grant_type": {"authorization_code"}, "code": {"c0de"}, "redirect_uri": {testRedirect},
			"client_id": {publicID}, "code_verifier": {testVerifier},
		},
	}
	for name, form := range forms {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/auth/token", nil)
			ctx, now := context.Background(), time.Now()
			b.ReportAllocs()
			for b.Loop() {
				ev := env.srv.newEvent(EndpointToken)
				ev.fromTokenForm(req, form, now)
				env.srv.lookupSandbox(ctx, ev)
				ev.Granted = "system/*.rs"
				env.srv.observe(ctx, ev, nil)
			}
		})
	}
}

package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	helseIDClient = "helseid-backend"
	dpopClient    = "dpop-backend"
	jftScope      = "nhn:jft/api"
)

// dpopKey is a client's DPoP key pair.
type dpopKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newDPoPKey(t testing.TB) *dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{priv: k, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// proof signs a DPoP proof; edit may change its claims first.
func (k *dpopKey) proof(t testing.TB, now time.Time, method, htu, nonce, token string, edit func(map[string]any)) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": now.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(claims)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dpopEnv(t testing.TB) *testEnv {
	t.Helper()
	env := newTestEnv(t, nil)
	jwks := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}
	store := env.srv.clients.(*MemoryClients)
	store.Put(&Client{ID: helseIDClient, Sandbox: testSandbox, Type: ConfidentialAsymmetric, HelseID: true,
		Scopes: "system/*.rs nhn:jft/api nhn:vkp/api/user/Observation.write", JWKS: jwks,
		Claims: map[string]string{"vkp-id": "Acme_Care_5001"}})
	store.Put(&Client{ID: dpopClient, Sandbox: testSandbox, Type: ConfidentialAsymmetric, DPoPBound: true,
		Scopes: "system/*.rs", JWKS: jwks})
	store.Put(&Client{ID: backendES, Sandbox: testSandbox, Type: ConfidentialAsymmetric, Scopes: "system/*.rs", JWKS: jwks})
	return env
}

// dpopToken asks for a token with a DPoP proof: without a nonce first when
// nonce is "", following one use_dpop_nonce challenge.
func (env *testEnv) dpopToken(t *testing.T, k *dpopKey, clientID, scope string, edit func(map[string]any)) (*http.Response, map[string]any) {
	t.Helper()
	nonce := ""
	for range 2 {
		form := url.Values{
			"grant_type": {"client_credentials"}, "scope": {scope},
			"client_assertion_type": {jwtBearerAssertion},
			"client_assertion":      {env.assertion(t, clientID, testECKey(), jose.ES384, "es-1", edit)},
		}
		req, _ := http.NewRequest(http.MethodPost, env.cfg.Issuer+"/auth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", k.proof(t, env.clock.Now(), http.MethodPost, env.cfg.Issuer+"/auth/token", nonce, "", nil))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body["error"] == "use_dpop_nonce" && nonce == "" {
			nonce = resp.Header.Get("DPoP-Nonce")
			continue
		}
		return resp, body
	}
	t.Fatal("the server demanded a nonce twice")
	return nil, nil
}

func accessClaimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestDPoP_HelseIDClient_NonceChallengeThenBoundTokenWithClaims(t *testing.T) {
	env := dpopEnv(t)
	k := newDPoPKey(t)
	resp, body := env.dpopToken(t, k, helseIDClient, jftScope+" system/Patient.rs", func(c map[string]any) {
		c["exp"] = env.clock.Now().Add(50 * time.Second).Unix()
	})
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	if n, _ := env.srv.DPoPNonce(t.Context()); resp.Header.Get("DPoP-Nonce") != n {
		t.Errorf("DPoP-Nonce %q on the token response, want the current nonce", resp.Header.Get("DPoP-Nonce"))
	}
	if body["scope"] != "system/Patient.rs nhn:jft/api" {
		t.Errorf("scope %q", body["scope"])
	}
	at := body["access_token"].(string)
	claims := accessClaimsOf(t, at)
	if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != k.jkt {
		t.Errorf("cnf %v, want jkt %s", claims["cnf"], k.jkt)
	}
	if claims["vkp-id"] != "Acme_Care_5001" {
		t.Errorf("vkp-id %v", claims["vkp-id"])
	}
	g, err := env.srv.AuthenticateToken(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	if g.DPoPKey != k.jkt || g.Claims["vkp-id"] != "Acme_Care_5001" || !strings.Contains(strings.Join(g.Scope, " "), jftScope) {
		t.Errorf("grant %+v", g)
	}
	if in := env.srv.introspectToken(t.Context(), at); in.TokenType != "DPoP" || in.Cnf.jkt() != k.jkt {
		t.Errorf("introspection %+v: want token_type DPoP and cnf.jkt", in)
	}
}

func TestDPoP_TokenEndpointRefusals(t *testing.T) {
	env := dpopEnv(t)
	k := newDPoPKey(t)
	tokenURL := env.cfg.Issuer + "/auth/token"
	post := func(clientID, scope, proof string, edit func(map[string]any)) (*http.Response, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
			"client_assertion_type": {jwtBearerAssertion},
			"client_assertion":      {env.assertion(t, clientID, testECKey(), jose.ES384, "es-1", edit)}}
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	now := env.clock.Now()
	nonce, err := env.srv.DPoPNonce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	short := func(c map[string]any) { c["exp"] = now.Add(30 * time.Second).Unix() }
	cases := []struct {
		name, client, scope, proof string
		edit                       func(map[string]any)
		status                     int
		code                       string
	}{
		{"HelseID_NoProof", helseIDClient, jftScope, "", short, 400, "invalid_dpop_proof"},
		{"HelseID_NoNonce", helseIDClient, jftScope, k.proof(t, now, "POST", tokenURL, "", "", nil), short, 400, "use_dpop_nonce"},
		{"HelseID_WrongNonce", helseIDClient, jftScope, k.proof(t, now, "POST", tokenURL, "bogus", "", nil), short, 400, "use_dpop_nonce"},
		{"HelseID_AssertionLivesOver60s", helseIDClient, jftScope, k.proof(t, now, "POST", tokenURL, nonce, "", nil), nil, 401, "invalid_client"},
		{"HelseID_AssertionWithoutIAT", helseIDClient, jftScope, k.proof(t, now, "POST", tokenURL, nonce, "", nil), func(c map[string]any) {
			delete(c, "iat")
			c["exp"] = now.Add(30 * time.Second).Unix()
		}, 401, "invalid_client"},
		{"HelseID_AssertionIATLongBeforeEXP", helseIDClient, jftScope, k.proof(t, now, "POST", tokenURL, nonce, "", nil), func(c map[string]any) {
			c["iat"] = now.Add(-2 * time.Minute).Unix()
			c["exp"] = now.Add(30 * time.Second).Unix()
		}, 401, "invalid_client"},
		{"HelseID_UnregisteredNHNScope", helseIDClient, "nhn:vkp/api/user/Patient.read", k.proof(t, now, "POST", tokenURL, nonce, "", nil), short, 400, "invalid_scope"},
		{"SMARTClient_NHNScope", backendES, jftScope, "", nil, 400, "invalid_scope"},
		{"Proof_WrongHTU", dpopClient, "system/*.rs", k.proof(t, now, "POST", env.cfg.Issuer+"/auth/other", nonce, "", nil), nil, 400, "invalid_dpop_proof"},
		{"Proof_WrongHTM", dpopClient, "system/*.rs", k.proof(t, now, "GET", tokenURL, nonce, "", nil), nil, 400, "invalid_dpop_proof"},
		{"Proof_Old", dpopClient, "system/*.rs", k.proof(t, now.Add(-5*time.Minute), "POST", tokenURL, nonce, "", nil), nil, 400, "invalid_dpop_proof"},
		{"Proof_NotAJWT", dpopClient, "system/*.rs", "not-a-proof", nil, 400, "invalid_dpop_proof"},
		{"DPoPBound_NoProof", dpopClient, "system/*.rs", "", nil, 400, "invalid_dpop_proof"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(tt.client, tt.scope, tt.proof, tt.edit)
			if resp.StatusCode != tt.status || body["error"] != tt.code {
				t.Fatalf("%d %v; want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if tt.code == "use_dpop_nonce" && resp.Header.Get("DPoP-Nonce") != nonce {
				t.Errorf("DPoP-Nonce %q, want the current nonce", resp.Header.Get("DPoP-Nonce"))
			}
		})
	}
	t.Run("Proof_Replayed", func(t *testing.T) {
		p := k.proof(t, now, "POST", tokenURL, nonce, "", nil)
		if resp, body := post(dpopClient, "system/*.rs", p, nil); resp.StatusCode != 200 {
			t.Fatalf("first use: %d %v", resp.StatusCode, body)
		}
		if resp, body := post(dpopClient, "system/*.rs", p, nil); resp.StatusCode != 400 || body["error"] != "invalid_dpop_proof" {
			t.Fatalf("second use: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("SMARTClient_Unaffected", func(t *testing.T) {
		resp, body := post(backendES, "system/*.rs", "", nil)
		if resp.StatusCode != 200 || body["token_type"] != "Bearer" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})
}

func TestDPoP_Resource_ProofChecks(t *testing.T) {
	env := dpopEnv(t)
	k := newDPoPKey(t)
	_, body := env.dpopToken(t, k, dpopClient, "system/*.rs", nil)
	at, _ := body["access_token"].(string)
	if at == "" {
		t.Fatalf("no token: %v", body)
	}
	resURL := env.cfg.FHIRBase + "/Patient"
	call := func(scheme, proof string) (*http.Response, *Error) {
		req, _ := http.NewRequest(http.MethodGet, resURL+"?name=x", nil)
		req.Host = strings.TrimPrefix(env.cfg.Issuer, "http://")
		req.Header.Set("Authorization", scheme+" "+at)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		_, err := env.srv.AuthenticateAt(req, resURL)
		if err == nil {
			return nil, nil
		}
		return nil, asError(err)
	}
	now := env.clock.Now()
	nonce, _ := env.srv.DPoPNonce(t.Context())
	other := newDPoPKey(t)
	good := k.proof(t, now, "GET", resURL, nonce, at, nil)
	if _, e := call("DPoP", good); e != nil {
		t.Fatalf("a good proof: %v", e)
	}
	cases := []struct {
		name, scheme, proof, code string
	}{
		{"Replayed", "DPoP", good, "invalid_dpop_proof"},
		{"AsBearer", "Bearer", "", "invalid_token"},
		{"NoProof", "DPoP", "", "invalid_dpop_proof"},
		{"WrongHTU", "DPoP", k.proof(t, now, "GET", env.cfg.FHIRBase+"/Observation", nonce, at, nil), "invalid_dpop_proof"},
		{"WrongHTM", "DPoP", k.proof(t, now, "POST", resURL, nonce, at, nil), "invalid_dpop_proof"},
		{"WrongATH", "DPoP", k.proof(t, now, "GET", resURL, nonce, at+"x", nil), "invalid_dpop_proof"},
		{"NoATH", "DPoP", k.proof(t, now, "GET", resURL, nonce, "", nil), "invalid_dpop_proof"},
		{"OtherKey", "DPoP", other.proof(t, now, "GET", resURL, nonce, at, nil), "invalid_dpop_proof"},
		{"NoNonce", "DPoP", k.proof(t, now, "GET", resURL, "", at, nil), "use_dpop_nonce"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, e := call(tt.scheme, tt.proof)
			if e == nil || e.Code != tt.code || e.Status != http.StatusUnauthorized {
				t.Fatalf("got %v; want 401 %s", e, tt.code)
			}
			if tt.scheme == "DPoP" && !strings.HasPrefix(e.WWWAuthenticate(), "DPoP ") {
				t.Errorf("challenge %q, want the DPoP scheme", e.WWWAuthenticate())
			}
			if tt.code == "use_dpop_nonce" && e.DPoPNonce != nonce {
				t.Errorf("nonce %q, want %q", e.DPoPNonce, nonce)
			}
		})
	}
	t.Run("StaleNonce_PreviousAcceptedForAGrace", func(t *testing.T) {
		env.clock.Advance(dpopNonceRotation)
		now := env.clock.Now()
		if _, e := call("DPoP", k.proof(t, now, "GET", resURL, nonce, at, nil)); e != nil {
			t.Fatalf("the previous nonce within its grace: %v", e)
		}
		env.clock.Advance(dpopNonceRotation)
		now = env.clock.Now()
		_, e := call("DPoP", k.proof(t, now, "GET", resURL, nonce, at, nil))
		if e == nil || e.Code != "use_dpop_nonce" || e.DPoPNonce == "" || e.DPoPNonce == nonce {
			t.Fatalf("a stale nonce: %v", e)
		}
	})
}

func TestDPoP_HTUNormalisation(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		same      bool
	}{
		{"https://EX.org:443/a/b", "https://ex.org/a/b", true},
		{"http://ex.org:80/a", "http://ex.org/a", true},
		{"http://ex.org/a?x=1", "http://ex.org/a", true},
		{"http://ex.org/a#f", "http://ex.org/a", true},
		{"http://ex.org/a/", "http://ex.org/a", false},
		{"https://ex.org/a", "http://ex.org/a", false},
		{"/a", "http://ex.org/a", false},
		{"http://ex.org:8080/a", "http://ex.org/a", false},
	} {
		if got := sameHTU(tt.got, tt.want); got != tt.same {
			t.Errorf("sameHTU(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.same)
		}
	}
}

func TestDPoP_Discovery_ListsAlgs(t *testing.T) {
	env := newTestEnv(t, nil)
	resp := env.get(t, "/.well-known/openid-configuration", nil)
	var d map[string]any
	decodeJSON(t, resp, &d)
	algs, _ := d["dpop_signing_alg_values_supported"].([]any)
	if len(algs) == 0 || algs[0] != "ES256" {
		t.Fatalf("dpop_signing_alg_values_supported %v", d["dpop_signing_alg_values_supported"])
	}
}

func FuzzDPoPProof(f *testing.F) {
	k := newDPoPKey(f)
	now := time.Now()
	f.Add(k.proof(f, now, "POST", "https://ex.org/token", "n", "", nil))
	f.Add(k.proof(f, now, "GET", "https://ex.org/r", "", "tok", func(c map[string]any) { c["iat"] = "x" }))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := parseDPoPProof(proof)
		if err == nil && (p.JKT == "" || p.JTI == "" || p.HTM == "" || p.HTU == "") {
			t.Fatalf("accepted a proof without its parts: %+v", p)
		}
		if err != nil && asError(err).Code != ErrInvalidDPoPProof.Code {
			t.Fatalf("error %v is not invalid_dpop_proof", err)
		}
	})
}

// BenchmarkAuthenticateAt_DPoP is the resource server's share of a DPoP
// request: the bound token (cached after its first check) and a fresh
// proof verified, its jti recorded.
func BenchmarkAuthenticateAt_DPoP(b *testing.B) {
	env := dpopEnv(b)
	k := newDPoPKey(b)
	tokenURL := env.cfg.Issuer + "/auth/token"
	nonce, _ := env.srv.DPoPNonce(context.Background())
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
		"client_assertion_type": {jwtBearerAssertion},
		"client_assertion":      {env.assertion(b, dpopClient, testECKey(), jose.ES384, "es-1", nil)}}
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", k.proof(b, env.clock.Now(), http.MethodPost, tokenURL, nonce, "", nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	at, _ := body["access_token"].(string)
	if at == "" {
		b.Fatalf("no token: %v", body)
	}
	resURL := env.cfg.FHIRBase + "/Composition"
	proofs := make([]string, b.N)
	for i := range proofs {
		proofs[i] = k.proof(b, env.clock.Now(), http.MethodPost, resURL, nonce, at, nil)
	}
	r, _ := http.NewRequest(http.MethodPost, resURL, nil)
	r.Header.Set("Authorization", "DPoP "+at)
	b.ResetTimer()
	for i := range b.N {
		r.Header.Set("DPoP", proofs[i])
		if _, err := env.srv.AuthenticateAt(r, resURL); err != nil {
			b.Fatal(err)
		}
	}
}

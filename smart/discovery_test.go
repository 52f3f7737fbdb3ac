package smart

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testRSAKeys are generated once: RSA generation is slow under -race.
var testRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

func newTestKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := NewKeysFrom(testRSAKeys()[0])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func getJSON(t *testing.T, url string, into any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
	return resp
}

func TestDiscovery_SMARTConfigurationAtFHIRBase_AdvertisesEndpointsAndCapabilities(t *testing.T) {
	env := newTestEnv(t, nil)
	var doc map[string]any
	resp := getJSON(t, env.cfg.FHIRBase+"/.well-known/smart-configuration", &doc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := map[string]string{
		"issuer":                 env.cfg.Issuer,
		"authorization_endpoint": env.cfg.Issuer + "/auth/authorize",
		"token_endpoint":         env.cfg.Issuer + "/auth/token",
		"introspection_endpoint": env.cfg.Issuer + "/auth/introspect",
		"revocation_endpoint":    env.cfg.Issuer + "/auth/revoke",
		"jwks_uri":               env.cfg.Issuer + "/auth/jwks",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	if _, ok := doc["registration_endpoint"]; ok {
		t.Error("registration_endpoint advertised before registration exists")
	}
	lists := map[string][]string{
		"code_challenge_methods_supported":                 {"S256"},
		"response_types_supported":                         {"code"},
		"grant_types_supported":                            {"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_signing_alg_values_supported": {"RS384", "ES384"},
		"token_endpoint_auth_methods_supported":            {"private_key_jwt", "client_secret_basic", "client_secret_post", "none"},
		"capabilities": {"launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
			"client-confidential-asymmetric", "context-passthrough-banner", "context-passthrough-style",
			"context-ehr-patient", "context-ehr-encounter", "context-standalone-patient",
			"context-standalone-encounter", "permission-offline", "permission-patient", "permission-user",
			"permission-v1", "permission-v2", "sso-openid-connect", "authorize-post"},
	}
	for k, wantItems := range lists {
		got := stringList(doc[k])
		for _, item := range wantItems {
			if !slices.Contains(got, item) {
				t.Errorf("%s lacks %q (has %v)", k, item, got)
			}
		}
	}
	if got := stringList(doc["code_challenge_methods_supported"]); len(got) != 1 {
		t.Errorf("code_challenge_methods_supported = %v, want only S256", got)
	}
}

func TestDiscovery_OpenIDConfigurationAtIssuer_NamesRS256AndJWKS(t *testing.T) {
	env := newTestEnv(t, nil)
	var doc map[string]any
	getJSON(t, env.cfg.Issuer+"/.well-known/openid-configuration", &doc)
	if doc["issuer"] != env.cfg.Issuer || doc["jwks_uri"] != env.cfg.Issuer+"/auth/jwks" {
		t.Errorf("issuer/jwks_uri = %v/%v", doc["issuer"], doc["jwks_uri"])
	}
	if got := stringList(doc["id_token_signing_alg_values_supported"]); !slices.Equal(got, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v", got)
	}
}

func TestKeys_AfterRotate_PreviousKeyStillVerifiesAndJWKSListsBoth(t *testing.T) {
	keys := newTestKeys(t)
	old, err := keys.sign(map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.rotateTo(testRSAKeys()[1]); err != nil {
		t.Fatal(err)
	}
	jwks := keys.JWKS()
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kids[k.KeyID] = true
	}
	if len(jwks.Keys) != 4 || len(kids) != 4 || kids[""] {
		t.Fatalf("JWKS after rotation (RSA and P-256 of two generations): %+v", jwks.Keys)
	}
	for i, k := range jwks.Keys {
		want := []string{"RS256", "ES256"}[i%2]
		if !k.IsPublic() || k.Algorithm != want || k.Use != "sig" {
			t.Errorf("published key %s: public=%v alg=%s use=%s, want %s", k.KeyID, k.IsPublic(), k.Algorithm, k.Use, want)
		}
	}
	var got map[string]any
	if err := keys.verify(old, &got); err != nil || got["n"] != float64(1) {
		t.Fatalf("token of previous key: %v %v", err, got)
	}
	if err := keys.rotateTo(testRSAKeys()[2]); err != nil {
		t.Fatal(err)
	}
	if err := keys.verify(old, &got); err == nil {
		t.Fatal("token of a key rotated out twice still verifies")
	}
}

func stringList(v any) []string {
	var out []string
	items, _ := v.([]any)
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	return out
}

// testEnv is a server on a loopback httptest.Server.
type testEnv struct {
	clock *testClock
	srv   *Server
	hs    *httptest.Server
	cfg   Config
}

// newTestEnv starts a server; adjust may change the config before start.
func newTestEnv(t testing.TB, adjust func(*Config, *Deps)) *testEnv {
	t.Helper()
	env := &testEnv{}
	var h http.Handler
	env.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(env.hs.Close)
	cfg := Config{Issuer: env.hs.URL}
	env.clock = &testClock{t: time.Now()}
	deps := Deps{Keys: newTestKeys(t), Clients: testClients(t), Patients: testDirectory{}, Now: env.clock.Now}
	if adjust != nil {
		adjust(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	env.srv, env.cfg = srv, srv.Config()
	outer := http.NewServeMux()
	outer.Handle("/", srv.Handler())
	outer.HandleFunc("GET /fhir/{type}", env.resource)
	h = outer
	return env
}

func TestKeys_AccessTokensES256IDTokensRS256_AccessKeyDerivedFromTheRSAKey(t *testing.T) {
	a, b := newTestKeys(t), newTestKeys(t)
	if a.JWKS().Keys[1].KeyID != b.JWKS().Keys[1].KeyID {
		t.Error("two key sets from one RSA key derive different access-token keys")
	}
	at, err := a.signAccess(map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.sign(map[string]any{"n": 2})
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{at: "ES256", id: "RS256"} {
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
		if err != nil || parsed.Headers[0].Algorithm != want {
			t.Errorf("alg %v, want %s (%v)", parsed.Headers, want, err)
		}
		var got map[string]any
		if err := b.verify(tok, &got); err != nil {
			t.Errorf("a %s token does not verify with the same RSA key elsewhere: %v", want, err)
		}
	}
}

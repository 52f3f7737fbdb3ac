package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

// seed is the population of the end-to-end tests: two patients, each with
// a vital sign, one with a lab result, and a practitioner to sign in as.
var seed = []string{
	`{"resourceType":"Patient","id":"pat-a","name":[{"use":"official","family":"Nordmann","given":["Kari"]}],"birthDate":"1970-01-01"}`,
	`{"resourceType":"Patient","id":"pat-b","name":[{"family":"Hansen","given":["Ola"]}],"birthDate":"1980-02-02"}`,
	`{"resourceType":"Practitioner","id":"prac-1","name":[{"family":"Lege","given":["Liv"]}]}`,
	obs("obs-a", "pat-a", "vital-signs", "8867-4", 72),
	obs("obs-a-lab", "pat-a", "laboratory", "4548-4", 7),
	obs("obs-b", "pat-b", "vital-signs", "8867-4", 64),
	`{"resourceType":"Encounter","id":"enc-a","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB","display":"ambulatory"},` +
		`"type":[{"text":"Diabetes follow-up"}],"subject":{"reference":"Patient/pat-a"},"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-01T11:00:00Z"}}`,
}

func obs(id, patient, category, loinc string, value float64) string {
	m := map[string]any{
		"resourceType": "Observation", "status": "final",
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}}}},
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": loinc}}},
		"subject":       map[string]any{"reference": "Patient/" + patient},
		"valueQuantity": map[string]any{"value": value, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"},
	}
	if id != "" {
		m["id"] = id
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// testECKey is the backend services' ES384 key.
var testECKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// testKeys is one signing key for all tests (RSA generation is slow).
var testKeys = sync.OnceValue(func() *smart.Keys {
	k, err := smart.NewKeys()
	if err != nil {
		panic(err)
	}
	return k
})

// otherSandbox is a tenant that does not serve /fhir.
const (
	otherSandbox   = "supplier-7"
	otherBackendID = "other-backend"
)

// gatewayEnv is a gateway served on loopback over a seeded SQLite store in
// a temporary directory, with the backend demo client registered from a
// JWKS file and a backend client of another sandbox.
type gatewayEnv struct {
	clock *testClock
	srv   *httptest.Server
	cfg   Config
	store fhirstore.Store
	authz *smart.Server
	// tenants is the gateway's registry of sandboxes and apps.
	tenants *tenant.Service
	gw      *built
}

// testOperator acts on the registry in tests.
var testOperator = &tenant.Account{Username: "test-operator", Role: tenant.RoleOperator}

func intPtr(n int) *int { return &n }

func newGatewayEnv(t testing.TB, secure bool) *gatewayEnv {
	t.Helper()
	return newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure = secure })
}

// newGatewayEnvWith is newGatewayEnv with the configuration and the
// gateway's parts adjusted.
func newGatewayEnvWith(t testing.TB, adjust func(*Config, *parts)) *gatewayEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, raw := range seed {
		r, err := fhirjson.Parse([]byte(raw))
		if err != nil {
			t.Fatalf("seed %s: %v", raw[:40], err)
		}
		if _, _, err := store.Update(ctx, fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	jwksFile := filepath.Join(dir, "backend.jwks")
	pub := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}}
	b, _ := json.Marshal(pub)
	if err := os.WriteFile(jwksFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	env := &gatewayEnv{store: store, clock: &testClock{}}
	// The gateway's issuer is its URL, known once it listens and before it
	// serves.
	env.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(env.srv.Close)
	env.cfg = Defaults()
	env.cfg.DataDir = dir
	env.cfg.PublicURL = "http://" + env.srv.Listener.Addr().String()
	env.cfg.DemoBackendJWKS = jwksFile
	p := parts{
		keys:       testKeys(),
		now:        env.clock.Now,
		bcryptCost: bcrypt.MinCost,
		clients: []*smart.Client{{ID: otherBackendID, Sandbox: otherSandbox, Type: smart.ConfidentialAsymmetric,
			Scopes: "system/*.cruds", JWKS: &pub}},
	}
	p.track = func(c func() error) { t.Cleanup(func() { c() }) }
	adjust(&env.cfg, &p)
	gw, err := build(env.cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)), p)
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Config.Handler, env.authz, env.tenants, env.gw = gw.engine, gw.authz, gw.tenants, gw
	// The other sandbox, which otherBackendID belongs to.
	if _, err := gw.tenants.CreateSandbox(ctx, testOperator, tenant.NewSandbox{ID: otherSandbox, Name: "Other",
		Supplier: "other-supplier", SeedPatients: intPtr(-1)}); err != nil {
		t.Fatal(err)
	}
	env.srv.Start()
	return env
}

func (env *gatewayEnv) fhirBase() string { return env.srv.URL + "/fhir" }

// assertion signs a client assertion for the token endpoint with the
// backend's ES384 key.
func (env *gatewayEnv) assertion(t testing.TB, clientID string) string {
	t.Helper()
	now := env.clock.Now()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: testECKey()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "es-1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": clientID, "sub": clientID, "aud": env.srv.URL + "/auth/token",
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": rand.Text(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// backendToken runs client_credentials for clientID and returns the
// access token.
func (env *gatewayEnv) backendToken(t testing.TB, clientID, scope string) string {
	t.Helper()
	resp, body := env.postForm(t, "/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {env.assertion(t, clientID)},
	})
	tok, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
	}
	return tok
}

func (env *gatewayEnv) postForm(t testing.TB, path string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(env.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// fhir sends a FHIR request with an optional bearer token and returns the
// response and its decoded JSON body.
func (env *gatewayEnv) fhir(t testing.TB, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	return env.fhirAt(t, env.fhirBase(), method, path, token, body)
}

// fhirAt is fhir against the FHIR base base (a supplier sandbox's).
func (env *gatewayEnv) fhirAt(t testing.TB, base, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

// issueCode is the first OperationOutcome issue's code of a body.
func issueCode(body map[string]any) string {
	issues, _ := body["issue"].([]any)
	if len(issues) == 0 {
		return ""
	}
	m, _ := issues[0].(map[string]any)
	s, _ := m["code"].(string)
	return s
}

func diagnostics(body map[string]any) string {
	issues, _ := body["issue"].([]any)
	if len(issues) == 0 {
		return ""
	}
	m, _ := issues[0].(map[string]any)
	s, _ := m["diagnostics"].(string)
	return s
}

// testClock is the real time plus an offset a test can advance.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func decode(t testing.TB, resp *http.Response, into any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("decoding a %d answer: %v", resp.StatusCode, err)
	}
}

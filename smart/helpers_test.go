package smart

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testRedirect   = "http://127.0.0.1:9/callback"
	publicID       = "public-app"
	symmetricID    = "symmetric-app"
	symmetricPW    = "s3cret-for-tests"
	testSandbox    = "sandbox-1"
	testVerifier   = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier"
	userScopes     = "launch launch/patient launch/encounter openid fhirUser offline_access patient/*.rs user/*.cruds"
	defaultRequest = "launch/patient openid fhirUser offline_access patient/Observation.rs"
	// simpleRequest needs no picker, so with skipAll authorize answers with a code.
	simpleRequest = "openid fhirUser offline_access user/*.rs"
)

var testSecretHash = sync.OnceValue(func() []byte {
	h, err := HashSecret(symmetricPW)
	if err != nil {
		panic(err)
	}
	return h
})

func testClients(t testing.TB) *MemoryClients {
	t.Helper()
	return NewMemoryClients(
		&Client{ID: publicID, Name: "Public Test App", Sandbox: testSandbox, Type: Public,
			RedirectURIs: []string{testRedirect}, LaunchURL: "http://127.0.0.1:9/launch", Scopes: userScopes},
		&Client{ID: symmetricID, Sandbox: testSandbox, Type: ConfidentialSymmetric, SecretHash: testSecretHash(),
			RedirectURIs: []string{testRedirect}, Scopes: userScopes + " online_access"},
	)
}

// testDirectory lists a fixed population for the picker and login page.
type testDirectory struct{}

func (testDirectory) ListPatients(ctx context.Context) ([]PatientSummary, error) {
	if SandboxFromContext(ctx) != testSandbox {
		return nil, nil
	}
	return []PatientSummary{{ID: "pat-1", Name: "Kari Nordmann", BirthDate: "1970-01-01"},
		{ID: "pat-2", Name: "Ola Nordmann", BirthDate: "1980-02-02"}}, nil
}

func (testDirectory) ListPractitioners(context.Context) ([]PractitionerSummary, error) {
	return []PractitionerSummary{{ID: "prac-1", Name: "Dr. Lege"}}, nil
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeParams is a valid standalone authorization request.
func (env *testEnv) authorizeParams(scope string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {publicID}, "redirect_uri": {testRedirect},
		"scope": {scope}, "state": {"st-123"}, "aud": {env.cfg.FHIRBase}, "nonce": {"n-1"},
		"code_challenge": {s256(testVerifier)}, "code_challenge_method": {"S256"},
	}
}

// browser does not follow redirects, so tests see where the server sends
// the user.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

func (env *testEnv) get(t testing.TB, path string, q url.Values) *http.Response {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = env.cfg.Issuer + path
	}
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (env *testEnv) postForm(t *testing.T, path string, form url.Values) *http.Response {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = env.cfg.Issuer + path
	}
	resp, err := browser.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// redirectParams returns the query of a redirect to the client, failing
// when the response is not one.
func redirectParams(t testing.TB, resp *http.Response) url.Values {
	t.Helper()
	// Drained and closed, so that the connection is reused: benchmarks
	// authorize thousands of times.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, testRedirect) {
		t.Fatalf("want redirect to client, got %d Location=%q", resp.StatusCode, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func skipAll(c *Config, _ *Deps) { c.SkipLogin, c.SkipConsent = true, true }

// testClock is a settable clock shared by the server and its memory store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// resource plays the gateway: it authenticates the bearer token, asks the
// grant for read permission on the path's type and echoes the decision.
func (env *testEnv) resource(w http.ResponseWriter, r *http.Request) {
	g, err := env.srv.Authenticate(r)
	if err == nil {
		var p Permission
		if p, err = g.Permit(r.PathValue("type"), Read); err == nil {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"level": p.Level, "patient": p.Patient, "sandbox": g.Sandbox, "client_id": g.ClientID,
				"fhirUser": g.FHIRUser, "constraints": len(p.Constraints),
			})
			return
		}
	}
	var e *Error
	if !errors.As(err, &e) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if h := e.WWWAuthenticate(); h != "" {
		w.Header().Set("WWW-Authenticate", h)
	}
	w.WriteHeader(e.Status)
}

// readResource GETs a FHIR path with a bearer token.
func (env *testEnv) readResource(t *testing.T, typ, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.cfg.FHIRBase+"/"+typ, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// tokenCall posts a form to the token (or another) endpoint.
func (env *testEnv) tokenCall(t *testing.T, path string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.cfg.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
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

// codeFor runs an authorization with all pages skipped and returns a code.
func (env *testEnv) codeFor(t testing.TB, q url.Values) string {
	t.Helper()
	got := redirectParams(t, env.get(t, "/auth/authorize", q))
	if got.Get("code") == "" {
		t.Fatalf("no code: %v", got)
	}
	return got.Get("code")
}

// exchange redeems a code for the public client with the test verifier.
func (env *testEnv) exchange(t *testing.T, code string) (*http.Response, map[string]any) {
	t.Helper()
	return env.tokenCall(t, "/auth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"client_id": {publicID}, "code_verifier": {testVerifier},
	}, "", "")
}

func wantOAuthError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if body["error_description"] == nil || body["error_description"] == "" {
		t.Errorf("error without error_description: %v", body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("error without Cache-Control: no-store")
	}
}

func decodeJSON(t *testing.T, resp *http.Response, into any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("decoding %d response: %v", resp.StatusCode, err)
	}
}

func (testDirectory) ListEncounters(_ context.Context, patient string) ([]EncounterSummary, error) {
	if patient != "pat-1" {
		return nil, nil
	}
	return []EncounterSummary{{ID: "enc-1", Description: "Outpatient visit", Period: "2024-03-01"}}, nil
}

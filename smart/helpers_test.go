package smart

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const (
	testRedirect   = "http://127.0.0.1:9/callback"
	publicID       = "public-app"
	symmetricID    = "symmetric-app"
	symmetricPW    = "s3cret-for-tests"
	testSandbox    = "sandbox-1"
	testVerifier   = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier"
	userScopes     = "launch launch/patient openid fhirUser offline_access patient/*.rs user/*.cruds"
	defaultRequest = "launch/patient openid fhirUser offline_access patient/Observation.rs"
)

var testSecretHash = sync.OnceValue(func() []byte {
	h, err := HashSecret(symmetricPW)
	if err != nil {
		panic(err)
	}
	return h
})

func testClients(t *testing.T) *MemoryClients {
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

func (env *testEnv) get(t *testing.T, path string, q url.Values) *http.Response {
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
func redirectParams(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
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

package guides_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestExample_BackendServiceExportsASandbox is the flow of the backend
// services guide (backend-services.md) in Go, against a started sandbox:
// a P-384 key, its public half registered through the admin API, a token
// by client_credentials with an ES384 assertion (x/oauth2's
// clientcredentials, go-jose), a search, and a bulk export.
func TestExample_BackendServiceExportsASandbox(t *testing.T) {
	base := startSandbox(t)
	ctx := context.Background()

	// 1. The key pair; only the public JWK leaves the service.
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	public := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "acme-go-1", Algorithm: string(jose.ES384), Use: "sig"}

	// 2. A supplier's sandbox and the service registered in it (as the
	// operator; a supplier's account does the same for its sandboxes).
	admin(t, base, "POST", "/admin/api/sandboxes", map[string]any{"id": "acme-go", "name": "Acme CI", "supplier": "acme", "seed_patients": 0}, nil)
	var app struct {
		ClientID string `json:"client_id"`
	}
	admin(t, base, "POST", "/admin/api/sandboxes/acme-go/apps", map[string]any{"name": "Acme nightly export",
		"type": "confidential-asymmetric", "scopes": "system/*.rs", "jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}}}, &app)
	fhirBase := base + "/sandboxes/acme-go/fhir"
	var smart struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	getJSON(t, fhirBase+"/.well-known/smart-configuration", "", &smart)

	// 3. A signed assertion per token request (iss = sub = client_id,
	// aud = the token endpoint, exp within five minutes, a fresh jti).
	assertion := func() string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: key, KeyID: public.KeyID}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: app.ClientID, Subject: app.ClientID,
			Audience: jwt.Audience{smart.TokenEndpoint}, Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute)),
			IssuedAt: jwt.NewNumericDate(now), ID: rand.Text()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	signed := assertion()
	cc := clientcredentials.Config{
		ClientID: app.ClientID, TokenURL: smart.TokenEndpoint, Scopes: []string{"system/*.rs"},
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {signed},
		},
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// 4. The FHIR API of the sandbox, with the token.
	var bundle struct {
		Total int `json:"total"`
	}
	getJSON(t, fhirBase+"/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|12875327133", tok.AccessToken, &bundle)
	if bundle.Total != 1 {
		t.Fatalf("Kjell Moen in acme-go: %d found", bundle.Total)
	}

	// 5. Bulk export of the sandbox's patients: kick off, poll, fetch.
	status := kickOff(t, fhirBase+"/Patient/$export?_type=Patient", tok.AccessToken)
	manifest := poll(t, status, tok.AccessToken)
	if len(manifest.Output) != 1 || manifest.Output[0].Type != "Patient" {
		t.Fatalf("manifest: %+v", manifest)
	}
	file := fetch(t, manifest.Output[0].URL, tok.AccessToken)
	lines := 0
	for sc := bufio.NewScanner(bytes.NewReader(file)); sc.Scan(); lines++ {
		var r struct{ ResourceType string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ResourceType != "Patient" {
			t.Fatalf("line %d of the export: %v %q", lines+1, err, r.ResourceType)
		}
	}
	if lines != manifest.Output[0].Count || lines < 10 {
		t.Errorf("the file holds %d patients, the manifest says %d", lines, manifest.Output[0].Count)
	}
	if got := do(t, "DELETE", status, tok.AccessToken); got != http.StatusAccepted {
		t.Errorf("DELETE the status URL: %d", got)
	}

	// What an attacker would try: the token at another sandbox, the
	// assertion again (its jti is spent), no token at all.
	if got := getStatus(t, base+"/fhir/Patient/persona-copd", tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("acme-go's token at the default sandbox: %d, want 401", got)
	}
	if _, err := cc.Token(ctx); err == nil {
		t.Error("a replayed assertion got a token")
	} else if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("a replayed assertion: %v, want invalid_client", err)
	}
	if got := do(t, "GET", fhirBase+"/Patient", ""); got != http.StatusUnauthorized {
		t.Errorf("no token at a secured sandbox: %d, want 401", got)
	}
}

// admin calls the admin API as the operator and decodes the answer.
func admin(t *testing.T, base, method, path string, body, into any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.SetBasicAuth("operator", operatorPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
}

// kickOff starts an export and returns its status URL.
func kickOff(t *testing.T, u, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Prefer", "respond-async")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Content-Location") == "" {
		t.Fatalf("kick-off: %s, Content-Location %q", resp.Status, resp.Header.Get("Content-Location"))
	}
	return resp.Header.Get("Content-Location")
}

type manifest struct {
	Output []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	} `json:"output"`
}

// poll asks for the status until the export is done (a real client waits
// as Retry-After says; the test waits less).
func poll(t *testing.T, status, token string) manifest {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, status, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m manifest
		switch resp.StatusCode {
		case http.StatusAccepted:
			resp.Body.Close()
			time.Sleep(50 * time.Millisecond)
			continue
		case http.StatusOK:
			err := json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		resp.Body.Close()
		t.Fatalf("export status: %s", resp.Status)
	}
	t.Fatal("the export did not finish in 30 s")
	return manifest{}
}

func fetch(t *testing.T, u, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
		t.Errorf("export file Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return b.Bytes()
}

func do(t *testing.T, method, u, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

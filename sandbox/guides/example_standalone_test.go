package guides_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestExample_StandaloneLaunchWithPKCE is the flow of the SMART
// standalone launch guide (smart-standalone.md) in Go, with
// golang.org/x/oauth2 and go-oidc, against a started sandbox. Where a
// person would click through the sandbox's login, patient picker and
// consent pages, the test posts their forms.
func TestExample_StandaloneLaunchWithPKCE(t *testing.T) {
	base := startSandbox(t)
	fhirBase := base + "/fhir"
	ctx := context.Background()

	// 1. Discovery: the SMART configuration below the FHIR base, then the
	// OpenID provider at its issuer (for the id_token's keys).
	var smart struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	getJSON(t, fhirBase+"/.well-known/smart-configuration", "", &smart)
	provider, err := oidc.NewProvider(ctx, smart.Issuer)
	if err != nil {
		t.Fatal(err)
	}

	// 2. The authorization request: PKCE S256, a fresh state and nonce,
	// aud set to the FHIR base. The redirect URI is a loopback one, as
	// the demo client sandbox-demo allows (RFC 8252).
	conf := &oauth2.Config{
		ClientID:    "sandbox-demo",
		RedirectURL: "http://127.0.0.1:8765/callback",
		Scopes:      []string{"launch/patient", "openid", "fhirUser", "patient/Observation.rs", "patient/Patient.rs"},
		Endpoint:    oauth2.Endpoint{AuthURL: smart.AuthorizationEndpoint, TokenURL: smart.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("aud", fhirBase), oidc.Nonce(nonce))

	// 3. The user's browser: login as a GP, pick Kjell Moen, allow.
	callback := browse(t, authURL, map[string]url.Values{
		"/auth/login":          {"user": {"Practitioner/prac-1505-gp-1"}},
		"/auth/select-patient": {"patient": {"persona-copd"}},
		"/auth/consent":        {"decision": {"allow"}},
	})
	if callback.Query().Get("state") != state {
		t.Fatalf("callback state %q, want the one sent", callback.Query().Get("state"))
	}

	// 4. The token request, with the PKCE verifier; the id_token is
	// verified (signature, issuer, audience, expiry) and its nonce checked.
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		FHIRUser string `json:"fhirUser"`
	}
	if err := idt.Claims(&claims); err != nil || idt.Nonce != nonce || !strings.HasSuffix(claims.FHIRUser, "Practitioner/prac-1505-gp-1") {
		t.Fatalf("id_token: nonce %v, fhirUser %q, %v", idt.Nonce == nonce, claims.FHIRUser, err)
	}
	if p, _ := tok.Extra("patient").(string); p != "persona-copd" {
		t.Fatalf("patient in context %q", p)
	}

	// 5. The FHIR API with the access token: the patient's vital signs...
	var bundle struct {
		Total int `json:"total"`
		Entry []struct {
			Resource struct {
				Subject struct{ Reference string } `json:"subject"`
			} `json:"resource"`
		} `json:"entry"`
	}
	getJSON(t, fhirBase+"/Observation?patient=persona-copd&category=vital-signs&_sort=-date&_count=5", tok.AccessToken, &bundle)
	if bundle.Total == 0 || bundle.Entry[0].Resource.Subject.Reference != "Patient/persona-copd" {
		t.Fatalf("vital signs: %+v", bundle)
	}
	// ...but no other patient's, whatever the app asks for.
	if status := getStatus(t, fhirBase+"/Patient/persona-t1d", tok.AccessToken); status != http.StatusForbidden && status != http.StatusNotFound {
		t.Errorf("another patient's record with Kjell Moen's token: %d, want 403 or 404", status)
	}
	getJSON(t, fhirBase+"/Observation?patient=persona-t1d", tok.AccessToken, &bundle)
	if bundle.Total != 0 {
		t.Errorf("another patient's observations with Kjell Moen's token: %d found", bundle.Total)
	}
	// The code is single use.
	if _, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a used code was exchanged again")
	}
}

// browse follows the sandbox's pages from start as a browser does,
// posting forms[path] (with the session) on each page, and returns the
// redirect to the app's callback.
func browse(t *testing.T, start string, forms map[string]url.Values) *url.URL {
	t.Helper()
	client := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(start)
	for i := 0; i < 10; i++ {
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.Contains(loc, "/callback") {
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			if e := u.Query().Get("error"); e != "" {
				t.Fatalf("authorization refused: %s %s", e, u.Query().Get("error_description"))
			}
			return u
		}
		at := resp.Request.URL
		form, ok := forms[at.Path]
		if !ok || resp.StatusCode != http.StatusOK {
			t.Fatalf("the browser is at %s (%d), a page the test does not know", at, resp.StatusCode)
		}
		form.Set("session", at.Query().Get("session"))
		target := *at
		target.RawQuery = ""
		resp, err = client.PostForm(target.String(), form)
	}
	t.Fatal("no callback after 10 pages")
	return nil
}

func getJSON(t *testing.T, u, token string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/fhir+json, application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

func getStatus(t *testing.T, u, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

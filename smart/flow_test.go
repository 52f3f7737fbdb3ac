package smart

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// appConfig is the oauth2 configuration a SMART app builds from discovery.
func (env *testEnv) appConfig(t *testing.T, clientID, secret string, scopes ...string) *oauth2.Config {
	t.Helper()
	var d map[string]any
	getJSON(t, env.cfg.FHIRBase+"/.well-known/smart-configuration", &d)
	style := oauth2.AuthStyleInParams
	if secret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: testRedirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: d["authorization_endpoint"].(string), TokenURL: d["token_endpoint"].(string), AuthStyle: style,
		},
	}
}

// verifyIDToken checks an id_token the way an OIDC client does: discovery,
// JWKS, signature, iss, aud, exp; then returns nonce and fhirUser.
func (env *testEnv) verifyIDToken(t *testing.T, tok *oauth2.Token, clientID string) (nonce, fhirUser string) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response has no id_token")
	}
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, env.cfg.Issuer)
	if err != nil {
		t.Fatalf("OIDC discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id_token does not verify: %v", err)
	}
	var claims struct {
		FHIRUser string `json:"fhirUser"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return idt.Nonce, claims.FHIRUser
}

func TestFlow_StandaloneLaunch_PublicAppWithPickerGetsPatientTokensAndVerifiedIDToken(t *testing.T) {
	env := newTestEnv(t, nil)
	conf := env.appConfig(t, publicID, "", "launch/patient", "openid", "fhirUser", "offline_access", "patient/Observation.rs")
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-abc", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("aud", env.cfg.FHIRBase), oauth2.SetAuthURLParam("nonce", "nonce-xyz"))

	session := nextStep(t, env.get(t, authURL, nil), "/auth/login")
	nextStep(t, env.postForm(t, "/auth/login", url.Values{"session": {session}, "user": {"Practitioner/prac-1"}}), "/auth/select-patient")
	nextStep(t, env.postForm(t, "/auth/select-patient", url.Values{"session": {session}, "patient": {"pat-1"}}), "/auth/consent")
	cb := redirectParams(t, env.postForm(t, "/auth/consent", url.Values{"session": {session}, "decision": {"allow"}}))
	if cb.Get("state") != "state-abc" {
		t.Fatalf("state did not round-trip: %v", cb)
	}

	tok, err := conf.Exchange(context.Background(), cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("patient") != "pat-1" {
		t.Errorf("token: type=%s refresh=%v patient=%v", tok.TokenType, tok.RefreshToken != "", tok.Extra("patient"))
	}
	if tok.Extra("scope") != "launch/patient openid fhirUser offline_access patient/Observation.rs" {
		t.Errorf("scope = %v", tok.Extra("scope"))
	}
	if tok.Extra("need_patient_banner") != true {
		t.Errorf("need_patient_banner = %v, want true for a standalone app", tok.Extra("need_patient_banner"))
	}
	nonce, fhirUser := env.verifyIDToken(t, tok, publicID)
	if nonce != "nonce-xyz" || fhirUser != env.cfg.FHIRBase+"/Practitioner/prac-1" {
		t.Errorf("id_token nonce=%q fhirUser=%q", nonce, fhirUser)
	}

	resp, body := env.readResource(t, "Observation", tok.AccessToken)
	if resp.StatusCode != http.StatusOK || body["level"] != "patient" || body["patient"] != "pat-1" || body["sandbox"] != testSandbox {
		t.Fatalf("gateway decision: %d %v", resp.StatusCode, body)
	}
	if resp, _ := env.readResource(t, "Condition", tok.AccessToken); resp.StatusCode != http.StatusForbidden {
		t.Errorf("Condition with Observation-only scope: %d, want 403", resp.StatusCode)
	}
}

func TestFlow_EHRLaunch_ConfidentialAppGetsLaunchContextWithoutPages(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SkipConsent = true })
	launch, err := env.srv.MintLaunch(context.Background(), LaunchContext{
		Patient: "pat-2", Encounter: "enc-9", User: "Practitioner/prac-1", NeedPatientBanner: false,
		SmartStyleURL: "http://127.0.0.1:9/style.json", Intent: "reconcile-medications",
	})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := env.srv.clients.Client(context.Background(), publicID)
	launchURL, err := env.srv.LaunchURL(context.Background(), client, launch)
	if err != nil {
		t.Fatal(err)
	}
	// The app reads iss and launch from its launch URL.
	lu, _ := url.Parse(launchURL)
	if lu.Query().Get("iss") != env.cfg.FHIRBase || lu.Query().Get("launch") != launch {
		t.Fatalf("launch URL %s", launchURL)
	}

	conf := env.appConfig(t, symmetricID, symmetricPW, "launch", "openid", "fhirUser", "online_access", "user/*.cruds", "patient/*.rs")
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("aud", lu.Query().Get("iss")), oauth2.SetAuthURLParam("launch", launch),
		oauth2.SetAuthURLParam("nonce", "n2"))
	cb := redirectParams(t, env.get(t, authURL, nil))
	tok, err := conf.Exchange(context.Background(), cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	want := map[string]any{
		"patient": "pat-2", "encounter": "enc-9", "need_patient_banner": false,
		"smart_style_url": "http://127.0.0.1:9/style.json", "intent": "reconcile-medications",
	}
	for k, v := range want {
		if tok.Extra(k) != v {
			t.Errorf("%s = %v, want %v", k, tok.Extra(k), v)
		}
	}
	if tok.RefreshToken == "" {
		t.Error("online_access granted but no refresh token")
	}
	if _, fhirUser := env.verifyIDToken(t, tok, symmetricID); fhirUser != env.cfg.FHIRBase+"/Practitioner/prac-1" {
		t.Errorf("fhirUser = %q", fhirUser)
	}
	// user/*.cruds is broader than patient/*.rs, so the gateway sees user level.
	if resp, body := env.readResource(t, "Encounter", tok.AccessToken); resp.StatusCode != http.StatusOK || body["level"] != "user" {
		t.Fatalf("gateway decision: %d %v", resp.StatusCode, body)
	}

	// The oauth2 client refreshes through the same endpoint.
	tok.Expiry = tok.Expiry.Add(-2 * env.cfg.AccessTokenTTL)
	fresh, err := conf.TokenSource(context.Background(), tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Error("refresh did not rotate both tokens")
	}
}

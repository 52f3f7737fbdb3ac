package sandbox

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

	"hpsandbox/fhirstore/fhirjson"
)

// noRedirect lets a test see where the authorization server sends the
// browser instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// step submits one page of the authorization flow and returns where the
// server sends the browser next.
func step(t testing.TB, get func() (*http.Response, error)) *url.URL {
	t.Helper()
	resp, err := get()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("want a redirect, got %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// standaloneLaunch runs the demo app's standalone launch with PKCE through
// the gateway: login as user, pick patient, consent; it returns the token.
func (env *gatewayEnv) standaloneLaunch(t testing.TB, user, patient string, scopes ...string) (*oauth2.Token, *oauth2.Config) {
	t.Helper()
	ctx := context.Background()
	// An app starts from the FHIR base: SMART discovery gives the endpoints.
	resp, disc := env.fhir(t, http.MethodGet, "/.well-known/smart-configuration", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("smart-configuration: %d", resp.StatusCode)
	}
	conf := &oauth2.Config{
		ClientID: DemoClientID, RedirectURL: "http://127.0.0.1:53682/callback", Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: disc["authorization_endpoint"].(string), TokenURL: disc["token_endpoint"].(string),
			AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("aud", env.fhirBase()), oauth2.SetAuthURLParam("nonce", "n-1"))
	next := step(t, func() (*http.Response, error) { return noRedirect.Get(authURL) })
	session := next.Query().Get("session")
	for next.Path != "/callback" {
		form := url.Values{"session": {session}}
		switch next.Path {
		case "/auth/login":
			form.Set("user", user)
		case "/auth/select-patient":
			form.Set("patient", patient)
		case "/auth/consent":
			form.Set("decision", "allow")
		default:
			t.Fatalf("unexpected step %s", next)
		}
		next = step(t, func() (*http.Response, error) { return noRedirect.PostForm(env.srv.URL+next.Path, form) })
	}
	if next.Query().Get("state") != "st-1" || next.Query().Get("code") == "" {
		t.Fatalf("callback %s", next)
	}
	tok, err := conf.Exchange(ctx, next.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok, conf
}

func TestGateway_StandaloneLaunchWithPKCE_ReadsThePatientsDataOnly(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a",
		"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs")
	if tok.Extra("patient") != "pat-a" {
		t.Fatalf("patient in context = %v", tok.Extra("patient"))
	}

	// The id_token verifies the way any OIDC client checks it.
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, env.srv.URL)
	if err != nil {
		t.Fatalf("OIDC discovery at the issuer: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: DemoClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	var claims struct {
		FHIRUser string `json:"fhirUser"`
	}
	if err := idt.Claims(&claims); err != nil || claims.FHIRUser != env.fhirBase()+"/Practitioner/prac-1" || idt.Nonce != "n-1" {
		t.Errorf("id_token fhirUser=%q nonce=%q err=%v", claims.FHIRUser, idt.Nonce, err)
	}

	tests := []struct {
		path   string
		status int
	}{
		{"/Patient/pat-a", http.StatusOK},
		{"/Observation/obs-a", http.StatusOK},
		{"/Observation/obs-a-lab", http.StatusOK},
		{"/Observation/obs-a/_history/1", http.StatusOK},
		{"/Observation/obs-a/_history", http.StatusOK},
		{"/Patient/pat-b", http.StatusForbidden},
		{"/Observation/obs-b", http.StatusForbidden},
		{"/Observation/obs-b/_history/1", http.StatusForbidden},
		{"/Observation/obs-b/_history", http.StatusForbidden},
		{"/_history", http.StatusForbidden},
		{"/?_type=Observation", http.StatusOK}, // a system search is confined to the compartment
		{"/Observation/nope", http.StatusNotFound},
		{"/metadata", http.StatusOK},
	}
	for _, tt := range tests {
		resp, body := env.fhir(t, http.MethodGet, tt.path, tok.AccessToken, "")
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %d, want %d (%s)", tt.path, resp.StatusCode, tt.status, diagnostics(body))
			continue
		}
		if tt.status == http.StatusForbidden {
			if issueCode(body) != "forbidden" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("GET %s: 403 without forbidden outcome or challenge: %v %q", tt.path, body, resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("ETag") != "" {
				t.Errorf("GET %s: 403 carries the resource's ETag", tt.path)
			}
		}
	}
	// A patient-level token sees a conditional read's 304 only for its own.
	req, _ := http.NewRequest(http.MethodGet, env.fhirBase()+"/Observation/obs-b", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("If-None-Match", `W/"1"`)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("conditional read of another patient's: %v %v", resp.StatusCode, err)
	}
}

func TestGateway_BackendServicesES384_SearchesWithSystemScope(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok := env.backendToken(t, DemoBackendClientID, "system/Patient.rs system/Observation.rs")
	resp, body := env.fhir(t, http.MethodGet, "/Patient", tok, "")
	if resp.StatusCode != http.StatusOK || body["resourceType"] != "Bundle" || body["total"] != float64(2) {
		t.Fatalf("search: %d %v", resp.StatusCode, body)
	}
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/obs-b", tok, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("system read: %d", resp.StatusCode)
	}
	if resp, _ := env.fhir(t, http.MethodGet, "/Practitioner/prac-1", tok, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read outside the granted types: %d", resp.StatusCode)
	}
}

func TestMetadata_AdvertisesSMARTSecurityAndStaysValid(t *testing.T) {
	env := newGatewayEnv(t, true)
	resp, err := http.Get(env.fhirBase() + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metadata without a token: %d", resp.StatusCode)
	}
	if _, err := fhirjson.Parse(raw); err != nil {
		t.Fatalf("CapabilityStatement does not validate: %v", err)
	}
	var cs struct {
		Rest []struct {
			Security struct {
				Service []struct {
					Coding []struct{ System, Code string }
				}
				Extension []struct {
					URL       string
					Extension []struct{ URL, ValueURI string } `json:"extension"`
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatal(err)
	}
	sec := cs.Rest[0].Security
	if len(sec.Service) != 1 || sec.Service[0].Coding[0].System != "http://terminology.hl7.org/CodeSystem/restful-security-service" ||
		sec.Service[0].Coding[0].Code != "SMART-on-FHIR" {
		t.Errorf("security.service = %+v", sec.Service)
	}
	_, disc := env.fhir(t, "GET", "/.well-known/smart-configuration", "", "")
	want := map[string]string{
		"authorize": disc["authorization_endpoint"].(string), "token": disc["token_endpoint"].(string),
		"introspect": disc["introspection_endpoint"].(string), "revoke": disc["revocation_endpoint"].(string),
	}
	if len(sec.Extension) != 1 || sec.Extension[0].URL != "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" {
		t.Fatalf("security.extension = %+v", sec.Extension)
	}
	got := map[string]string{}
	for _, e := range sec.Extension[0].Extension {
		got[e.URL] = e.ValueURI
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("oauth-uris %s = %q, discovery says %q", k, got[k], v)
		}
	}
}

func TestGateway_Operations_BulkExportNeedsAllTypesAtSystemOrUserLevel(t *testing.T) {
	env := newGatewayEnv(t, true)
	all := env.backendToken(t, DemoBackendClientID, "system/*.rs")
	some := env.backendToken(t, DemoBackendClientID, "system/Patient.rs")
	patient, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	export := func(token string) int {
		req, _ := http.NewRequest("GET", env.fhirBase()+"/$export", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Prefer", "respond-async")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := export(all); got != http.StatusAccepted {
		t.Errorf("system/*.rs: %d, want 202", got)
	}
	if got := export(some); got != http.StatusForbidden {
		t.Errorf("system/Patient.rs: %d, want 403", got)
	}
	if got := export(patient.AccessToken); got != http.StatusForbidden {
		t.Errorf("patient level: %d, want 403", got)
	}
	if resp, body := env.fhir(t, "POST", "/Observation/$validate", patient.AccessToken, obs("", "pat-b", "vital-signs", "8867-4", 1)); resp.StatusCode != 200 {
		t.Errorf("$validate at patient level: %d %s", resp.StatusCode, diagnostics(body))
	}
}

func TestGateway_PatientLevelSearch_IsNarrowedToTheCompartment(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	vitals, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/Observation.rs?category="+vitalSigns)
	either, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient",
		"patient/Observation.rs?category="+vitalSigns, "patient/Observation.rs?code=http://loinc.org|4548-4")
	tests := []struct {
		name, token, path string
		total             int // -1: refused with 403
	}{
		{"type search", tok.AccessToken, "/Observation", 2},
		{"type search with a parameter", tok.AccessToken, "/Observation?code=http://loinc.org|8867-4", 1},
		{"another patient's by parameter", tok.AccessToken, "/Observation?subject=Patient/pat-b", 0},
		{"count only", tok.AccessToken, "/Observation?_summary=count", 2},
		{"subset elements", tok.AccessToken, "/Observation?_elements=status", 2},
		{"include the patient", tok.AccessToken, "/Observation?_include=Observation:subject", 2},
		{"own compartment", tok.AccessToken, "/Patient/pat-a/Observation", 2},
		{"another compartment", tok.AccessToken, "/Patient/pat-b/Observation", -1},
		{"patients", tok.AccessToken, "/Patient", 1},
		{"v2 constraint added", vitals.AccessToken, "/Observation", 1},
		{"v2 constraint, count", vitals.AccessToken, "/Observation?_summary=count", 1},
		{"system search count", tok.AccessToken, "/?_type=Observation&_summary=count", 2},
		{"either constraint", either.AccessToken, "/Observation", 2},
		{"either constraint, count", either.AccessToken, "/Observation?_summary=count", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhir(t, "GET", tt.path, tt.token, "")
			if tt.total < 0 {
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("%d, want 403", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || body["total"] != float64(tt.total) {
				t.Fatalf("%d total=%v, want 200 total=%d: %s", resp.StatusCode, body["total"], tt.total, diagnostics(body))
			}
		})
	}
	// POST _search is narrowed the same way.
	req, _ := http.NewRequest("POST", env.fhirBase()+"/Observation/_search", strings.NewReader("code=http://loinc.org|8867-4"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{}
	decode(t, resp, &body)
	if resp.StatusCode != 200 || body["total"] != float64(1) {
		t.Errorf("POST _search: %d %v", resp.StatusCode, body["total"])
	}
}

func TestGateway_SkipLoginAndConsent_GoesFromPickerStraightToTheApp(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure, c.SkipLogin, c.SkipConsent = true, true, true })
	q := url.Values{
		"response_type": {"code"}, "client_id": {DemoClientID}, "redirect_uri": {"http://127.0.0.1:1234/callback"},
		"scope": {"launch/patient patient/*.rs"}, "state": {"s"}, "aud": {env.fhirBase()},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	next := step(t, func() (*http.Response, error) { return noRedirect.Get(env.srv.URL + "/auth/authorize?" + q.Encode()) })
	if next.Path != "/auth/select-patient" {
		t.Fatalf("first page %s, want the patient picker", next)
	}
	form := url.Values{"session": {next.Query().Get("session")}, "patient": {"pat-a"}}
	next = step(t, func() (*http.Response, error) { return noRedirect.PostForm(env.srv.URL+next.Path, form) })
	if next.Host != "127.0.0.1:1234" || next.Query().Get("code") == "" {
		t.Fatalf("after the picker: %s, want the app's callback with a code", next)
	}
}

func TestCORS_BrowserAppsMayCallTheAPIAndTokenEndpointFromAnyOrigin(t *testing.T) {
	env := newGatewayEnv(t, true)
	for _, path := range []string{"/fhir/Observation/obs-a", "/auth/token", "/fhir/.well-known/smart-configuration",
		"/sandboxes/acme-dev/fhir/metadata", "/sandboxes/acme-dev/fhir", "/sandboxes/acme-dev/auth/register", "/auth/register"} {
		req, _ := http.NewRequest(http.MethodOptions, env.srv.URL+path, nil)
		req.Header.Set("Origin", "http://127.0.0.1:3000")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, env.fhirBase()+"/Observation/obs-a", nil)
	req.Header.Set("Origin", "http://127.0.0.1:3000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("a 401 a browser app must be able to read: %d %v", resp.StatusCode, resp.Header)
	}
	for _, path := range []string{"/auth/authorize", "/portal/login", "/admin/api/me", "/sandboxes/acme-dev/other"} {
		req, _ = http.NewRequest(http.MethodGet, env.srv.URL+path, nil)
		req.Header.Set("Origin", "http://127.0.0.1:3000")
		if resp, err := noRedirect.Do(req); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s with CORS headers: %v", path, err)
		}
	}
}

func TestGateway_PatientSignedInAsUser_SeesOnlyTheirOwnRecordWithUserScopes(t *testing.T) {
	env := newGatewayEnv(t, true)
	tok, _ := env.standaloneLaunch(t, "Patient/pat-b", "", "openid", "fhirUser", "user/*.rs")
	for path, want := range map[string]int{
		"/Observation/obs-b": 200, "/Patient/pat-b": 200, "/Observation/obs-a": 403, "/Patient/pat-a": 403,
	} {
		if resp, _ := env.fhir(t, "GET", path, tok.AccessToken, ""); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if resp, body := env.fhir(t, "GET", "/Observation", tok.AccessToken, ""); resp.StatusCode != 200 || body["total"] != float64(1) {
		t.Errorf("search: %d total=%v, want only the patient's own", resp.StatusCode, body["total"])
	}
}

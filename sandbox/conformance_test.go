package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// TestConformance_GatewayEvidence_CarefulAppPassesSloppyAppFails drives
// the gateway as a careful SMART app and then as a sloppy one (no PKCE, a
// short state, a token in the URL, invented offsets), and judges each
// window of the request log: the authorization server's facts reach the
// checks, and the sloppy window fails the right ones.
func TestConformance_GatewayEvidence_CarefulAppPassesSloppyAppFails(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure, c.SkipLogin, c.SkipConsent = true, true, true })
	get := func(path, query, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.fhirBase()+path+"?"+query, nil)
		req.Header.Set("Accept", "application/fhir+json")
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
	authorize := func(q url.Values) *http.Response {
		t.Helper()
		resp, err := noRedirect.Get(env.srv.URL + "/auth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// The careful app: discovery, PKCE S256, a random state, the exact
	// redirect URI, the narrowest scope it needs, FHIR JSON.
	start := time.Now().UTC()
	get("/.well-known/smart-configuration", "", "")
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type": {"code"}, "client_id": {DemoClientID}, "redirect_uri": {"http://127.0.0.1/callback"},
		"scope": {"launch/patient patient/Observation.rs"}, "state": {"9b2f6c1e-4a7d-4f3b-8e2a-1c5d7e9f0a3b"}, "aud": {env.fhirBase()},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	next := step(t, func() (*http.Response, error) { return noRedirect.Get(env.srv.URL + "/auth/authorize?" + q.Encode()) })
	form := url.Values{"session": {next.Query().Get("session")}, "patient": {"pat-a"}}
	next = step(t, func() (*http.Response, error) { return noRedirect.PostForm(env.srv.URL+next.Path, form) })
	code := next.Query().Get("code")
	resp, body := env.postForm(t, "/auth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {DemoClientID}, "code_verifier": {verifier}})
	tok, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	if status := get("/Observation", "patient=pat-a", tok); status != http.StatusOK {
		t.Fatalf("search: %d", status)
	}
	time.Sleep(10 * time.Millisecond)
	middle := time.Now().UTC()

	// The sloppy app, under the same client id: no PKCE, a short state,
	// the token in the URL, and an offset of its own making.
	q.Set("state", "s")
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	authorize(q)
	get("/Observation", "patient=pat-a&access_token="+tok, "")
	get("/Observation", "patient=pat-a&_offset=20", tok)
	end := time.Now().UTC().Add(time.Second)

	if err := env.gw.recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The evidence holds facts, never the secrets they are facts of.
	page, err := env.gw.requests.Query(context.Background(), requestlog.Filter{Sandbox: fhirstore.DefaultSandbox, Limit: requestlog.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(page.Entries)
	for name, secret := range map[string]string{"state": "9b2f6c1e-4a7d-4f3b-8e2a-1c5d7e9f0a3b", "code": code,
		"code_verifier": verifier, "access token": tok} {
		if strings.Contains(string(all), secret) {
			t.Errorf("the request log holds the %s", name)
		}
	}
	oauthEntries := 0
	for _, e := range page.Entries {
		if e.OAuth != nil {
			oauthEntries++
		}
	}
	if oauthEntries != 3 { // two authorizations and a token request
		t.Errorf("%d entries with the authorization server's facts, want 3", oauthEntries)
	}
	reg, err := checkRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	runner := &conformance.Runner{Registry: reg, Log: env.gw.requests, Reports: conformance.StoreReports{Store: env.store},
		FHIRBase: func(string) string { return env.fhirBase() }}
	results := func(since, until time.Time) (*conformance.Run, map[string]conformance.Status) {
		t.Helper()
		run, err := runner.Run(context.Background(), fhirstore.DefaultSandbox,
			conformance.RunRequest{ClientID: DemoClientID, Profile: conformance.ProfilePatientApp, Since: since, Until: until})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]conformance.Status{}
		for _, o := range run.Outcomes {
			out[o.Check.ID] = o.Result.Status
			t.Logf("%s: %s %s %v", o.Check.ID, o.Result.Status, o.Result.Message, o.Result.Evidence)
		}
		return run, out
	}

	careful, got := results(start, middle)
	for _, id := range []string{"smart.pkce-s256", "smart.state-entropy", "smart.aud-fhir-base", "smart.redirect-uri-exact",
		"smart.discovery-first", "oauth.no-token-in-url", "fhir.accept-fhir-json", "smart.least-privilege"} {
		if got[id] != conformance.Pass {
			t.Errorf("careful app: %s %s, want pass", id, got[id])
		}
	}
	if !careful.Passed() {
		t.Error("the careful app's run failed")
	}

	sloppy, got := results(middle, end)
	for _, id := range []string{"smart.pkce-s256", "smart.state-entropy", "oauth.no-token-in-url", "fhir.follows-next-link",
		"smart.discovery-first"} {
		if got[id] != conformance.Fail {
			t.Errorf("sloppy app: %s %s, want fail", id, got[id])
		}
	}
	if sloppy.Passed() {
		t.Error("the sloppy app's run passed")
	}
	reports, err := runner.Reports.List(context.Background(), fhirstore.DefaultSandbox, 10)
	if err != nil || len(reports) != 2 {
		t.Fatalf("%d reports stored (%v), want 2", len(reports), err)
	}
}

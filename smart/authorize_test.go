package smart

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorize_ClientOrRedirectErrors_AreShownNotRedirected(t *testing.T) {
	env := newTestEnv(t, skipAll)
	tests := map[string]func(url.Values){
		"unknown client_id":         func(q url.Values) { q.Set("client_id", "nope") },
		"missing client_id":         func(q url.Values) { q.Del("client_id") },
		"unregistered redirect_uri": func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/evil") },
		"redirect_uri prefix only":  func(q url.Values) { q.Set("redirect_uri", testRedirect+"/more") },
		"missing redirect_uri":      func(q url.Values) { q.Del("redirect_uri") },
		"redirect_uri given twice":  func(q url.Values) { q.Add("redirect_uri", testRedirect) },
		"bad redirect_uri and PKCE": func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/x"); q.Del("code_challenge") },
		"unknown client_id by POST": nil,
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			q := env.authorizeParams(defaultRequest)
			var resp *http.Response
			if mutate == nil {
				q.Set("client_id", "nope")
				resp = env.postForm(t, "/auth/authorize", q)
			} else {
				mutate(q)
				resp = env.get(t, "/auth/authorize", q)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q, want 400 page", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(string(body), "Authorization error") {
				t.Errorf("body is not the error page: %.200s", body)
			}
		})
	}
}

func TestAuthorize_RequestErrors_AreRedirectedWithErrorAndState(t *testing.T) {
	env := newTestEnv(t, skipAll)
	tests := []struct {
		name   string
		mutate func(url.Values)
		code   string
	}{
		{"missing PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"PKCE method missing means plain", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
		{"wrong aud", func(q url.Values) { q.Set("aud", "http://127.0.0.1:9/fhir") }, "invalid_request"},
		{"missing aud", func(q url.Values) { q.Del("aud") }, "invalid_request"},
		{"token response_type", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"scope not registered", func(q url.Values) { q.Set("scope", "patient/*.cruds") }, "invalid_scope"},
		{"malformed scope", func(q url.Values) { q.Set("scope", "patient/Observation.sr") }, "invalid_scope"},
		{"empty scope", func(q url.Values) { q.Set("scope", "") }, "invalid_scope"},
		{"launch scope without launch", func(q url.Values) { q.Set("scope", "launch openid") }, "invalid_request"},
		{"unknown launch", func(q url.Values) { q.Set("scope", "launch openid"); q.Set("launch", "nope") }, "invalid_request"},
		{"launch without launch scope", func(q url.Values) { q.Set("launch", "x") }, "invalid_scope"},
		{"duplicate parameter", func(q url.Values) { q.Add("scope", "openid") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := env.authorizeParams(defaultRequest)
			tt.mutate(q)
			got := redirectParams(t, env.get(t, "/auth/authorize", q))
			if got.Get("error") != tt.code || got.Get("state") != "st-123" || got.Get("code") != "" {
				t.Fatalf("redirect params %v, want error=%s with state", got, tt.code)
			}
			if got.Get("error_description") == "" {
				t.Error("no error_description")
			}
		})
	}
	t.Run("missing state is redirected without state", func(t *testing.T) {
		q := env.authorizeParams(defaultRequest)
		q.Del("state")
		got := redirectParams(t, env.get(t, "/auth/authorize", q))
		if got.Get("error") != "invalid_request" || got.Has("state") {
			t.Fatalf("got %v", got)
		}
	})
}

func TestAuthorize_EHRLaunchWithSkips_RedirectsStraightBackWithCodeAndState(t *testing.T) {
	env := newTestEnv(t, skipAll)
	launch, err := env.srv.MintLaunch(context.Background(), LaunchContext{Patient: "pat-1", User: "Practitioner/prac-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		q := env.authorizeParams("launch openid fhirUser patient/Observation.rs")
		q.Set("launch", launch)
		var resp *http.Response
		if method == http.MethodGet {
			resp = env.get(t, "/auth/authorize", q)
		} else {
			resp = env.postForm(t, "/auth/authorize", q)
		}
		got := redirectParams(t, resp)
		if got.Get("code") == "" || got.Get("state") != "st-123" || got.Has("error") {
			t.Fatalf("%s: redirect params %v", method, got)
		}
	}
}

func TestAuthorize_LaunchOfAnotherSandbox_IsRefused(t *testing.T) {
	env := newTestEnv(t, skipAll)
	launch, _ := env.srv.MintLaunch(context.Background(), LaunchContext{Patient: "pat-1", Sandbox: "other"})
	q := env.authorizeParams("launch openid")
	q.Set("launch", launch)
	if got := redirectParams(t, env.get(t, "/auth/authorize", q)); got.Get("error") != "invalid_request" {
		t.Fatalf("got %v", got)
	}
}

func TestAuthorize_StandaloneWithPages_WalksLoginPickerConsent(t *testing.T) {
	env := newTestEnv(t, nil)
	resp := env.get(t, "/auth/authorize", env.authorizeParams(defaultRequest))
	session := nextStep(t, resp, "/auth/login")
	page := readBody(t, env.get(t, "/auth/login", url.Values{"session": {session}}))
	for _, want := range []string{"Practitioner/prac-1", "Patient/pat-1", "Dr. Lege"} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	resp = env.postForm(t, "/auth/login", url.Values{"session": {session}, "user": {"Practitioner/prac-1"}})
	nextStep(t, resp, "/auth/select-patient")
	page = readBody(t, env.get(t, "/auth/select-patient", url.Values{"session": {session}}))
	if !strings.Contains(page, "Kari Nordmann") || !strings.Contains(page, "1970-01-01") {
		t.Errorf("picker lacks patients: %.300s", page)
	}
	resp = env.postForm(t, "/auth/select-patient", url.Values{"session": {session}, "patient": {"pat-2"}})
	nextStep(t, resp, "/auth/consent")
	page = readBody(t, env.get(t, "/auth/consent", url.Values{"session": {session}}))
	if !strings.Contains(page, "patient/Observation.rs") || !strings.Contains(page, "Public Test App") {
		t.Errorf("consent page lacks scopes or app name: %.300s", page)
	}
	got := redirectParams(t, env.postForm(t, "/auth/consent", url.Values{"session": {session}, "decision": {"allow"}}))
	if got.Get("code") == "" || got.Get("state") != "st-123" {
		t.Fatalf("after consent: %v", got)
	}
	// The session is finished: replaying a page step fails.
	if resp := env.get(t, "/auth/consent", url.Values{"session": {session}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("finished session still usable: %d", resp.StatusCode)
	}
}

func TestAuthorize_ConsentDenied_RedirectsAccessDenied(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SkipLogin = true })
	q := env.authorizeParams("openid patient/Observation.rs")
	session := nextStep(t, env.get(t, "/auth/authorize", q), "/auth/consent")
	got := redirectParams(t, env.postForm(t, "/auth/consent", url.Values{"session": {session}, "decision": {"deny"}}))
	if got.Get("error") != "access_denied" || got.Get("state") != "st-123" {
		t.Fatalf("got %v", got)
	}
}

func TestAuthorize_PatientSigningIn_BecomesThePatientInContext(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SkipConsent = true })
	session := nextStep(t, env.get(t, "/auth/authorize", env.authorizeParams(defaultRequest)), "/auth/login")
	resp := env.postForm(t, "/auth/login", url.Values{"session": {session}, "user": {"Patient/pat-1"}})
	if got := redirectParams(t, resp); got.Get("code") == "" {
		t.Fatalf("patient login did not skip the picker: %v", got)
	}
}

func TestAuthorize_UnknownSessionOrChoice_IsAnErrorPage(t *testing.T) {
	env := newTestEnv(t, nil)
	if resp := env.get(t, "/auth/login", url.Values{"session": {"nope"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown session: %d", resp.StatusCode)
	}
	session := nextStep(t, env.get(t, "/auth/authorize", env.authorizeParams(defaultRequest)), "/auth/login")
	resp := env.postForm(t, "/auth/login", url.Values{"session": {session}, "user": {"Practitioner/not-listed"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unlisted user: %d", resp.StatusCode)
	}
}

// nextStep checks the response redirects to a page of the flow and returns
// the session id it carries.
func nextStep(t *testing.T, resp *http.Response, path string) string {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != path {
		t.Fatalf("want 303 to %s, got %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("session")
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAuthorize_StandaloneEncounter_PickedAfterPatientAndReturnedWithToken(t *testing.T) {
	env := newTestEnv(t, skipAll)
	q := env.authorizeParams("launch/patient launch/encounter patient/Encounter.rs")
	session := nextStep(t, env.get(t, "/auth/authorize", q), "/auth/select-patient")
	nextStep(t, env.postForm(t, "/auth/select-patient", url.Values{"session": {session}, "patient": {"pat-1"}}), "/auth/select-encounter")
	if page := readBody(t, env.get(t, "/auth/select-encounter", url.Values{"session": {session}})); !strings.Contains(page, "Outpatient visit") {
		t.Fatalf("encounter picker: %.300s", page)
	}
	cb := redirectParams(t, env.postForm(t, "/auth/select-encounter", url.Values{"session": {session}, "encounter": {"enc-1"}}))
	_, body := env.exchange(t, cb.Get("code"))
	if body["patient"] != "pat-1" || body["encounter"] != "enc-1" {
		t.Fatalf("token context: %v", body)
	}
}

package smart

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestToken_AuthorizationCodeErrors_AreInvalidGrantOrRequest(t *testing.T) {
	env := newTestEnv(t, skipAll)
	tests := []struct {
		name   string
		mutate func(url.Values)
		status int
		code   string
	}{
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 50)) }, 400, "invalid_grant"},
		{"missing verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_grant"},
		{"other redirect_uri", func(f url.Values) { f.Set("redirect_uri", testRedirect+"2") }, 400, "invalid_grant"},
		{"unknown code", func(f url.Values) { f.Set("code", "nope") }, 400, "invalid_grant"},
		{"missing code", func(f url.Values) { f.Del("code") }, 400, "invalid_request"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "nope") }, 401, "invalid_client"},
		{"confidential client without secret", func(f url.Values) { f.Set("client_id", symmetricID) }, 401, "invalid_client"},
		{"unknown grant type", func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
		{"missing grant type", func(f url.Values) { f.Del("grant_type") }, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := env.codeFor(t, env.authorizeParams(simpleRequest))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
				"client_id": {publicID}, "code_verifier": {testVerifier}}
			tt.mutate(form)
			resp, body := env.tokenCall(t, "/auth/token", form, "", "")
			wantOAuthError(t, resp, body, tt.status, tt.code)
		})
	}
}

func TestToken_CodeOfAnotherClient_IsInvalidGrant(t *testing.T) {
	env := newTestEnv(t, skipAll)
	code := env.codeFor(t, env.authorizeParams(simpleRequest))
	resp, body := env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}, symmetricID, symmetricPW)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestToken_SuccessResponse_IsNoStoreJSON(t *testing.T) {
	env := newTestEnv(t, skipAll)
	resp, body := env.exchange(t, env.codeFor(t, env.authorizeParams(simpleRequest)))
	if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", resp.Header)
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
		t.Errorf("token_type/expires_in = %v/%v", body["token_type"], body["expires_in"])
	}
}

func TestToken_CodeReuse_IsRefusedAndRevokesEveryTokenFromIt(t *testing.T) {
	env := newTestEnv(t, skipAll)
	q := env.authorizeParams("launch/patient openid offline_access patient/Observation.rs")
	// With SkipLogin the picker is still needed for launch/patient.
	session := nextStep(t, env.get(t, "/auth/authorize", q), "/auth/select-patient")
	cb := redirectParams(t, env.postForm(t, "/auth/select-patient", url.Values{"session": {session}, "patient": {"pat-1"}}))
	code := cb.Get("code")

	_, first := env.exchange(t, code)
	at, rt := first["access_token"].(string), first["refresh_token"].(string)
	if resp, _ := env.readResource(t, "Observation", at); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh token refused: %d", resp.StatusCode)
	}
	resp, body := env.exchange(t, code)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	if resp, _ := env.readResource(t, "Observation", at); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token from a reused code still works: %d", resp.StatusCode)
	}
	resp, body = env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {publicID}}, "", "")
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestToken_ExpiredCode_IsInvalidGrant(t *testing.T) {
	env := newTestEnv(t, skipAll)
	code := env.codeFor(t, env.authorizeParams("openid patient/Observation.rs"))
	env.clock.Advance(env.cfg.CodeTTL + time.Second)
	resp, body := env.exchange(t, code)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestToken_RefreshRotation_OldTokenInvalid_ReuseRevokesGrant(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, first := env.exchange(t, env.codeFor(t, env.authorizeParams("openid offline_access user/*.rs")))
	refresh := func(rt string) (*http.Response, map[string]any) {
		return env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {publicID}}, "", "")
	}
	rt1 := first["refresh_token"].(string)
	resp, second := refresh(rt1)
	if resp.StatusCode != http.StatusOK || second["refresh_token"] == rt1 || second["refresh_token"] == nil {
		t.Fatalf("rotation: %d %v", resp.StatusCode, second)
	}
	if second["id_token"] == nil {
		t.Error("refresh with openid gave no id_token")
	}
	at2 := second["access_token"].(string)
	if resp, _ := env.readResource(t, "Observation", at2); resp.StatusCode != http.StatusOK {
		t.Fatalf("rotated access token refused: %d", resp.StatusCode)
	}
	resp, body := refresh(rt1)
	wantOAuthError(t, resp, body, 400, "invalid_grant")
	// Reuse of a rotated-out token revokes the whole grant.
	if resp, _ := env.readResource(t, "Observation", at2); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("grant not revoked after refresh token reuse: %d", resp.StatusCode)
	}
	resp, body = refresh(second["refresh_token"].(string))
	wantOAuthError(t, resp, body, 400, "invalid_grant")
}

func TestToken_RefreshMayNarrowButNotWidenScope(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, first := env.exchange(t, env.codeFor(t, env.authorizeParams("offline_access user/*.rs")))
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)},
		"client_id": {publicID}, "scope": {"user/*.cruds"}}
	resp, body := env.tokenCall(t, "/auth/token", form, "", "")
	wantOAuthError(t, resp, body, 400, "invalid_scope")
	form.Set("scope", "offline_access user/Observation.r")
	resp, body = env.tokenCall(t, "/auth/token", form, "", "")
	if resp.StatusCode != 200 || body["scope"] != "offline_access user/Observation.r" {
		t.Fatalf("narrowing: %d %v", resp.StatusCode, body)
	}
}

func TestToken_NoRefreshTokenWithoutOfflineOrOnlineAccess(t *testing.T) {
	env := newTestEnv(t, skipAll)
	_, body := env.exchange(t, env.codeFor(t, env.authorizeParams("openid user/*.rs")))
	if body["access_token"] == nil || body["refresh_token"] != nil {
		t.Fatalf("got %v", body)
	}
}

func TestToken_ClientSecretAuth_BasicAndPost(t *testing.T) {
	env := newTestEnv(t, skipAll)
	codeFor := func() string {
		q := env.authorizeParams("openid user/*.rs")
		q.Set("client_id", symmetricID)
		return env.codeFor(t, q)
	}
	base := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {codeFor()}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
	}
	if resp, body := env.tokenCall(t, "/auth/token", base(), symmetricID, symmetricPW); resp.StatusCode != 200 {
		t.Fatalf("client_secret_basic: %d %v", resp.StatusCode, body)
	}
	f := base()
	f.Set("client_id", symmetricID)
	f.Set("client_secret", symmetricPW)
	if resp, body := env.tokenCall(t, "/auth/token", f, "", ""); resp.StatusCode != 200 {
		t.Fatalf("client_secret_post: %d %v", resp.StatusCode, body)
	}

	resp, body := env.tokenCall(t, "/auth/token", base(), symmetricID, "wrong")
	wantOAuthError(t, resp, body, 401, "invalid_client")
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("Basic failure without Basic challenge: %q", got)
	}
	f = base()
	f.Set("client_id", symmetricID)
	f.Set("client_secret", "wrong")
	resp, body = env.tokenCall(t, "/auth/token", f, "", "")
	wantOAuthError(t, resp, body, 401, "invalid_client")
	f.Set("client_secret", symmetricPW)
	resp, body = env.tokenCall(t, "/auth/token", f, symmetricID, symmetricPW)
	wantOAuthError(t, resp, body, 400, "invalid_request") // two methods at once
}

func TestToken_FormInQueryOrWrongContentType_IsInvalidRequest(t *testing.T) {
	env := newTestEnv(t, skipAll)
	resp, err := http.Post(env.cfg.Issuer+"/auth/token?grant_type=client_credentials", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

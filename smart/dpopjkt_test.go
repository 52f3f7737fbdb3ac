package smart

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// exchangeWithProof redeems a code for the public client, with a DPoP
// proof of k when k is not nil.
func (env *testEnv) exchangeWithProof(t *testing.T, code string, k *dpopKey) (*http.Response, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"client_id": {publicID}, "code_verifier": {testVerifier}}
	req, _ := http.NewRequest(http.MethodPost, env.cfg.Issuer+"/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if k != nil {
		req.Header.Set("DPoP", k.proof(t, env.clock.Now(), http.MethodPost, env.cfg.Issuer+"/auth/token", "", "", nil))
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

// TestAuthorize_DPoPJKT_BindsTheCodeToTheKey: RFC 9449 §10. A code whose
// authorization request named dpop_jkt is redeemed only with a proof of
// that key; a proof of another key or none is invalid_grant and leaves
// the code to its client.
func TestAuthorize_DPoPJKT_BindsTheCodeToTheKey(t *testing.T) {
	env := newTestEnv(t, skipAll)
	k, other := newDPoPKey(t), newDPoPKey(t)
	q := env.authorizeParams("openid fhirUser patient/*.rs")
	q.Set("dpop_jkt", k.jkt)
	code := env.codeFor(t, q)

	for _, tt := range []struct {
		name string
		key  *dpopKey
		want string
	}{
		{"AbsentProof", nil, "send a DPoP proof"},
		{"OtherKey", other, "not the one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.exchangeWithProof(t, code, tt.key)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			if d, _ := body["error_description"].(string); !strings.Contains(d, tt.want) {
				t.Errorf("error_description %q, want %q in it", d, tt.want)
			}
		})
	}
	// The code is still its client's: the proof of its key redeems it for
	// a token bound to that key.
	resp, body := env.exchangeWithProof(t, code, k)
	if resp.StatusCode != 200 || body["token_type"] != "DPoP" {
		t.Fatalf("with the named key: %d %v", resp.StatusCode, body)
	}
	cnf, _ := accessClaimsOf(t, body["access_token"].(string))["cnf"].(map[string]any)
	if cnf["jkt"] != k.jkt {
		t.Errorf("cnf %v, want jkt %s", cnf, k.jkt)
	}
	// Once.
	resp, body = env.exchangeWithProof(t, code, k)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// Without dpop_jkt a code is not bound: any proof, or none, redeems it.
	plain := env.codeFor(t, env.authorizeParams("openid fhirUser patient/*.rs"))
	if resp, body := env.exchangeWithProof(t, plain, other); resp.StatusCode != 200 || body["token_type"] != "DPoP" {
		t.Fatalf("an unbound code with a proof: %d %v", resp.StatusCode, body)
	}
}

func TestAuthorize_DPoPJKT_MalformedIsInvalidRequest(t *testing.T) {
	env := newTestEnv(t, skipAll)
	for _, jkt := range []string{"", "short", strings.Repeat("a", 44), strings.Repeat("+", 43)} {
		q := env.authorizeParams("openid fhirUser patient/*.rs")
		q.Set("dpop_jkt", jkt)
		got := redirectParams(t, env.get(t, "/auth/authorize", q))
		if got.Get("error") != "invalid_request" || got.Get("state") != "st-123" || got.Get("code") != "" {
			t.Errorf("dpop_jkt %q: %v, want invalid_request to the client", jkt, got)
		}
	}
}

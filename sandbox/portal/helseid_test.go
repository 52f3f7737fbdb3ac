package portal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/connectors/helseid/helseidtest"
	"hpsandbox/smart"
)

// TestRegisterApp_HelseIDFields_SavedAndIssueDPoPBoundTokens: the
// register form takes the HelseID profile, DPoP binding, vkp-id and nhn:
// scopes as the admin API does; the app registered gets DPoP-bound tokens
// carrying its vkp-id from an authorization server over the registry.
func TestRegisterApp_HelseIDFields_SavedAndIssueDPoPBoundTokens(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	form := alice.get("/portal/sandboxes/" + acmeSandbox + "/apps/new")
	wantContains(t, "form", form, `name="helseid"`, `name="dpop_bound_access_tokens"`, `name="vkp_id"`)

	// The authorization server, over the registry's clients.
	var h http.Handler
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(as.Close)
	keys, err := smart.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smart.New(smart.Config{Issuer: as.URL}, smart.Deps{Keys: keys, Clients: e.tenants.Clients()})
	if err != nil {
		t.Fatal(err)
	}
	h = srv.Handler()
	client, err := helseidtest.New(as.URL)
	if err != nil {
		t.Fatal(err)
	}

	got := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", url.Values{
		"name": {"Alarm platform"}, "type": {"confidential-asymmetric"}, "jwks": {string(client.JWKS())},
		"scopes": {"nhn:vkp/api/user/Observation.write nhn:jft/api"}, "helseid": {"on"},
		"dpop_bound_access_tokens": {"on"}, "vkp_id": {"Acme_Alarm_5006"},
	})
	wantStatus(t, "register", got, http.StatusCreated)
	m := clientIDRE.FindStringSubmatch(got.body)
	if m == nil {
		t.Fatalf("no client id on the page:\n%s", excerpt(got.body))
	}
	client.ClientID = m[1]
	app := alice.get("/portal/sandboxes/" + acmeSandbox + "/apps/" + m[1])
	wantContains(t, "app page", app, "HelseID profile", "Acme_Alarm_5006", "DPoP-bound access tokens")

	tok, err := client.Token(context.Background(), "nhn:vkp/api/user/Observation.write")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}
	parts := strings.Split(tok.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	cnf, _ := claims["cnf"].(map[string]any)
	if claims["vkp-id"] != "Acme_Alarm_5006" || cnf["jkt"] != client.JKT() {
		t.Errorf("token claims %v; want vkp-id and cnf.jkt of the client's DPoP key", claims)
	}

	// Validated on the server as the admin API validates them.
	for _, tt := range []struct {
		name string
		form url.Values
		want string
	}{
		{"HelseID for a public app", url.Values{"name": {"Pub"}, "type": {"public"}, "redirect_uris": {"https://p.example/cb"}, "helseid": {"on"}}, "helseid"},
		{"nhn: scope without HelseID", url.Values{"name": {"Plain"}, "type": {"confidential-asymmetric"}, "jwks": {string(client.JWKS())}, "scopes": {"nhn:jft/api"}}, "nhn:"},
		{"vkp-id without HelseID", url.Values{"name": {"NoHID"}, "type": {"confidential-asymmetric"}, "jwks": {string(client.JWKS())}, "scopes": {"system/*.rs"}, "vkp_id": {"A_B_5006"}}, "vkp_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", tt.form)
			wantStatus(t, "register", got, http.StatusBadRequest)
			wantContains(t, "register", got, tt.want, `value="`+tt.form.Get("name")+`"`)
		})
	}
}

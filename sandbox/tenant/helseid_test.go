package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRegisterApp_HelseIDProfile_BecomesAHelseIDClient(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "hid", Name: "HelseID", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	app, _, err := s.RegisterApp(ctx, supplierA, "hid", NewApp{Name: "Care app", Type: "confidential-asymmetric", JWKS: pub,
		HelseID: true, VKPID: "Acme_CareApp_5001", Scopes: "nhn:jft/api nhn:vkp/api/user/Observation.write system/Patient.rs"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Clients().Client(ctx, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HelseID || c.Claims["vkp-id"] != "Acme_CareApp_5001" {
		t.Errorf("client %+v: want HelseID with vkp-id", c)
	}
	plain, _, err := s.RegisterApp(ctx, supplierA, "hid", NewApp{Name: "DPoP backend", Type: "confidential-asymmetric", JWKS: pub, DPoPBoundAccessTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Clients().Client(ctx, plain.ClientID); !c.DPoPBound || c.HelseID {
		t.Errorf("client %+v: want DPoP-bound, not HelseID", c)
	}
}

func TestRegisterApp_HelseIDFields_Refused(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "hid", Name: "HelseID", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	for _, tt := range []struct {
		name, field string
		req         NewApp
	}{
		{"NHNScopeWithoutProfile", "scopes", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, Scopes: "nhn:jft/api"}},
		{"VKPIDWithoutProfile", "vkp_id", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, VKPID: "A_B_C"}},
		{"MalformedVKPID", "vkp_id", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, HelseID: true, VKPID: "just-one"}},
		{"PublicApp", "helseid", NewApp{Name: "x", Type: "public", RedirectURIs: []string{"https://a.example/cb"}, HelseID: true}},
		{"MalformedNHNScope", "scopes", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, HelseID: true, Scopes: "nhn:jft api"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.RegisterApp(ctx, supplierA, "hid", tt.req)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err %v; want an InvalidError on %s", err, tt.field)
			}
		})
	}
}

// TestRegistrationHandler_HelseIDNeedsAnInitialAccessToken: in a sandbox
// open to registration, an app without a token cannot give itself the
// HelseID profile or its scopes; with the owner's token it can, and the
// answer echoes the metadata.
func TestRegistrationHandler_HelseIDNeedsAnInitialAccessToken(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "open", Name: "Open", SeedPatients: intp(-1), Settings: openRegistration()}); err != nil {
		t.Fatal(err)
	}
	_, token, err := s.IssueRegistrationToken(ctx, supplierA, "open", NewRegistrationToken{MaxUses: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.RegistrationHandler(func(*http.Request) string { return "open" }))
	defer srv.Close()
	pub, _ := publicJWKS(t)
	post := func(body, tok string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		return resp.StatusCode, got
	}
	for _, body := range []string{
		`{"client_name":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(pub) + `,"helseid":true,"scope":"nhn:jft/api"}`,
		`{"client_name":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(pub) + `,"helseid":true}`,
	} {
		if status, got := post(body, ""); status != 400 || got["error"] != "invalid_client_metadata" {
			t.Errorf("without a token: %d %v; want 400 invalid_client_metadata", status, got)
		}
	}
	status, got := post(`{"client_name":"H","token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":`+string(pub)+
		`,"helseid":true,"dpop_bound_access_tokens":true,"vkp_id":"Acme_Journal_5001","scope":"nhn:jft/api"}`, token)
	if status != 201 || got["helseid"] != true || got["dpop_bound_access_tokens"] != true || got["vkp_id"] != "Acme_Journal_5001" {
		t.Fatalf("with a token: %d %v", status, got)
	}
	c, err := s.Clients().Client(ctx, got["client_id"].(string))
	if err != nil || !c.HelseID || !c.DPoPBound || c.Claims["vkp-id"] != "Acme_Journal_5001" {
		t.Fatalf("client %+v, %v", c, err)
	}
}

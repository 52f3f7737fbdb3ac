package tenant

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/smart"
)

// openRegistration is a sandbox's settings that open registration and let
// apps without an initial access token read at patient level.
func openRegistration() *Settings {
	st := DefaultSettings()
	st.DynamicRegistration, st.RegistrationScopes = true, "patient/*.rs"
	return &st
}

func TestRegistrationHandler_RFC7591(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "open", Name: "Open", SeedPatients: intp(-1), Settings: openRegistration()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "closed", Name: "Closed", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	_, token, err := s.IssueRegistrationToken(ctx, supplierA, "open", NewRegistrationToken{MaxUses: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.RegistrationHandler(func(r *http.Request) string { return r.URL.Query().Get("sandbox") }))
	defer srv.Close()
	pub, _ := publicJWKS(t)

	tests := []struct {
		name, sandbox, contentType, body string
		status                           int
		errCode                          string
		wantType                         string
		token                            string
	}{
		{"public app", "open", "application/json",
			`{"client_name":"Pulse","redirect_uris":["https://pulse.example/cb"],"token_endpoint_auth_method":"none","scope":"launch patient/*.rs","launch_uri":"https://pulse.example/launch"}`,
			201, "", "public", ""},
		{"default method is client_secret_basic", "open", "application/json; charset=utf-8",
			`{"client_name":"Server","redirect_uris":["https://srv.example/cb"],"grant_types":["authorization_code","refresh_token"]}`,
			201, "", "confidential-symmetric", ""},
		{"backend service with inline keys and an initial access token", "open", "application/json",
			`{"client_name":"Backend","token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":` + string(pub) + `}`,
			201, "", "confidential-asymmetric", token},
		{"no redirect for code", "open", "application/json", `{"client_name":"x","token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", "", ""},
		{"bad redirect", "open", "application/json", `{"redirect_uris":["not a uri"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", "", ""},
		{"unknown method", "open", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"tls_client_auth"}`, 400, "invalid_client_metadata", "", ""},
		{"client_credentials with a secret", "open", "application/json", `{"grant_types":["client_credentials"]}`, 400, "invalid_client_metadata", "", ""},
		{"implicit", "open", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","response_types":["token"]}`, 400, "invalid_client_metadata", "", ""},
		{"private_key_jwt without keys", "open", "application/json", `{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"]}`, 400, "invalid_client_metadata", "", ""},
		{"bad scope", "open", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","scope":"patient/Foo.qq"}`, 400, "invalid_client_metadata", "", ""},
		{"not JSON", "open", "application/json", `client_name=x`, 400, "invalid_client_metadata", "", ""},
		{"form body", "open", "application/x-www-form-urlencoded", `client_name=x`, 400, "invalid_client_metadata", "", ""},
		{"closed sandbox", "closed", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`, 403, "access_denied", "", ""},
		{"unknown sandbox", "nope", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`, 404, "invalid_request", "", ""},
		{"closed sandbox, even with a token", "closed", "application/json", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`, 403, "access_denied", "", token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/register?sandbox="+tt.sandbox, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", resp.Header)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if tt.errCode != "" {
				if got["error"] != tt.errCode || got["error_description"] == "" {
					t.Errorf("error %v, want %s with a description", got, tt.errCode)
				}
				return
			}
			id, _ := got["client_id"].(string)
			c, err := s.Clients().Client(ctx, id)
			if err != nil {
				t.Fatalf("registered client %q: %v", id, err)
			}
			if c.Type.String() != tt.wantType || c.Sandbox != tt.sandbox {
				t.Errorf("client type %s in %s, want %s in %s", c.Type, c.Sandbox, tt.wantType, tt.sandbox)
			}
			if got["client_id_issued_at"] == nil || got["grant_types"] == nil || got["token_endpoint_auth_method"] == nil {
				t.Errorf("response lacks RFC 7591 §3.2.1 members: %s", body)
			}
			secret, _ := got["client_secret"].(string)
			if tt.wantType == "confidential-symmetric" {
				if secret == "" || got["client_secret_expires_at"] != float64(0) {
					t.Errorf("symmetric client without secret or expiry: %s", body)
				}
				if bcrypt.CompareHashAndPassword(c.SecretHash, []byte(secret)) != nil {
					t.Error("secret does not match the stored hash")
				}
			} else if secret != "" {
				t.Errorf("a %s client got a secret", tt.wantType)
			}
			apps, _ := s.Apps(ctx, operator, tt.sandbox)
			found := false
			for _, a := range apps {
				found = found || (a.ClientID == id && a.Dynamic)
			}
			if !found {
				t.Errorf("%s is not listed as a dynamic app of %s", id, tt.sandbox)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/register?sandbox=open")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// FuzzRegistration: whatever the body, the handler answers 201 or an
// RFC 7591 error, never a 500 or a panic.
func FuzzRegistration(f *testing.F) {
	s, _ := newService(f, Options{Default: Sandbox{Settings: *openRegistration()}})
	h := s.RegistrationHandler(func(*http.Request) string { return "default" })
	for _, seed := range []string{`{}`, `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{}]}}`, `[`, `null`,
		`{"redirect_uris":["http://127.0.0.1:99999/cb"],"token_endpoint_auth_method":"none","scope":"patient/*.cruds"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusBadRequest && rec.Code != http.StatusForbidden {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		// Without an initial access token, nothing but reads registers.
		var got struct {
			Scope string `json:"scope"`
		}
		if rec.Code == http.StatusCreated {
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			scopes, err := smart.ParseScopes(got.Scope)
			if err != nil {
				t.Fatalf("registered scope %q: %v", got.Scope, err)
			}
			for _, sc := range scopes {
				if sc.Level == smart.LevelSystem || sc.Permits(smart.Create) || sc.Permits(smart.Update) || sc.Permits(smart.Delete) {
					t.Fatalf("%q registered %q without an initial access token", body, sc.Name)
				}
			}
		}
	})
}

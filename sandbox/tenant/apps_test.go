package tenant

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"hpsandbox/smart"
)

// publicJWKS returns a JWK Set with one public ES384 key, and the set with
// its private key.
func publicJWKS(t testing.TB) (pub, priv []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: k, KeyID: "k1", Algorithm: "ES384", Use: "sig"}
	priv, _ = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	pub, _ = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	return pub, priv
}

func TestRegisterApp_EachTypeBecomesItsSMARTClient(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "apps", Name: "Apps", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	tests := []struct {
		req        NewApp
		wantType   smart.ClientType
		wantSecret bool
		wantScopes string
	}{
		{NewApp{Name: "Browser app", Type: "public", RedirectURIs: []string{"https://app.example/cb"}, LaunchURL: "https://app.example/launch"},
			smart.Public, false, DefaultAppScopes},
		{NewApp{Name: "Server app", Type: "confidential-symmetric", RedirectURIs: []string{"https://app.example/cb"}, Scopes: "launch patient/Observation.rs"},
			smart.ConfidentialSymmetric, true, "launch patient/Observation.rs"},
		{NewApp{Name: "Backend", Type: "confidential-asymmetric", JWKS: pub}, smart.ConfidentialAsymmetric, false, "system/*.rs"},
		{NewApp{Name: "Backend by URL", Type: "confidential-asymmetric", JWKSURL: "https://app.example/jwks.json"}, smart.ConfidentialAsymmetric, false, "system/*.rs"},
		{NewApp{Name: "Native", Type: "public", RedirectURIs: []string{"com.example.app:/callback", "http://127.0.0.1/cb"}}, smart.Public, false, DefaultAppScopes},
	}
	for _, tt := range tests {
		t.Run(tt.req.Name, func(t *testing.T) {
			app, secret, err := s.RegisterApp(ctx, supplierA, "apps", tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if (secret != "") != tt.wantSecret {
				t.Errorf("secret %q, want one: %v", secret, tt.wantSecret)
			}
			c, err := s.Clients().Client(ctx, app.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Type != tt.wantType || c.Sandbox != "apps" || c.Scopes != tt.wantScopes || c.Name != tt.req.Name {
				t.Errorf("client %+v", c)
			}
			if tt.wantSecret {
				if bcrypt.CompareHashAndPassword(c.SecretHash, []byte(secret)) != nil {
					t.Error("the stored hash does not match the secret shown")
				}
				stored, _ := json.Marshal(app)
				if strings.Contains(string(stored), secret) {
					t.Error("the app's JSON carries its secret")
				}
			}
			if tt.req.JWKS != nil && (c.JWKS == nil || len(c.JWKS.Keys) != 1) {
				t.Errorf("keys %+v", c.JWKS)
			}
		})
	}
	apps, err := s.Apps(ctx, reviewer, "apps")
	if err != nil || len(apps) != len(tests) {
		t.Errorf("reviewer lists %d apps (%v), want %d", len(apps), err, len(tests))
	}
	if err := s.DeleteApp(ctx, reviewer, "apps", apps[0].ClientID); !errors.Is(err, ErrForbidden) {
		t.Errorf("reviewer deletes an app: %v, want ErrForbidden", err)
	}
	if err := s.DeleteApp(ctx, supplierA, "apps", apps[0].ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clients().Client(ctx, apps[0].ClientID); !errors.Is(err, smart.ErrClientNotFound) {
		t.Errorf("deleted app: %v, want smart.ErrClientNotFound", err)
	}
}

func TestRegisterApp_RefusesBadRegistrations(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "apps", Name: "Apps", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, priv := publicJWKS(t)
	cb := []string{"https://app.example/cb"}
	tests := []struct {
		name  string
		req   NewApp
		field string
	}{
		{"unknown type", NewApp{Name: "a", Type: "secret", RedirectURIs: cb}, "type"},
		{"no name", NewApp{Type: "public", RedirectURIs: cb}, "name"},
		{"public without redirect", NewApp{Name: "a", Type: "public"}, "redirect_uris"},
		{"relative redirect", NewApp{Name: "a", Type: "public", RedirectURIs: []string{"/cb"}}, "redirect_uris[0]"},
		{"redirect with fragment", NewApp{Name: "a", Type: "public", RedirectURIs: []string{"https://a.example/cb#x"}}, "redirect_uris[0]"},
		{"redirect port 0", NewApp{Name: "a", Type: "public", RedirectURIs: []string{"http://127.0.0.1:0/cb"}}, "redirect_uris[0]"},
		{"redirect port 65536", NewApp{Name: "a", Type: "public", RedirectURIs: []string{"http://127.0.0.1:65536/cb"}}, "redirect_uris[0]"},
		{"redirect port 99999", NewApp{Name: "a", Type: "public", RedirectURIs: cb[:1:1], LaunchURL: "https://a.example:99999/launch"}, "launch_url"},
		{"bad scope", NewApp{Name: "a", Type: "public", RedirectURIs: cb, Scopes: "patient/Observation.zz"}, "scopes"},
		{"public with keys", NewApp{Name: "a", Type: "public", RedirectURIs: cb, JWKS: pub}, "jwks"},
		{"asymmetric without keys", NewApp{Name: "a", Type: "confidential-asymmetric"}, "jwks"},
		{"asymmetric with both", NewApp{Name: "a", Type: "confidential-asymmetric", JWKS: pub, JWKSURL: "https://a.example/jwks"}, "jwks"},
		{"private key", NewApp{Name: "a", Type: "confidential-asymmetric", JWKS: priv}, "jwks"},
		{"not a key set", NewApp{Name: "a", Type: "confidential-asymmetric", JWKS: []byte(`{"keys":[]}`)}, "jwks"},
		{"jwks_url not a URL", NewApp{Name: "a", Type: "confidential-asymmetric", JWKSURL: "keys.json"}, "jwks_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.RegisterApp(ctx, supplierA, "apps", tt.req)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err = %v, want an InvalidError of %s", err, tt.field)
			}
		})
	}
}

func TestAccounts_PasswordsAndOIDCIdentities(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	made, err := s.EnsureOperator(ctx, "operator", "first-password")
	if err != nil || !made {
		t.Fatalf("EnsureOperator on an empty registry: %v %v", made, err)
	}
	if made, _ := s.EnsureOperator(ctx, "operator2", "other-password"); made {
		t.Error("EnsureOperator made a second operator")
	}
	op, err := s.Authenticate(ctx, SignIn{Username: "operator", Password: "first-password"})
	if err != nil || op.Role != RoleOperator {
		t.Fatalf("operator sign-in: %v %v", op, err)
	}
	for _, creds := range [][2]string{{"operator", "wrong-password"}, {"nobody", "first-password"}, {"operator", ""}} {
		if _, err := s.Authenticate(ctx, SignIn{Username: creds[0], Password: creds[1]}); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q) = %v, want ErrBadCredentials", creds[0], creds[1], err)
		}
	}
	if _, err := s.CreateAccount(ctx, supplierA, NewAccount{Username: "eve", Role: RoleOperator, Password: "long-enough-1"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a supplier creates an account: %v, want ErrForbidden", err)
	}
	bad := []struct {
		req   NewAccount
		field string
	}{
		{NewAccount{Username: "x", Role: RoleSupplier, Supplier: "acme", Password: "long-enough-1"}, "username"},
		{NewAccount{Username: "carol", Role: "admin", Password: "long-enough-1"}, "role"},
		{NewAccount{Username: "carol", Role: RoleSupplier, Password: "long-enough-1"}, "supplier"},
		{NewAccount{Username: "carol", Role: RoleReviewer, Supplier: "acme", Password: "long-enough-1"}, "supplier"},
		{NewAccount{Username: "carol", Role: RoleReviewer, Password: "short"}, "password"},
		{NewAccount{Username: "carol", Role: RoleReviewer}, "password"},
		{NewAccount{Username: "carol", Role: RoleReviewer, OIDCIssuer: "https://idp.example"}, "password"},
	}
	for _, tt := range bad {
		_, err := s.CreateAccount(ctx, op, tt.req)
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("CreateAccount(%+v) = %v, want an InvalidError of %s", tt.req, err, tt.field)
		}
	}
	if _, err := s.CreateAccount(ctx, op, NewAccount{Username: "carol", Role: RoleSupplier, Supplier: "acme",
		OIDCIssuer: "https://idp.example/", OIDCSubject: "user-7"}); err != nil {
		t.Fatal(err)
	}
	a, err := s.AccountByOIDC(ctx, "https://idp.example", "user-7")
	if err != nil || a.Username != "carol" || a.Supplier != "acme" {
		t.Errorf("AccountByOIDC = %+v, %v", a, err)
	}
	if _, err := s.Authenticate(ctx, SignIn{Username: "carol", Password: ""}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("password sign-in to an OIDC-only account: %v", err)
	}
	if _, err := s.CreateAccount(ctx, op, NewAccount{Username: "dave", Role: RoleReviewer,
		OIDCIssuer: "https://idp.example", OIDCSubject: "user-7"}); !errors.Is(err, ErrExists) {
		t.Errorf("linking a linked identity again: %v, want ErrExists", err)
	}
	// A changed password replaces the remembered one at once.
	if err := s.SetPassword(ctx, op, "operator", "second-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, SignIn{Username: "operator", Password: "first-password"}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after a change: %v", err)
	}
	if _, err := s.Authenticate(ctx, SignIn{Username: "operator", Password: "second-password"}); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := s.SetPassword(ctx, supplierA, "operator", "third-password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a supplier sets the operator's password: %v", err)
	}
}

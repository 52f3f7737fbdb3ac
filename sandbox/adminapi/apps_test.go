package adminapi

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestRegisterApp_ShowsAConfidentialAppsSecretOnceAndItIsTheOneKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	a := e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/apps", aliceUser, map[string]any{
		"name": "Web app", "type": "confidential-symmetric", "redirect_uris": []string{"https://app.example/cb"}})
	var reg registeredAppJSON
	a.json(t, &reg)
	if reg.ClientSecret == "" || reg.Sandbox != "acme-dev" {
		t.Fatalf("registration answer %s, want the app of acme-dev with its client_secret", a.body)
	}
	if loc := a.header.Get("Location"); loc != "/admin/api/sandboxes/acme-dev/apps/"+reg.ClientID {
		t.Errorf("Location %q", loc)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("an answer with a secret has Cache-Control %q, want no-store", a.header.Get("Cache-Control"))
	}
	// The secret works: the authorization server's client has its hash.
	c, err := e.tenants.Clients().Client(context.Background(), reg.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(c.SecretHash, []byte(reg.ClientSecret)) != nil {
		t.Error("the secret shown does not match the hash kept")
	}
	if bcrypt.CompareHashAndPassword(c.SecretHash, []byte(reg.ClientSecret+"x")) == nil {
		t.Error("a wrong secret matches the hash kept")
	}
	// It is never shown again.
	for _, path := range []string{"/sandboxes/acme-dev/apps/" + reg.ClientID, "/sandboxes/acme-dev/apps"} {
		for _, user := range []string{aliceUser, opUser, revUser} {
			got := e.must(http.StatusOK, "GET", path, user, nil)
			if bytes.Contains(got.body, []byte("client_secret")) || bytes.Contains(got.body, []byte(reg.ClientSecret)) {
				t.Errorf("GET %s as %s shows the secret: %s", path, user, got.body)
			}
		}
	}
	// A public app has none.
	pub := e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/apps", aliceUser, map[string]any{
		"name": "Phone app", "type": "public", "redirect_uris": []string{"no.example.app:/cb"}})
	if bytes.Contains(pub.body, []byte("client_secret")) {
		t.Errorf("a public app's registration shows a secret: %s", pub.body)
	}
}

func TestRegisterApp_BadAppsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"unknown type", map[string]any{"name": "A", "type": "secret"}, 422, "type"},
		{"no redirect URI", map[string]any{"name": "A", "type": "public"}, 422, "redirect_uris"},
		{"redirect URI with a fragment", map[string]any{"name": "A", "type": "public", "redirect_uris": []string{"https://a.example/cb", "https://a.example/cb#x"}}, 422, "redirect_uris[1]"},
		{"keys of a public app", map[string]any{"name": "A", "type": "public", "redirect_uris": []string{"https://a.example/cb"}, "jwks_url": "https://a.example/jwks"}, 422, "jwks"},
		{"bad scope", map[string]any{"name": "A", "type": "public", "redirect_uris": []string{"https://a.example/cb"}, "scopes": "patient/Observation.xyz"}, 422, "scopes"},
		{"redirect URIs not a list", map[string]any{"name": "A", "type": "public", "redirect_uris": "https://a.example/cb"}, 400, "redirect_uris"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			p := e.must(tt.status, "POST", "/sandboxes/acme-dev/apps", aliceUser, tt.body).problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
				t.Errorf("problem %+v, want errors naming %s", p, tt.field)
			}
		})
	}
}

func TestApps_AnAppIsReachedThroughItsOwnSandboxOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(opUser, "acme-one")
	e.sandbox(opUser, "acme-two")
	id := e.app(aliceUser, "acme-one")
	other := e.must(http.StatusNotFound, "GET", "/sandboxes/acme-two/apps/"+id, aliceUser, nil).problem(t)
	missing := e.must(http.StatusNotFound, "GET", "/sandboxes/acme-two/apps/app-missing", aliceUser, nil).problem(t)
	if !reflect.DeepEqual(other, missing) {
		t.Errorf("an app of another sandbox: %+v; a missing app: %+v", other, missing)
	}
	e.must(http.StatusNotFound, "DELETE", "/sandboxes/acme-two/apps/"+id, aliceUser, nil)
	e.must(http.StatusNoContent, "DELETE", "/sandboxes/acme-one/apps/"+id, aliceUser, nil)
	e.must(http.StatusNotFound, "GET", "/sandboxes/acme-one/apps/"+id, aliceUser, nil)
}

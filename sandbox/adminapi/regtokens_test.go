package adminapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRegistrationTokens_ShownOnceListedWithoutTheTokenAndRevocable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	e.must(http.StatusOK, "PATCH", "/sandboxes/acme-dev", aliceUser, map[string]any{"settings": map[string]any{"dynamic_registration": true}})
	a := e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/registration-tokens", aliceUser,
		map[string]any{"description": "CI pipeline", "expires_in": 3600, "max_uses": 2})
	var issued issuedRegistrationTokenJSON
	a.json(t, &issued)
	if a.header.Get("Location") != "/admin/api/sandboxes/acme-dev/registration-tokens/"+issued.ID {
		t.Errorf("Location %q", a.header.Get("Location"))
	}
	if !strings.HasPrefix(issued.Token, "hpsiat_") || issued.CreatedBy != aliceUser || issued.MaxUses != 2 ||
		issued.Expires.Sub(issued.Created) != time.Hour || issued.Sandbox != "acme-dev" {
		t.Errorf("issued %+v", issued)
	}
	list := e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/registration-tokens", revUser, nil)
	if strings.Contains(string(list.body), issued.Token) || strings.Contains(string(list.body), `"token"`) {
		t.Errorf("the list shows the token: %s", list.body)
	}
	if !strings.Contains(string(list.body), issued.ID) {
		t.Errorf("the list lacks %s: %s", issued.ID, list.body)
	}
	// The token registers an app at its sandbox's endpoint …
	h := e.tenants.RegistrationHandler(func(*http.Request) string { return "acme-dev" })
	post := func() int {
		req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(
			`{"redirect_uris":["https://ci.example/cb"],"token_endpoint_auth_method":"none","scope":"patient/*.cruds"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := post(); got != http.StatusCreated {
		t.Fatalf("registration with the token: %d", got)
	}
	// … until it is revoked.
	e.must(http.StatusNoContent, "DELETE", "/sandboxes/acme-dev/registration-tokens/"+issued.ID, aliceUser, nil)
	if got := post(); got != http.StatusUnauthorized {
		t.Errorf("registration with a revoked token: %d, want 401", got)
	}
	e.must(http.StatusNotFound, "DELETE", "/sandboxes/acme-dev/registration-tokens/"+issued.ID, aliceUser, nil)
	var empty struct {
		RegistrationTokens []any `json:"registration_tokens"`
	}
	e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/registration-tokens", aliceUser, nil).json(t, &empty)
	if empty.RegistrationTokens == nil || len(empty.RegistrationTokens) != 0 {
		t.Errorf("after revoking: %v, want an empty list", empty.RegistrationTokens)
	}
	for _, body := range []any{map[string]any{"expires_in": 10}, map[string]any{"max_uses": -1}, map[string]any{"scope": "x"}} {
		if st := e.do("POST", "/sandboxes/acme-dev/registration-tokens", aliceUser, body).status; st != http.StatusUnprocessableEntity && st != http.StatusBadRequest {
			t.Errorf("issue %v: %d, want 422 or 400", body, st)
		}
	}
}

package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
)

func TestAuth_MissingOrWrongCredentialsAre401WithABasicChallenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		edit func(*http.Request)
	}{
		{"none", func(*http.Request) {}},
		{"wrong password", func(r *http.Request) { r.SetBasicAuth(aliceUser, "not her password") }},
		{"unknown user", func(r *http.Request) { r.SetBasicAuth("mallory", password("mallory")) }},
		{"empty", func(r *http.Request) { r.SetBasicAuth("", "") }},
		{"not base64", func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }},
		{"a bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			a := e.doWith("GET", "/me", nil, tt.edit)
			checkUnauthorized(t, a)
		})
	}
}

func TestAuth_EveryOperationButTheDocumentNeedsCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range New(Deps{Tenants: e.tenants}).routes() {
		path := strings.NewReplacer(":id", "acme-dev", ":client_id", "app-x", ":username", aliceUser).Replace(r.path)
		t.Run(r.op, func(t *testing.T) {
			e.t = t
			checkUnauthorized(t, e.do(r.method, path, "", map[string]any{}))
		})
	}
}

func checkUnauthorized(t *testing.T, a answer) {
	t.Helper()
	if a.status != http.StatusUnauthorized {
		t.Fatalf("%d %s, want 401", a.status, a.body)
	}
	if got := a.header.Get("WWW-Authenticate"); got != `Basic realm="HP Sandbox admin", charset="UTF-8"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if p := a.problem(t); p.Status != http.StatusUnauthorized {
		t.Errorf("problem %+v", p)
	}
}

func TestMe_IsTheAccountOfTheCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var me tenant.Account
	e.must(http.StatusOK, "GET", "/me", aliceUser, nil).json(t, &me)
	if me.Username != aliceUser || me.Role != tenant.RoleSupplier || me.Supplier != "acme" {
		t.Errorf("/me as alice: %+v", me)
	}
}

func TestAccounts_OperatorCreatesAccountsThatSignInAndLosesThemOnDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.must(http.StatusCreated, "POST", "/accounts", opUser, map[string]any{
		"username": "carol", "name": "Carol", "role": "supplier", "supplier": "acme", "password": password("carol")})
	if loc := a.header.Get("Location"); loc != "/admin/api/accounts/carol" {
		t.Errorf("Location %q", loc)
	}
	var acc tenant.Account
	e.must(http.StatusOK, "GET", "/accounts/carol", opUser, nil).json(t, &acc)
	if acc.Role != tenant.RoleSupplier || acc.Supplier != "acme" {
		t.Errorf("carol: %+v", acc)
	}
	var list struct{ Accounts []tenant.Account }
	e.must(http.StatusOK, "GET", "/accounts", opUser, nil).json(t, &list)
	if len(list.Accounts) != 5 {
		t.Errorf("%d accounts, want the 4 of the test and carol", len(list.Accounts))
	}
	// Carol works in acme's sandboxes straight away.
	e.must(http.StatusOK, "GET", "/me", "carol", nil)
	e.must(http.StatusConflict, "POST", "/accounts", opUser, map[string]any{
		"username": "carol", "role": "reviewer", "password": password("carol")})

	// A new password replaces the old at once, although checked
	// credentials are remembered for a while.
	e.must(http.StatusNoContent, "PUT", "/accounts/carol/password", "carol", map[string]any{"password": "a brand new password"})
	e.must(http.StatusUnauthorized, "GET", "/me", "carol", nil)
	a = e.doWith("GET", "/me", nil, func(r *http.Request) { r.SetBasicAuth("carol", "a brand new password") })
	if a.status != http.StatusOK {
		t.Errorf("the new password: %d %s", a.status, a.body)
	}

	e.must(http.StatusNoContent, "DELETE", "/accounts/carol", opUser, nil)
	a = e.doWith("GET", "/me", nil, func(r *http.Request) { r.SetBasicAuth("carol", "a brand new password") })
	if a.status != http.StatusUnauthorized {
		t.Errorf("a deleted account signs in: %d %s", a.status, a.body)
	}
	e.must(http.StatusNotFound, "DELETE", "/accounts/carol", opUser, nil)
	e.must(http.StatusNotFound, "GET", "/accounts/carol", opUser, nil)
	e.must(http.StatusNotFound, "PUT", "/accounts/carol/password", opUser, map[string]any{"password": password("carol")})
}

func TestAccounts_BadRequestsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		body               map[string]any
		status             int
		field              string
	}{
		{"unknown role", "POST", "/accounts", map[string]any{"username": "x1", "role": "admin", "password": password("x1")}, 422, "role"},
		{"short password", "POST", "/accounts", map[string]any{"username": "x1", "role": "reviewer", "password": "short"}, 422, "password"},
		{"supplier without supplier", "POST", "/accounts", map[string]any{"username": "x1", "role": "supplier", "password": password("x1")}, 422, "supplier"},
		{"bad username", "POST", "/accounts", map[string]any{"username": "x y", "role": "reviewer", "password": password("x1")}, 422, "username"},
		{"role of the wrong type", "POST", "/accounts", map[string]any{"username": "x1", "role": 1}, 400, "role"},
		{"own account", "DELETE", "/accounts/" + opUser, nil, 422, "username"},
		{"short new password", "PUT", "/accounts/" + revUser + "/password", map[string]any{"password": "short"}, 422, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			var body any
			if tt.body != nil {
				body = tt.body
			}
			p := e.must(tt.status, tt.method, tt.path, opUser, body).problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
				t.Errorf("problem %+v, want errors naming %s", p, tt.field)
			}
		})
	}
}

func TestAccounts_NonOperatorsAreRefusedBeforeAnythingIsLookedUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The same answer whether the account exists or not.
	for _, user := range []string{revUser, aliceUser} {
		for _, target := range []string{bobUser, "nobody"} {
			e.must(http.StatusForbidden, "GET", "/accounts/"+target, user, nil)
			e.must(http.StatusForbidden, "DELETE", "/accounts/"+target, user, nil)
			e.must(http.StatusForbidden, "PUT", "/accounts/"+target+"/password", user, map[string]any{"password": "whatever it is"})
		}
		// A bad body changes nothing about that.
		e.must(http.StatusForbidden, "POST", "/accounts", user, "not json")
	}
}

func TestAuth_WrongPasswordsBackOff_429WithRetryAfterUntilTheWaitIsOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wrong := func(r *http.Request) { r.SetBasicAuth(aliceUser, "not her password") }
	free := tenant.DefaultSignInLimits().PerAccount.Free
	for i := range free + 1 {
		if a := e.doWith("GET", "/me", nil, wrong); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, a.status)
		}
	}
	// Now even the right password waits, and is not checked.
	a := e.do("GET", "/sandboxes", aliceUser, nil)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Fatalf("after %d wrong passwords: %d Retry-After %q, want 429 and 1", free+1, a.status, a.header.Get("Retry-After"))
	}
	if p := a.problem(t); p.Type != "/admin/api/openapi.json#/components/responses/TooManyRequests" || !strings.Contains(p.Detail, "in 1 s.") {
		t.Errorf("problem %+v", p)
	}
	// Another account from the same address is not held up.
	e.must(http.StatusOK, "GET", "/me", bobUser, nil)
}

package adminapi

import (
	"net/http"
	"testing"
)

func TestRoles_OperatorDoesAllReviewerReadsSupplierWorksInItsOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	appID := e.app(aliceUser, "acme-dev")
	at := func(p string) func(string) string { return func(string) string { return p } }
	with := func(v any) func(string) any { return func(string) any { return v } }
	// Seeding a sandbox takes a while, so the sandboxes the create rows
	// make are those the delete rows remove; a reviewer, refused either
	// way, tries its delete on acme-dev.
	ownSandbox := func(user string) string {
		if user == revUser {
			return "/sandboxes/acme-dev"
		}
		return "/sandboxes/acme-by-" + user
	}
	newSandbox := func(user string) any {
		return map[string]any{"id": "acme-by-" + user, "supplier": "acme", "seed_patients": -1}
	}
	freshApp := func(string) string { return "/sandboxes/acme-dev/apps/" + e.app(aliceUser, "acme-dev") }
	freshToken := func(string) string {
		var t map[string]any
		e.must(http.StatusCreated, "POST", "/sandboxes/acme-dev/registration-tokens", aliceUser, map[string]any{}).json(e.t, &t)
		return "/sandboxes/acme-dev/registration-tokens/" + t["id"].(string)
	}
	freshAccount := func(user string) string {
		name := "gone-" + user
		e.must(http.StatusCreated, "POST", "/accounts", opUser,
			map[string]any{"username": name, "role": "reviewer", "password": password(name)})
		return "/accounts/" + name
	}
	own := func(suffix string) func(string) string {
		return func(user string) string { return "/accounts/" + user + suffix }
	}
	ownPassword := func(user string) any { return map[string]any{"password": password(user)} }
	const (
		ok, created, gone, forbidden = http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusForbidden
	)
	tests := []struct {
		name, method      string
		path              func(user string) string
		body              func(user string) any
		op, rev, supplier int
	}{
		{"who am I", "GET", at("/me"), with(nil), ok, ok, ok},
		{"list sandboxes", "GET", at("/sandboxes"), with(nil), ok, ok, ok},
		{"create a sandbox", "POST", at("/sandboxes"), newSandbox, created, forbidden, created},
		{"read a sandbox", "GET", at("/sandboxes/acme-dev"), with(nil), ok, ok, ok},
		{"rename a sandbox", "PATCH", at("/sandboxes/acme-dev"), with(map[string]any{"name": "Renamed"}), ok, forbidden, ok},
		{"change settings", "PATCH", at("/sandboxes/acme-dev"),
			with(map[string]any{"settings": map[string]any{"skip_login": true}}), ok, forbidden, ok},
		{"reset a sandbox", "POST", at("/sandboxes/acme-dev/reset"), with(nil), ok, forbidden, ok},
		{"delete a sandbox", "DELETE", ownSandbox, with(nil), gone, forbidden, gone},
		{"list apps", "GET", at("/sandboxes/acme-dev/apps"), with(nil), ok, ok, ok},
		{"register an app", "POST", at("/sandboxes/acme-dev/apps"),
			with(map[string]any{"name": "A", "type": "public", "redirect_uris": []string{"https://a.example/cb"}}), created, forbidden, created},
		{"read an app", "GET", at("/sandboxes/acme-dev/apps/" + appID), with(nil), ok, ok, ok},
		{"delete an app", "DELETE", freshApp, with(nil), gone, forbidden, gone},
		{"list initial access tokens", "GET", at("/sandboxes/acme-dev/registration-tokens"), with(nil), ok, ok, ok},
		{"issue an initial access token", "POST", at("/sandboxes/acme-dev/registration-tokens"),
			with(map[string]any{"description": "CI", "expires_in": 3600, "max_uses": 3}), created, forbidden, created},
		{"revoke an initial access token", "DELETE", freshToken, with(nil), gone, forbidden, gone},
		{"search requests", "GET", at("/sandboxes/acme-dev/requests?status=4xx"), with(nil), ok, ok, ok},
		{"list accounts", "GET", at("/accounts"), with(nil), ok, forbidden, forbidden},
		{"create an account", "POST", at("/accounts"),
			with(map[string]any{"username": "someone", "role": "reviewer", "password": "long enough password"}), created, forbidden, forbidden},
		{"read another's account", "GET", at("/accounts/" + bobUser), with(nil), ok, forbidden, forbidden},
		{"read own account", "GET", own(""), with(nil), ok, ok, ok},
		{"delete an account", "DELETE", freshAccount, with(nil), gone, forbidden, forbidden},
		{"set another's password", "PUT", at("/accounts/" + bobUser + "/password"), with(map[string]any{"password": password(bobUser)}), gone, forbidden, forbidden},
		{"set own password", "PUT", own("/password"), ownPassword, gone, gone, gone},
	}
	for _, tt := range tests {
		for _, who := range []struct {
			user string
			want int
		}{{opUser, tt.op}, {revUser, tt.rev}, {aliceUser, tt.supplier}} {
			t.Run(tt.name+"/"+who.user, func(t *testing.T) {
				e.t = t
				path := tt.path(who.user)
				a := e.do(tt.method, path, who.user, tt.body(who.user))
				if a.status != who.want {
					t.Fatalf("%s %s: %d %s, want %d", tt.method, path, a.status, a.body, who.want)
				}
				if a.status == forbidden {
					if p := a.problem(t); p.Status != forbidden || p.Detail == "" {
						t.Errorf("problem %+v, want a 403 that says why", p)
					}
				}
			})
		}
	}
}

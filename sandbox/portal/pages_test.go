package portal

import (
	"net/http"
	"strings"
	"testing"
)

// TestPages_RenderForEachRole loads every page as each role and checks
// the status, the key content, and that change forms appear exactly for
// those who may change.
func TestPages_RenderForEachRole(t *testing.T) {
	e := newEnv(t, nil)
	sb := "/portal/sandboxes/" + acmeSandbox
	app := sb + "/apps/" + e.acmeApp.ClientID
	type want struct {
		status int
		has    []string
		lacks  []string
	}
	pages := []struct {
		name, path string
		byRole     map[string]want
	}{
		{"dashboard", "/portal/", map[string]want{
			opUser:    {200, []string{"Sandbox acme-dev", "Sandbox bravo-dev", "New sandbox", `name="supplier"`}, nil},
			revUser:   {200, []string{"Sandbox acme-dev", "Sandbox bravo-dev"}, []string{"New sandbox"}},
			aliceUser: {200, []string{"Sandbox acme-dev", "http://127.0.0.1:8080/sandboxes/acme-dev/fhir", "New sandbox"}, []string{"Sandbox bravo-dev", `name="supplier"`}},
			bobUser:   {200, []string{"Sandbox bravo-dev"}, []string{"Sandbox acme-dev"}},
		}},
		{"sandbox", sb, map[string]want{
			opUser: {200, []string{"http://127.0.0.1:8080/sandboxes/acme-dev/fhir", "App of alice", "Ingrid Aune", sb + "/reset", sb + "/delete", sb + "/settings", sb + "/apps/new"}, nil},
			revUser: {200, []string{"http://127.0.0.1:8080/sandboxes/acme-dev/fhir", "App of alice", "Ingrid Aune", "Dynamic registration", "Initial access tokens"},
				[]string{sb + "/reset", sb + "/delete", sb + "/settings", sb + "/apps/new", sb + "/registration-tokens"}},
			aliceUser: {200, []string{"App of alice", "Ingrid Aune", sb + "/reset", sb + "/delete", sb + "/settings", sb + "/apps/new",
				sb + "/registration-tokens", `name="registration_scopes"`}, nil},
			bobUser: {404, []string{"Not found"}, []string{"acme"}},
		}},
		{"register app form", sb + "/apps/new", map[string]want{
			opUser:    {200, []string{"Register an app", "confidential-asymmetric", "jwks_url"}, nil},
			revUser:   {403, []string{"Not allowed"}, []string{"jwks_url"}},
			aliceUser: {200, []string{"Register an app"}, nil},
			bobUser:   {404, nil, []string{"Register an app"}},
		}},
		{"app", app, map[string]want{
			opUser:    {200, []string{e.acmeApp.ClientID, "https://acme.example/launch", "patient/*.rs", app + "/delete", app + "/launch"}, nil},
			revUser:   {200, []string{e.acmeApp.ClientID, app + "/launch"}, []string{app + "/delete"}},
			aliceUser: {200, []string{e.acmeApp.ClientID, app + "/delete"}, nil},
			bobUser:   {404, nil, []string{e.acmeApp.ClientID}},
		}},
		{"launch: patient picker", app + "/launch", map[string]want{
			opUser:    {200, []string{"Choose a patient", "Ingrid Aune", "launch?patient=" + persona}, nil},
			revUser:   {200, []string{"Choose a patient", "Ingrid Aune"}, nil},
			aliceUser: {200, []string{"Choose a patient", "Ingrid Aune"}, nil},
			bobUser:   {404, nil, []string{"Ingrid Aune"}},
		}},
		{"launch: encounter and go", app + "/launch?patient=" + persona, map[string]want{
			aliceUser: {200, []string{"Patient: Ingrid Aune", "No encounter in context", personaEncounter, app + "/launch/start"}, nil},
			revUser:   {200, []string{personaEncounter}, nil},
			bobUser:   {404, nil, []string{"Ingrid Aune"}},
		}},
		{"patients", sb + "/patients", map[string]want{
			opUser:    {200, []string{"Ingrid Aune", "22889406813", "Fødselsnummer", "1994-08-22", "female"}, nil},
			revUser:   {200, []string{"Ingrid Aune"}, nil},
			aliceUser: {200, []string{"Ingrid Aune"}, nil},
			bobUser:   {404, nil, []string{"Ingrid Aune"}},
		}},
		{"patient", sb + "/patients/" + persona, map[string]want{
			opUser:    {200, []string{"Ingrid Aune", "Encounters", "Encounter/" + personaEncounter, "Svangerskapskontroll", "Launch App of alice"}, nil},
			revUser:   {200, []string{"Ingrid Aune", "Encounter/" + personaEncounter}, nil},
			aliceUser: {200, []string{"Ingrid Aune", "Encounter/" + personaEncounter}, nil},
			bobUser:   {404, nil, []string{"Ingrid Aune"}},
		}},
		{"request log", sb + "/requests", map[string]want{
			opUser:    {200, []string{"Request log", "App of alice", `name="path"`}, nil},
			revUser:   {200, []string{"Request log"}, nil},
			aliceUser: {200, []string{"Request log"}, nil},
			bobUser:   {404, nil, []string{"App of alice"}},
		}},
		{"accounts", "/portal/accounts", map[string]want{
			opUser:    {200, []string{"New account", "<code>alice</code>", "<code>bob</code>", "/portal/accounts/alice/delete"}, []string{"/portal/accounts/op/delete"}},
			revUser:   {403, []string{"Only operators manage accounts."}, []string{"<code>alice</code>"}},
			aliceUser: {403, nil, []string{"<code>bob</code>"}},
			bobUser:   {403, nil, []string{"<code>alice</code>"}},
		}},
	}
	browsers := map[string]*browser{}
	for _, u := range []string{opUser, revUser, aliceUser, bobUser} {
		browsers[u] = e.signedIn(t, u)
	}
	for _, pg := range pages {
		for user, w := range pg.byRole {
			t.Run(pg.name+"/"+user, func(t *testing.T) {
				got := browsers[user].get(pg.path)
				wantStatus(t, pg.path, got, w.status)
				wantContains(t, pg.path, got, w.has...)
				wantLacks(t, pg.path, got, w.lacks...)
				wantSecurityHeaders(t, pg.path, got)
				if ct := got.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := got.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", cc)
				}
				// Every form that posts carries the session's token.
				if n, m := strings.Count(got.body, `method="post"`), strings.Count(got.body, `name="csrf" value="`+browsers[user].csrf+`"`); n != m {
					t.Errorf("%d forms post, %d carry the CSRF token", n, m)
				}
			})
		}
	}
}

func wantSecurityHeaders(t *testing.T, what string, got page) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
	} {
		if h := got.header.Get(k); h != v {
			t.Errorf("%s: %s = %q, want %q", what, k, h, v)
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'self'") {
		t.Errorf("the CSP lacks default-src 'self'")
	}
}

func TestStatic_ServesOwnAssetsWithHeaders(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser(t)
	for path, ctype := range map[string]string{
		"/portal/static/portal.css": "text/css; charset=utf-8",
		"/portal/static/portal.js":  "text/javascript; charset=utf-8",
	} {
		got := b.get(path)
		wantStatus(t, path, got, http.StatusOK)
		if ct := got.header.Get("Content-Type"); ct != ctype {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, ctype)
		}
		wantSecurityHeaders(t, path, got)
	}
	if got := b.get("/portal/static/nothing.css"); got.status != http.StatusNotFound {
		t.Errorf("a missing asset: %d", got.status)
	}
	// Sign-in page and layout reference only the portal's own assets.
	got := b.get("/portal/login")
	wantContains(t, "sign-in page", got, `href="/portal/static/portal.css"`, `src="/portal/static/portal.js"`)
	wantLacks(t, "sign-in page", got, "http://", "https://", "<style", "style=", "<script>")
}

func TestMount_BarePortalPathGoesToTheDashboard(t *testing.T) {
	e := newEnv(t, nil)
	got := e.browser(t).get("/portal")
	if got.status != http.StatusFound || got.location() != "/portal/" {
		t.Errorf("GET /portal: %d to %q, want 302 to /portal/", got.status, got.location())
	}
}

package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/sandbox/tenant"
)

// TestSandbox_CreateResetDelete_ThroughThePortal walks a supplier through a
// sandbox's life.
func TestSandbox_CreateResetDelete_ThroughThePortal(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	ctx := context.Background()

	bad := alice.post("/portal/sandboxes", url.Values{"name": {"Bad"}, "id": {"Bad Id"}, "seed_patients": {"0"}})
	wantStatus(t, "create with a bad id", bad, http.StatusBadRequest)
	wantContains(t, "create with a bad id", bad, "id: ", "Bad Id", "New sandbox")
	taken := alice.post("/portal/sandboxes", url.Values{"name": {"Taken"}, "id": {bravoSandbox}, "seed_patients": {"0"}})
	wantStatus(t, "create with B's id", taken, http.StatusConflict)

	got := alice.post("/portal/sandboxes", url.Values{"name": {"Acme test"}, "id": {"acme-life"}, "seed_patients": {"0"}})
	if got.status != http.StatusSeeOther || got.location() != "/portal/sandboxes/acme-life?done=created" {
		t.Fatalf("create: %d to %q\n%s", got.status, got.location(), excerpt(got.body))
	}
	wantContains(t, "new sandbox", alice.get(got.location()), "The sandbox was created", "Acme test", "Ingrid Aune")
	sb, err := e.tenants.Sandbox(ctx, "acme-life")
	if err != nil || sb.Supplier != "acme" {
		t.Fatalf("created sandbox: %+v, %v", sb, err)
	}

	const hr = "http://hl7.org/fhir/StructureDefinition/heartrate"
	got = alice.post("/portal/sandboxes/acme-life/settings", url.Values{"name": {"Acme renamed"}, "skip_login": {"on"},
		"access_token_seconds": {"600"}, "enforce_declared": {"on"}, "required_profiles": {"Observation " + hr + "\r\n\r\n"}})
	wantStatus(t, "settings", got, http.StatusSeeOther)
	sb, _ = e.tenants.Sandbox(ctx, "acme-life")
	if want := (tenant.Settings{SkipLogin: true, AccessTokenSeconds: 600, ProfileEnforcement: tenant.ProfileEnforcement{
		Declared: true, Required: map[string][]string{"Observation": {hr}}}}); sb.Name != "Acme renamed" || !reflect.DeepEqual(sb.Settings, want) {
		t.Errorf("after settings: %q %+v, want %+v", sb.Name, sb.Settings, want)
	}
	wantContains(t, "enforced profiles shown", alice.get("/portal/sandboxes/acme-life"), "Observation "+hr)
	got = alice.post("/portal/sandboxes/acme-life/settings", url.Values{"name": {"Acme renamed"}, "required_profiles": {"Observations " + hr}})
	wantStatus(t, "settings with an unknown type", got, http.StatusBadRequest)
	wantContains(t, "settings with an unknown type", got, "profile_enforcement")
	got = alice.post("/portal/sandboxes/acme-life/settings", url.Values{"name": {"Acme renamed"}, "access_token_seconds": {"5"}})
	wantStatus(t, "settings with a 5 s token", got, http.StatusBadRequest)
	wantContains(t, "settings with a 5 s token", got, "access_token_seconds", "Acme renamed")

	resetBefore := sb.ResetAt
	got = alice.post("/portal/sandboxes/acme-life/reset", nil)
	if got.status != http.StatusSeeOther || got.location() != "/portal/sandboxes/acme-life?done=reset" {
		t.Fatalf("reset: %d to %q", got.status, got.location())
	}
	wantContains(t, "after reset", alice.get(got.location()), "The sandbox was reset")
	if sb, _ = e.tenants.Sandbox(ctx, "acme-life"); !sb.ResetAt.After(resetBefore) {
		t.Errorf("ResetAt %v, not after %v", sb.ResetAt, resetBefore)
	}

	got = alice.post("/portal/sandboxes/acme-life/delete", nil)
	if got.status != http.StatusSeeOther || got.location() != "/portal/?done=deleted" {
		t.Fatalf("delete: %d to %q", got.status, got.location())
	}
	dash := alice.get(got.location())
	wantContains(t, "dashboard after delete", dash, "The sandbox, its apps and its data were deleted.")
	wantLacks(t, "dashboard after delete", dash, "Acme renamed")
	if _, err := e.tenants.Sandbox(ctx, "acme-life"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("sandbox after delete: %v", err)
	}
	wantStatus(t, "page of the deleted sandbox", alice.get("/portal/sandboxes/acme-life"), http.StatusNotFound)
}

func TestSandbox_DefaultSandboxCanBeResetNotDeleted(t *testing.T) {
	e := newEnv(t, nil)
	op := e.signedIn(t, opUser)
	got := op.get("/portal/sandboxes/default")
	wantStatus(t, "default sandbox", got, http.StatusOK)
	wantContains(t, "default sandbox", got, "/portal/sandboxes/default/reset", "shared")
	wantLacks(t, "default sandbox", got, "/portal/sandboxes/default/delete")
	wantStatus(t, "deleting the default sandbox", op.post("/portal/sandboxes/default/delete", nil), http.StatusForbidden)
	wantStatus(t, "a supplier on the default sandbox", e.signedIn(t, aliceUser).get("/portal/sandboxes/default"), http.StatusNotFound)
}

var clientIDRE = regexp.MustCompile(`<code class="copy">(app-[a-z0-9]+)</code>`)

func TestRegisterApp_ShowsTheSecretOnlyOnce(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	ctx := context.Background()
	got := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", url.Values{
		"name": {"Confidential app"}, "type": {"confidential-symmetric"},
		"redirect_uris": {"https://conf.example/cb\r\nhttps://conf.example/cb2"}, "launch_url": {"https://conf.example/launch"},
		"scopes": {"launch openid fhirUser patient/*.rs"},
	})
	wantStatus(t, "register", got, http.StatusCreated)
	wantContains(t, "register", got, "Confidential app is registered", "shown only once", "cannot show it again")
	m := clientIDRE.FindStringSubmatch(got.body)
	if m == nil {
		t.Fatalf("no client id on the page:\n%s", excerpt(got.body))
	}
	clientID := m[1]
	secret := regexp.MustCompile(`Client secret — shown only once</h2>\s*<p><code class="copy">([^<]+)</code>`).FindStringSubmatch(got.body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", excerpt(got.body))
	}
	c, err := e.tenants.Clients().Client(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(c.SecretHash, []byte(secret[1])) != nil {
		t.Error("the secret shown does not match the app's")
	}
	if len(c.RedirectURIs) != 2 || c.LaunchURL != "https://conf.example/launch" || c.Scopes != "launch openid fhirUser patient/*.rs" {
		t.Errorf("registered client %+v", c)
	}
	appPage := alice.get("/portal/sandboxes/" + acmeSandbox + "/apps/" + clientID)
	wantStatus(t, "app page", appPage, http.StatusOK)
	wantLacks(t, "app page", appPage, secret[1])
	wantContains(t, "app page", appPage, "https://conf.example/cb2")

	// A public app has no secret to show.
	got = alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", url.Values{
		"name": {"Public app"}, "type": {"public"}, "redirect_uris": {"https://pub.example/cb"}})
	wantStatus(t, "register public", got, http.StatusCreated)
	wantLacks(t, "register public", got, "shown only once")

	// Deleting it.
	got = alice.post("/portal/sandboxes/"+acmeSandbox+"/apps/"+clientID+"/delete", nil)
	if got.status != http.StatusSeeOther || !strings.HasSuffix(got.location(), "?done=app-deleted") {
		t.Fatalf("delete app: %d to %q", got.status, got.location())
	}
	if _, err := e.tenants.Clients().Client(ctx, clientID); err == nil {
		t.Error("the deleted app still authenticates")
	}
}

func TestRegisterApp_InvalidForm_ShownAgainWithTheError(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"no redirect URI", url.Values{"name": {"No redirect"}, "type": {"public"}}, "redirect_uris"},
		{"unknown type", url.Values{"name": {"Odd"}, "type": {"bogus"}, "redirect_uris": {"https://o.example/cb"}}, "type: "},
		{"keys of a public app", url.Values{"name": {"Keys"}, "type": {"public"}, "redirect_uris": {"https://k.example/cb"}, "jwks_url": {"https://k.example/jwks"}}, "jwks: "},
		{"JWKS not JSON", url.Values{"name": {"Bad keys"}, "type": {"confidential-asymmetric"}, "jwks": {"{not json"}}, "jwks: not JSON"},
		{"fragment in redirect", url.Values{"name": {"Frag"}, "type": {"public"}, "redirect_uris": {"https://f.example/cb#x"}}, "fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", tt.form)
			wantStatus(t, "register", got, http.StatusBadRequest)
			wantContains(t, "register", got, tt.want, "Register an app", `value="`+tt.form.Get("name")+`"`)
		})
	}
}

func TestAccounts_OperatorCreatesAndDeletes(t *testing.T) {
	e := newEnv(t, nil)
	op := e.signedIn(t, opUser)
	got := op.post("/portal/accounts", url.Values{"username": {"carol"}, "name": {"Carol Charlie"}, "role": {"supplier"},
		"supplier": {"charlie"}, "password": {"carol-password"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("create account: %d\n%s", got.status, excerpt(got.body))
	}
	wantContains(t, "accounts", op.get(got.location()), "The account was created.", "<code>carol</code>", "charlie")

	dup := op.post("/portal/accounts", url.Values{"username": {"carol"}, "role": {"reviewer"}, "password": {"another-password"}})
	wantStatus(t, "duplicate username", dup, http.StatusConflict)
	short := op.post("/portal/accounts", url.Values{"username": {"dave"}, "role": {"reviewer"}, "password": {"short"}})
	wantStatus(t, "short password", short, http.StatusBadRequest)
	wantContains(t, "short password", short, "password: ", `value="dave"`)
	wantLacks(t, "short password", short, `value="short"`)
	linked := op.post("/portal/accounts", url.Values{"username": {"erin"}, "role": {"reviewer"},
		"oidc_issuer": {"https://idp.example/"}, "oidc_subject": {"erin-sub"}})
	wantStatus(t, "account with an identity only", linked, http.StatusSeeOther)
	if a, err := e.tenants.AccountByOIDC(context.Background(), "https://idp.example", "erin-sub"); err != nil || a.Username != "erin" {
		t.Errorf("linked identity: %v %v", a, err)
	}

	carol := e.browser(t)
	carol.login("carol", "carol-password")
	wantContains(t, "carol's dashboard", carol.get("/portal/"), "New sandbox")
	got = op.post("/portal/accounts/carol/delete", nil)
	wantStatus(t, "delete account", got, http.StatusSeeOther)
	if r := carol.get("/portal/"); r.status != http.StatusSeeOther {
		t.Errorf("a deleted account's session still works: %d", r.status)
	}
	wantStatus(t, "deleting oneself", op.post("/portal/accounts/op/delete", nil), http.StatusBadRequest)
	wantStatus(t, "deleting a missing account", op.post("/portal/accounts/nobody/delete", nil), http.StatusNotFound)
	for _, u := range []string{"erin"} {
		op.post("/portal/accounts/"+u+"/delete", nil)
	}
}

package portal

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestRegistrationTokens_IssuedShownOnceListedAndRevoked(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	sb := "/portal/sandboxes/" + acmeSandbox
	got := alice.post(sb+"/registration-tokens", url.Values{"description": {"CI pipeline"}, "hours": {"168"}, "max_uses": {"3"}})
	wantStatus(t, "issue", got, http.StatusCreated)
	wantContains(t, "issue", got, "Token — shown only once", "CI pipeline", "Authorization: Bearer")
	m := regexp.MustCompile(`<code class="copy">(hpsiat_[a-z2-7]+)</code>`).FindStringSubmatch(got.body)
	if m == nil {
		t.Fatalf("no token on the page:\n%s", excerpt(got.body))
	}
	list, err := e.tenants.RegistrationTokens(context.Background(), e.account(t, aliceUser), acmeSandbox)
	if err != nil || len(list) != 1 || list[0].MaxUses != 3 || list[0].Expires.Sub(list[0].Created).Hours() != 168 {
		t.Fatalf("tokens %+v %v", list, err)
	}
	page := alice.get(sb)
	wantContains(t, "sandbox page", page, list[0].ID, "CI pipeline", "0 of 3")
	wantLacks(t, "sandbox page", page, m[1])

	for _, bad := range []url.Values{{"hours": {"0"}}, {"hours": {"x"}}, {"max_uses": {"-1"}}, {"max_uses": {"many"}}} {
		wantStatus(t, "bad form "+bad.Encode(), alice.post(sb+"/registration-tokens", bad), http.StatusBadRequest)
	}

	got = alice.post(sb+"/registration-tokens/"+list[0].ID+"/revoke", nil)
	if got.status != http.StatusSeeOther || !strings.Contains(got.location(), "done=token-revoked") {
		t.Fatalf("revoke: %d to %q", got.status, got.location())
	}
	if list, _ := e.tenants.RegistrationTokens(context.Background(), e.account(t, aliceUser), acmeSandbox); len(list) != 0 {
		t.Errorf("after revoking: %+v", list)
	}
	wantStatus(t, "revoke again", alice.post(sb+"/registration-tokens/"+list[0].ID+"/revoke", nil), http.StatusNotFound)
}

func TestSettings_RegistrationScopesAreSavedAndOnlyReadScopesAccepted(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	settings := "/portal/sandboxes/" + acmeSandbox + "/settings"
	form := url.Values{"name": {"Sandbox " + acmeSandbox}, "secured": {"on"}, "dynamic_registration": {"on"},
		"registration_scopes": {"  patient/*.rs \r\n user/Observation.rs "}}
	if got := alice.post(settings, form); got.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", got.status, excerpt(got.body))
	}
	sb, _ := e.tenants.Sandbox(context.Background(), acmeSandbox)
	if !sb.Settings.DynamicRegistration || sb.Settings.RegistrationScopes != "patient/*.rs user/Observation.rs" {
		t.Errorf("settings %+v", sb.Settings)
	}
	form.Set("registration_scopes", "system/*.cruds")
	got := alice.post(settings, form)
	wantStatus(t, "system scope", got, http.StatusBadRequest)
	wantContains(t, "system scope", got, "registration_scopes")
	if after, _ := e.tenants.Sandbox(context.Background(), acmeSandbox); !reflect.DeepEqual(after.Settings, sb.Settings) {
		t.Errorf("a refused form changed the settings: %+v", after.Settings)
	}
}
